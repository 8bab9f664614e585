"""Nothing is lost across crashes and rebalances: every report gets a receipt and is in its case;
repeats after a crash are recognisable by their ids; no case is split; no breach is lost."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict

import pytest

from router.demo import demo_reports
from tests.support.kafka import Reader, produce
from tests.support.scenario import metric, policy_file

pytestmark = pytest.mark.reliability


async def _stream(bootstrap: str, records: list[tuple[bytes | None, bytes]], rate: float) -> None:
    start = time.monotonic()
    for i in range(0, len(records), 200):
        await produce(bootstrap, "reports.submitted", records[i:i + 200])
        delay = start + (i + 200) / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


def _check_receipts(records, receipts_seen) -> dict[str, str]:
    """Every report has a receipt; all of a report's receipts agree (same outcome class and case)."""
    by_report: dict[str, list[dict]] = defaultdict(list)
    for r in receipts_seen:
        body = r.json()
        by_report[body["report_id"]].append(body)
    ids = [json.loads(v)["report_id"] for k, v in records if k is not None]
    missing = [i for i in ids if i not in by_report]
    assert not missing, f"{len(missing)} reports without a receipt, e.g. {missing[:5]}"
    case_of: dict[str, str] = {}
    for rid in ids:
        cases = {b["case_id"] for b in by_report[rid]}
        assert len(cases) == 1, f"{rid} was put in two cases: {cases}"
        case_of[rid] = cases.pop()
    return case_of


async def test_kill_9_twice_while_20000_reports_stream_through(broker, workers) -> None:
    records = [(k, v) for k, v in itertools.islice(demo_reports(seed=21, invalid_share=0.0), 20_000)]
    worker = workers("w1").start().wait_ready()
    feeding = asyncio.ensure_future(_stream(broker.bootstrap, records, rate=1500))
    async with Reader(broker.bootstrap, ["reports.receipts", "outbound.x", "outbound.telegram"]) as reader:
        for _ in range(2):
            seen = len(reader.all("reports.receipts"))
            await reader.until(lambda s, n=seen: len(s["reports.receipts"]) > n + 2000,
                               timeout=120, what="progress before the crash")
            worker.kill()  # SIGKILL, mid-stream
            worker.start().wait_ready(120)
        await feeding
        ids = {json.loads(v)["report_id"] for _, v in records}
        await reader.until(lambda s: ids <= {r.json()["report_id"] for r in s["reports.receipts"]}, timeout=240,
                           what="a receipt for every report")
        await reader.settle(2)
        receipts = reader.all("reports.receipts")
        case_of = _check_receipts(records, receipts)
        repeats = len(receipts) - len(ids)
        # repeats after the crashes are recognisable: same key, same ce_id, same case
        ce_ids = defaultdict(set)
        for r in receipts:
            ce_ids[r.key].add(dict(r.headers)["ce_id"])
        assert all(len(v) <= 2 for v in ce_ids.values())  # a routed first report may replay as "routed" too
        # the same target is one case: a target's reports share its case id
        targets = defaultdict(set)
        for _, v in records:
            body = json.loads(v)
            targets[body["url"]].add(case_of[body["report_id"]])
        spellings_split = [t for t, cases in targets.items() if len(cases) > 1]
        assert not spellings_split, spellings_split[:3]
    # every report is in its case: re-sending a sample now finds each in the table (no new routing)
    sample = records[::500]
    async with Reader(broker.bootstrap, ["reports.receipts"]) as reader:
        await reader.settle(1)
        before = len(reader.all("reports.receipts"))
        outbound_before = metric(worker.metrics(), "router_routed_total", platform="x")
        await produce(broker.bootstrap, "reports.submitted", sample)
        await reader.until(lambda s: len(s["reports.receipts"]) >= before + len(sample), timeout=60, what="re-sent")
        for r in reader.all("reports.receipts")[before:]:
            body = r.json()
            assert body["case_id"] == case_of[body["report_id"]]
            assert body["outcome"] in ("routed", "attached", "review")
    assert metric(worker.metrics(), "router_routed_total", platform="x") == outbound_before, "nothing routed twice"
    assert metric(worker.metrics(), "router_reports_duplicate_total") >= len(sample)
    print(f"repeated receipts after two SIGKILLs: {repeats}")


async def test_join_mid_stream_and_lose_a_worker(tmp_path, broker, workers) -> None:
    policy = policy_file(tmp_path / "p.yaml", ack="40s", action="80s")
    w1 = workers("w1", ROUTER_SLA_POLICY=policy).start().wait_ready()
    records = [(k, v) for k, v in itertools.islice(demo_reports(seed=22, invalid_share=0.0), 4000)]
    feeding = asyncio.ensure_future(_stream(broker.bootstrap, records, rate=400))
    async with Reader(broker.bootstrap, ["reports.receipts", "sla.breaches"]) as reader:
        await reader.until(lambda s: len(s["reports.receipts"]) > 800, timeout=60, what="progress")
        w2 = workers("w2", ROUTER_SLA_POLICY=policy).start()  # joins mid-stream
        w2.wait_ready(120)
        await reader.until(lambda s: len(s["reports.receipts"]) > 2500, timeout=120, what="progress with two")
        w1.kill()  # w2 takes over everything
        await feeding
        ids = {json.loads(v)["report_id"] for _, v in records}
        await reader.until(lambda s: ids <= {r.json()["report_id"] for r in s["reports.receipts"]}, timeout=180,
                           what="a receipt for every report")
        case_of = _check_receipts(records, reader.all("reports.receipts"))
        cases = set(case_of.values())
        # nobody answers: every case breaches its acknowledgement deadline, once, wherever it lives
        await reader.until(lambda s: cases <= {r.json()["case_id"] for r in s["sla.breaches"]
                                               if r.json()["stage"] == "ack"}, timeout=180, what="every ack breach")
        breach_ids = {r.json()["breach_id"] for r in reader.all("sla.breaches") if r.json()["stage"] == "ack"}
        assert breach_ids == {f"{c}:ack" for c in cases}
    assert json.loads(w2.get("/ready")[1])["partitions"] == [0, 1, 2, 3]
