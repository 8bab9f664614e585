"""Table recovery is complete on the embedded broker despite its wrong end offsets: after a
restart every case is known (re-sent reports are replays, nothing is routed twice), and the
figures survive. Without the verified end offsets (ROUTER_FIX_END_OFFSETS=off) recovery stops at
the first record of each changelog's last batch and this test fails."""

from __future__ import annotations

import json

import pytest

from tests.support.kafka import Reader, produce
from tests.support.scenario import metric, report, route

pytestmark = pytest.mark.reliability


async def test_every_case_recovered_after_restart(broker, workers) -> None:
    worker = workers("w1").start().wait_ready()
    reports = [report(f"rec-{i}", f"https://t.me/chan{i}/{i}") for i in range(400)]
    first = await route(broker.bootstrap, reports)
    routed = metric(worker.metrics(), "router_routed_total", platform="telegram")
    assert routed == 400
    worker.stop()
    worker.start().wait_ready(90)
    text = worker.metrics()
    assert metric(text, "router_routed_total", platform="telegram") == 400, "the figures were recovered"
    assert metric(text, "router_open_cases", platform="telegram") == 400
    async with Reader(broker.bootstrap, ["reports.receipts", "outbound.telegram"]) as reader:
        await reader.settle(1)
        before = len(reader.all("reports.receipts"))
        await produce(broker.bootstrap, "reports.submitted", reports)
        await reader.until(lambda s: len(s["reports.receipts"]) >= before + len(reports), timeout=60, what="replays")
        again = [r.json() for r in reader.all("reports.receipts")[before:]]
        await reader.settle(1)
        assert len(reader.all("outbound.telegram")) == 400, "no case was routed a second time"
    assert all(r["case_id"] == first[r["report_id"]]["case_id"] and r["outcome"] == "routed" for r in again)
    assert metric(worker.metrics(), "router_reports_duplicate_total") == 400
    assert json.loads(worker.get("/ready")[1])["ready"]
