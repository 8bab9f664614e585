"""Building blocks of end-to-end scenarios: reports, responses, and waiting on what the worker
publishes (topics and /metrics only)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

from tests.support.kafka import Reader, produce


def report(report_id: str, url: str, **fields: Any) -> tuple[bytes, bytes]:
    body = {"schema": "report.submitted/v1", "report_id": report_id, "submitted_at": "2026-11-01T12:30:00+05:00",
            "source": "test", "url": url, **fields}
    return report_id.encode(), json.dumps(body).encode()


def response(case_id: str, platform: str, status: str, at: datetime | None = None, **fields: Any
             ) -> tuple[bytes, bytes]:
    body = {"schema": "platform.response/v1", "case_id": case_id, "platform": platform, "status": status,
            "at": (at or datetime.now(UTC)).isoformat(), **fields}
    return case_id.encode(), json.dumps(body).encode()


def policy_file(path: Any, ack: str, action: str) -> str:
    pair = f"{{ack: {ack}, action: {action}}}"
    path.write_text(f"priorities:\n  critical: {pair}\n  high: {pair}\n  normal: {pair}\n")
    return str(path)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" ([0-9.e+-]+)$"
    for line in text.splitlines():
        m = re.match(pattern, line)
        if m:
            return float(m.group(1))
    return 0.0


async def wait_metric(worker: Any, name: str, at_least: float, timeout: float = 30.0, **labels: str) -> float:
    deadline = asyncio.get_running_loop().time() + timeout
    value = 0.0
    while asyncio.get_running_loop().time() < deadline:
        try:
            value = metric(worker.metrics(), name, **labels)
        except OSError:
            value = 0.0
        if value >= at_least:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name}{labels} stayed at {value} < {at_least} for {timeout:.0f}s")


async def route(bootstrap: str, reports: list[tuple[bytes, bytes]], timeout: float = 60.0,
                client: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Send reports, wait for their receipts; returns report_id -> receipt."""
    async with Reader(bootstrap, ["reports.receipts"], client=client) as reader:
        await produce(bootstrap, "reports.submitted", reports, client=client)
        ids = {key.decode() for key, _ in reports}
        await reader.until(lambda s: ids <= {r.json()["report_id"] for r in s["reports.receipts"]}, timeout,
                           what="receipts")
        return {r.json()["report_id"]: r.json() for r in reader.all("reports.receipts")
                if r.json()["report_id"] in ids}
