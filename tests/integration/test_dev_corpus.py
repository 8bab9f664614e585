"""The labelled corpus end to end: a real worker process on the embedded broker, driven through
the topics only. Every input gets exactly one receipt; every dlq case is on reports.deadletter
byte for byte; every route, group and origin is right; every same_case set is one case; no
output holds a reporter or signal value."""

from __future__ import annotations

import base64
import json
from collections import defaultdict

import pytest

from tests.conftest import load_cases
from tests.support.kafka import Reader, produce

pytestmark = pytest.mark.integration

OUTPUT_TOPICS = ["reports.receipts", "reports.deadletter", "outbound.review", "outbound.x", "outbound.facebook",
                 "outbound.instagram", "outbound.whatsapp", "outbound.youtube", "outbound.tiktok", "outbound.telegram"]


def _records(cases):
    for case in cases:
        if "raw" in case:
            yield None, case["raw"].encode()
        else:
            yield case["event"]["report_id"].encode(), json.dumps(case["event"]).encode()


def _report_id(raw: bytes) -> str | None:
    try:
        return json.loads(raw).get("report_id")
    except ValueError:
        return None


def _personal_values(cases) -> set[str]:
    """Reporter fields and signal values (phone, IP); the declared country is excluded because
    it legitimately comes out as an origin tag."""
    values = set()
    for case in cases:
        event = case.get("event", {})
        values.update(str(v) for v in (event.get("reporter") or {}).values() if v)
        values.update(str(v) for k, v in (event.get("signals") or {}).items() if v and k != "country")
    return values


async def test_dev_corpus_end_to_end(broker, workers):
    cases = load_cases()
    worker = workers().start().wait_ready()
    sent = await produce(broker.bootstrap, "reports.submitted", list(_records(cases)))
    async with Reader(broker.bootstrap, OUTPUT_TOPICS) as reader:
        await reader.until(lambda seen: len(seen["reports.receipts"]) >= len(cases), timeout=60, what="receipts")
        await reader.settle(1.0)
        receipts = [r.json() for r in reader.all("reports.receipts")]
        receipt_keys = [r.key.decode() for r in reader.all("reports.receipts")]
        dlq = [r.json() for r in reader.all("reports.deadletter")]
        outbound = {t: [r.json() for r in reader.all(t)] for t in OUTPUT_TOPICS if t.startswith("outbound.")}
        raw_outputs = b"".join((r.value or b"") + (r.key or b"") for t in OUTPUT_TOPICS for r in reader.all(t))

    assert len(receipts) == len(cases), "exactly one receipt per input record"
    by_report = defaultdict(list)
    for r in receipts:
        by_report[r["report_id"]].append(r)
    routed_by_case = {rec["case_id"]: (topic, rec) for topic, recs in outbound.items() for rec in recs}
    same_case: dict[str, set[str]] = defaultdict(set)
    misses = []
    for case, s in zip(cases, sent, strict=True):
        expect = case["expect"]
        if expect["route"] == "dlq":
            letters = [d for d in dlq if d["partition"] == s.partition and d["offset"] == s.offset]
            assert len(letters) == 1, f"{case['id']}: one dead letter"
            assert base64.b64decode(letters[0]["value_b64"]) == s.value, f"{case['id']}: exact bytes"
            assert letters[0]["error"]["kind"] in ("decode", "validation")
            # its receipt is keyed by its report id when one is readable, else by where it was read
            where = f"reports.submitted:{s.partition}:{s.offset}"
            mine = [r for k, r in zip(receipt_keys, receipts, strict=True)
                    if k == where or (r["report_id"] and r["report_id"] == _report_id(s.value))]
            assert len(mine) == 1 and mine[0]["outcome"] == "rejected", f"{case['id']}: one rejected receipt"
            assert mine[0]["topic"] == "reports.deadletter" and mine[0]["case_id"] is None
            continue
        rid = case["event"]["report_id"]
        assert len(by_report[rid]) == 1, f"{case['id']}: exactly one receipt"
        receipt = by_report[rid][0]
        want_topic = "outbound.review" if expect["route"] == "review" else f"outbound.{expect['route']}"
        if receipt["topic"] != want_topic:
            misses.append(f"{case['id']}: routed to {receipt['topic']}, expected {want_topic}")
            continue
        topic, record = routed_by_case[receipt["case_id"]]
        assert topic == want_topic
        groups = sorted(g["id"] for g in record["groups"])
        origins = sorted({o["country"] for o in record["origins"]})
        if groups != expect["groups"]:
            misses.append(f"{case['id']}: groups {groups}, expected {expect['groups']}")
        if origins != expect["origins"]:
            misses.append(f"{case['id']}: origins {origins}, expected {expect['origins']}")
        if "same_case" in expect:
            same_case[expect["same_case"]].add(receipt["case_id"])
    assert not misses, "\n".join(misses)
    for label, ids in same_case.items():
        assert len(ids) == 1, f"same_case {label} split into {ids}"
    # one outbound record per case
    for topic, recs in outbound.items():
        ids = [r["case_id"] for r in recs]
        assert len(ids) == len(set(ids)), f"{topic}: a case was routed twice"
    for value in _personal_values(cases):
        assert value.encode() not in raw_outputs, "personal data in an output topic"
    # the log: one JSON line per input record, with its position and outcome; no personal value
    lines = [r for r in worker.log_records() if r.get("event") == "record" and r.get("topic") != "router.cases"]
    logged = sorted((r["partition"], r["offset"]) for r in lines)
    assert logged == sorted((s.partition, s.offset) for s in sent), "one record line per input"
    assert {r["outcome"] for r in lines} <= {"routed", "attached", "duplicate", "review", "rejected"}
    log_text = worker.log_text()
    for value in _personal_values(cases):
        assert value not in log_text, "personal data in the log"
    assert worker.ready()
