"""The operator's figures agree: /metrics, the router.metrics/v1 records, router report and the
dashboard's data describe the same run the same way."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from tests.support.kafka import Reader, produce
from tests.support.processes import run_router
from tests.support.scenario import metric, policy_file, report, response, route, wait_metric

pytestmark = pytest.mark.integration


async def test_metrics_topic_report_and_dashboard_agree(tmp_path, broker, workers) -> None:
    policy = policy_file(tmp_path / "p.yaml", ack="2s", action="4s")
    worker = workers(ROUTER_SLA_POLICY=policy, ROUTER_METRICS_INTERVAL_S="1").start().wait_ready()
    reports = [report(f"f{i}", f"https://t.me/chan{i}/1", text="TTP statement" if i % 2 else None) for i in range(6)]
    reports += [report(f"g{i}", f"https://x.com/a{i}/status/1") for i in range(4)]
    reports.append(report("bad", "ftp://nope"))
    receipts = await route(broker.bootstrap, reports)
    telegram = [receipts[f"f{i}"]["case_id"] for i in range(6)]
    await produce(broker.bootstrap, "platform.responses",
                  [response(c, "telegram", "removed") for c in telegram[:3]] +
                  [response(c, "telegram", "received") for c in telegram[3:4]])
    # silent cases breach both stages; then nothing changes any more
    await wait_metric(worker, "router_breaches_total", 4, timeout=30, platform="x", stage="action")
    await asyncio.sleep(2.5)  # one more metrics interval after the last change
    text = worker.metrics()
    stable = datetime.now(UTC).isoformat().replace("+00:00", "Z")

    def fresh(seen) -> bool:  # a snapshot taken after the figures stopped changing
        return sum(1 for r in seen["metrics.router"] if r.json()["at"] >= stable) >= 8

    async with Reader(broker.bootstrap, ["metrics.router"]) as reader:
        await reader.until(fresh, timeout=20, what="a fresh metrics snapshot")
        records = [r.json() for r in reader.all("metrics.router")]
    latest = {}
    for r in records:
        latest[r["platform"]] = r  # in order: the last is the latest
    done = run_router("report", "--json", env={"ROUTER_BROKER": broker.url})
    assert done.returncode == 0, done.stderr
    card = json.loads(done.stdout)
    dash = json.loads(worker.get("/dashboard/data")[1])
    rows = {row["platform"]: row for row in dash["platforms"]}
    for platform in ("x", "telegram"):
        c = latest[platform]["counts"]
        for key, name, labels in (("routed", "router_routed_total", {}), ("open_cases", "router_open_cases", {}),
                                  ("actioned", "router_actioned_total", {}),
                                  ("acknowledged", "router_acknowledged_total", {}),
                                  ("breached_ack", "router_breaches_total", {"stage": "ack"}),
                                  ("breached_action", "router_breaches_total", {"stage": "action"})):
            prom = metric(text, name, platform=platform, **labels)
            assert c[key] == prom == card["platforms"][platform][key] == rows[platform][
                {"breached_ack": "breaches_ack", "breached_action": "breaches_action"}.get(key, key)], (platform, key)
    assert latest["x"]["counts"]["routed"] == 4 and latest["x"]["counts"]["breached_action"] == 4
    assert latest["telegram"]["counts"]["actioned"] == 3
    assert card["groups"]["TTP"]["routed"] == 3
    assert latest["x"]["worker"]["rejected"] == 1 == metric(text, "router_reports_rejected_total", kind="validation")
