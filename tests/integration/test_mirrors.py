"""An account a platform has actioned becomes a known banned account, so the next mirror of it
is tagged ``mirror_of`` and raised in priority — on every worker."""

from __future__ import annotations

import json

import pytest

from tests.support.kafka import Reader, produce

pytestmark = pytest.mark.integration


def _report(report_id: str, account: str) -> tuple[bytes, bytes]:
    body = {"schema": "report.submitted/v1", "report_id": report_id, "submitted_at": "2026-11-01T12:30:00Z",
            "source": "t", "platform": "x", "account": account}
    return report_id.encode(), json.dumps(body).encode()


async def _wait_banned(worker, n: int) -> None:
    import asyncio

    for _ in range(100):
        if f"router_banned_accounts {n}" in worker.metrics():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the actioned account was not recorded")


async def test_actioned_account_catches_the_next_mirror(broker, workers) -> None:
    worker = workers().start().wait_ready()
    topics = ["outbound.x", "reports.receipts"]
    async with Reader(broker.bootstrap, topics) as reader:
        await produce(broker.bootstrap, "reports.submitted", [_report("m1", "@TTP_Media_Cell")])
        await reader.until(lambda s: len(s["outbound.x"]) == 1, timeout=30, what="the first case")
        first = reader.all("outbound.x")[0].json()
        assert first["mirror_of"] is None
        response = {"schema": "platform.response/v1", "case_id": first["case_id"], "platform": "x",
                    "status": "removed", "at": "2026-11-01T13:00:00Z", "account": "TTP_Media_Cell"}
        key = first["case_id"].encode()
        await produce(broker.bootstrap, "platform.responses", [(key, json.dumps(response).encode())])
        await _wait_banned(worker, 1)
        # the same handle on another platform, and an unrelated handle, are not mirrors
        await produce(broker.bootstrap, "reports.submitted", [_report("m2", "ttp_media_cell_backup"),
                                                              _report("m3", "gardening_club")])
        await reader.until(lambda s: len(s["outbound.x"]) == 3, timeout=30, what="two more cases")
        by_account = {r.json()["target"]["account"]: r.json() for r in reader.all("outbound.x")}
        mirror = by_account["ttp_media_cell_backup"]
        assert mirror["mirror_of"]["account"] == "ttp_media_cell"
        assert mirror["mirror_of"]["evidence"]
        assert mirror["priority"] == "high" and "suspend_account" in mirror["requested_actions"]
        assert by_account["gardening_club"]["mirror_of"] is None
