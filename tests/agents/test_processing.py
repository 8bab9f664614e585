"""The agent tier: intake, case and response steps with recording fakes, no broker."""

from __future__ import annotations

import base64
import json

import pytest

import schemas
from router.core.policy import load_policy
from router.output import partition_for_key
from tests.agents.fakes import REGISTRY, Msg, N, report, rig, values

MODELS = {"reports.receipts": schemas.ReportReceiptV1, "reports.deadletter": schemas.ReportDeadLetterV1,
          "sla.breaches": schemas.SlaBreachV1}


def _validate_all(records) -> None:
    """Every event the steps produce is a valid contract record (models forbid extra fields)."""
    for r in records:
        if r.topic in MODELS:
            MODELS[r.topic].model_validate_json(r.value)
        elif r.topic.startswith("outbound."):
            schemas.ReportRoutedV1.model_validate_json(r.value)
            assert dict(r.headers)["ce_id"] == r.key


def test_new_report_is_routed_with_a_receipt_and_state() -> None:
    r = rig()
    out = r.intake.process([Msg("reports.submitted", 0, 7, b"r1", report("r1", signals={"ip": "117.102.0.1"},
                                                                        reporter={"name": "Secret Name"}))])
    routed = values(out.first, "outbound.x")
    assert len(routed) == 1 and routed[0]["origins"] == [{"country": "PK", "signal": "ip"}]
    receipt = values(out.first, "reports.receipts")[0]
    assert (receipt["outcome"], receipt["topic"], receipt["case_id"]) == ("routed", "outbound.x", routed[0]["case_id"])
    assert {rec.topic for rec in out.then} == {"test-router-cases-changelog", "test-router-stats-changelog"}
    everything = b"".join(rec.value or b"" for rec in out.first + out.then)
    assert b"Secret Name" not in everything and b"117.102.0.1" not in everything
    _validate_all(out.first)


def test_repeats_attach_and_resends_replay() -> None:
    r = rig()
    first = r.intake.process([Msg("reports.submitted", 0, 1, b"r1", report("r1"))])
    again = r.intake.process([
        Msg("reports.submitted", 0, 2, b"r2", report("r2", url="https://twitter.com/A/status/1?s=20")),
        Msg("reports.submitted", 0, 3, b"r1", report("r1")),  # the upstream re-sent r1
        Msg("reports.submitted", 0, 4, b"r2", report("r2", url="https://x.com/a/status/1")),
    ])
    assert len(values(first.first, "outbound.x")) == 1
    assert values(again.first, "outbound.x") == [], "a repeat never routes a second time"
    outcomes = [(v["report_id"], v["outcome"]) for v in values(again.first, "reports.receipts")]
    assert outcomes == [("r2", "attached"), ("r1", "routed"), ("r2", "attached")]
    assert r.counters.duplicates == 2
    case_ids = {v["case_id"] for v in values(first.first + again.first, "reports.receipts")}
    assert len(case_ids) == 1


def test_rejections_go_to_the_dead_letter_topic_with_exact_bytes() -> None:
    r = rig()
    bad = [b"{not json", b"\xff\xfe\x00", b"[1,2]", b"", report("bad id"), report("r9", url="ftp://x.com/a"),
           report("r8", schema="report.submitted/v9"), b"x" * 70000, b"{" * 5000]
    msgs = [Msg("reports.submitted", 1, i, None, v) for i, v in enumerate(bad)]
    msgs.append(Msg("reports.submitted", 1, 99, b"ok", report("ok")))
    out = r.intake.process(msgs)
    letters = values(out.first, "reports.deadletter")
    assert [base64.b64decode(d["value_b64"]) for d in letters] == bad
    assert [d["offset"] for d in letters] == list(range(len(bad)))
    receipts = values(out.first, "reports.receipts")
    assert [x["outcome"] for x in receipts] == ["rejected"] * len(bad) + ["routed"], "the next record goes on"
    assert receipts[5]["report_id"] == "r9" and receipts[0]["report_id"] is None
    keys = [rec.key for rec in out.first if rec.topic == "reports.receipts"]
    assert keys[0] == b"reports.submitted:1:0"
    assert r.counters.rejected == len(bad)
    for d in letters:
        for text in d["error"]["detail"]:
            assert "bad id" not in text and "ftp://" not in text, "details never echo the input"
    _validate_all(out.first)


def test_a_crash_in_enrichment_is_a_processing_rejection() -> None:
    class Boom:
        def match(self, *args, **kwargs):
            raise RuntimeError("crafted input")

    r = rig(matcher=Boom())
    out = r.intake.process([Msg("reports.submitted", 0, 0, b"r1", report("r1")),
                            Msg("reports.submitted", 0, 1, b"r2", report("r2"))])
    kinds = [d["error"]["kind"] for d in values(out.first, "reports.deadletter")]
    assert kinds == ["processing", "processing"]
    assert r.counters.rejected_processing == 2


def test_one_crash_in_a_batch_rejects_that_record_only_and_keeps_the_order() -> None:
    class CrashOnSecond:
        calls = 0

        def match(self, *args, **kwargs):
            CrashOnSecond.calls += 1
            if CrashOnSecond.calls == 2:
                raise RuntimeError("crafted input")
            return ()

    r = rig(matcher=CrashOnSecond())
    values_in = [report("r1"), b"{bad", report("r2"), report("r3", url="https://x.com/other/status/9")]
    out = r.intake.process([Msg("reports.submitted", 0, i, None, v) for i, v in enumerate(values_in)])
    receipts = values(out.first, "reports.receipts")
    assert [(x["report_id"], x["outcome"]) for x in receipts] == [
        ("r1", "routed"), (None, "rejected"), ("r2", "rejected"), ("r3", "routed")]
    assert [d["error"]["kind"] for d in values(out.first, "reports.deadletter")] == ["decode", "processing"]
    assert r.counters.received == 4 and r.counters.rejected_processing == 1


def test_reports_for_partitions_held_elsewhere_are_forwarded_by_case_id() -> None:
    r = rig(held=set())
    out = r.intake.process([Msg("reports.submitted", 0, 0, b"r1", report("r1"))])
    assert [rec.topic for rec in out.first] == ["router.cases"]
    fwd = out.first[0]
    assert fwd.partition == partition_for_key(fwd.key, N)
    body = json.loads(fwd.value)
    assert "reporter" not in body and "signals" not in body
    # the worker holding that partition routes it
    other = rig()
    done = other.caselane.process([Msg("router.cases", fwd.partition, 0, fwd.key, fwd.value)])
    assert values(done.first, "reports.receipts")[0]["outcome"] == "routed"
    assert len(values(done.first, "outbound.x")) == 1


def test_review_for_unknown_hosts_and_platforms() -> None:
    r = rig()
    out = r.intake.process([
        Msg("reports.submitted", 0, 0, b"a", report("a", url="https://www.facebook.com.example.net/page")),
        Msg("reports.submitted", 0, 1, b"b", report("b", url=None, platform="myspace", account="someone")),
    ])
    assert [v["outcome"] for v in values(out.first, "reports.receipts")] == ["review", "review"]
    routed = values(out.first, "outbound.review")
    assert [v["platform"] for v in routed] == ["unknown", "unknown"]
    assert routed[0]["requested_actions"] == ["review", "preserve_evidence"]


def _route_one(r, **fields):
    out = r.intake.process([Msg("reports.submitted", 0, 0, b"r1", report("r1", **fields))])
    routed = values(out.first, "outbound.x")[0]
    return routed["case_id"], partition_for_key(routed["case_id"].encode(), N)


def _response(case_id: str, partition: int, status: str, at: str, offset: int = 0, **extra) -> Msg:
    body = {"schema": "platform.response/v1", "case_id": case_id, "platform": "x", "status": status, "at": at, **extra}
    return Msg("platform.responses", partition, offset, case_id.encode(), json.dumps(body).encode())


def test_responses_meet_deadlines_and_breaches_are_raised_once() -> None:
    policy = load_policy({"priorities": {"normal": {"ack": "10s", "action": "60s"}}}, [*REGISTRY.ids, "unknown"])
    r = rig(policy=policy)
    case_id, p = _route_one(r)
    t0 = r.clock.now
    sweep = r.casework.sweep
    from router.output import Outbox

    out = Outbox()
    assert len(sweep(t0 + 9, r.held, out)) == 0
    r.clock.now = t0 + 11
    assert len(sweep(r.clock.now, r.held, out)) == 1
    breaches = values(out.first, "sla.breaches")
    assert [(b["stage"], b["breach_id"]) for b in breaches] == [("ack", f"{case_id}:ack")]
    assert len(sweep(t0 + 12, r.held, Outbox())) == 0, "once per stage"
    # a late acknowledgement does not undo the breach; the action is then met in time
    late = r.caselane.process([_response(case_id, p, "received", "2027-01-15T08:00:11Z"),
                               _response(case_id, p, "removed", "2027-01-15T08:00:30Z", offset=1)])
    assert late.then, "state is written"
    out2 = Outbox()
    assert len(sweep(t0 + 1000, r.held, out2)) == 0
    figures = r.casework.partition_stats(p).platforms["x"].counts
    assert (figures["routed"], figures["acknowledged"], figures["actioned"], figures["breached_ack"],
            figures["open_cases"]) == (1, 1, 1, 1, 0)
    _validate_all(out.first)


def test_silent_cases_breach_both_stages_in_order() -> None:
    policy = load_policy({"priorities": {"normal": {"ack": "10s", "action": "60s"}}}, [*REGISTRY.ids, "unknown"])
    r = rig(policy=policy)
    _case_id, _ = _route_one(r)
    from router.output import Outbox

    out = Outbox()
    r.casework.sweep(r.clock.now + 3600, r.held, out)
    assert [b["stage"] for b in values(out.first, "sla.breaches")] == ["ack", "action"]
    # partitions not held are not swept
    r2 = rig(policy=policy)
    _route_one(r2)
    assert len(r2.casework.sweep(r2.clock.now + 3600, set(), Outbox())) == 0


def test_responses_for_unknown_cases_and_bad_responses_are_counted_not_fatal() -> None:
    r = rig()
    case_id, p = _route_one(r)
    out = r.caselane.process([
        _response("x-doesnotexist", 0, "received", "2026-11-01T12:00:00Z"),
        Msg("platform.responses", 0, 5, b"k", b"{broken"),
        _response(case_id, p, "deleted", "2026-11-01T12:00:00Z"),  # unknown status: invalid
        _response(case_id, p, "received", "2026-11-01T12:00:00Z", offset=6),
    ])
    assert r.counters.responses_unknown_case == 1
    assert r.counters.responses_invalid == 2
    assert len(values(out.first, "reports.deadletter")) == 2
    assert r.casework.partition_stats(p).platforms["x"].counts["acknowledged"] == 1


def test_needs_info_pauses_the_action_breach() -> None:
    policy = load_policy({"priorities": {"normal": {"ack": "10s", "action": "60s"}}}, [*REGISTRY.ids, "unknown"])
    r = rig(policy=policy)
    case_id, p = _route_one(r)
    t0 = r.clock.now
    from datetime import UTC, datetime

    def at(ts: float) -> str:
        return datetime.fromtimestamp(ts, UTC).isoformat()

    from router.output import Outbox

    r.clock.now = t0 + 5
    r.caselane.process([_response(case_id, p, "needs_info", at(t0 + 5))])
    assert len(r.casework.sweep(t0 + 500, r.held, Outbox())) == 0
    r.clock.now = t0 + 505
    r.caselane.process([_response(case_id, p, "received", at(t0 + 505), offset=1)])
    out = Outbox()
    assert len(r.casework.sweep(t0 + 559, r.held, out)) == 0  # due at 60 s plus the 500 s waited
    assert len(r.casework.sweep(t0 + 560, r.held, out)) == 1
    assert values(out.first, "sla.breaches")[0]["stage"] == "action"


@pytest.mark.parametrize("partitions", [1, 4, 8])
def test_index_rebuild_after_recovery(partitions: int) -> None:
    r = rig()
    for i in range(20):
        r.intake.process([Msg("reports.submitted", 0, i, b"k", report(f"r{i}", url=f"https://x.com/a/status/{i}"))])
    rebuilt = rig()
    rebuilt.casework.cases = r.casework.cases
    assert sum(rebuilt.casework.index_partition(p) for p in range(N)) == 20
