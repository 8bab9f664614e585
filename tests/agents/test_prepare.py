"""Intake's stateless half (router.prepare) and how the stateful half uses it: the same output
whichever process prepared a batch, forwarding by the partitions held, and no garbage cycles."""

from __future__ import annotations

import gc
import json
import pickle

import pytest

from router.core.cases import Case
from router.prepare import Failed, Forward, Ready, Rejected, pack, unpack
from tests.agents.fakes import Msg, report, rig, values


def _messages(n: int = 6) -> list[Msg]:
    msgs = [Msg("reports.submitted", 0, i, f"r{i}".encode(), report(f"r{i}", url=f"https://x.com/a/status/{i}"))
            for i in range(n)]
    msgs.append(Msg("reports.submitted", 0, n, None, b"{not json"))
    msgs.append(Msg("reports.submitted", 0, n + 1, b"r0", report("r0", url="https://x.com/a/status/0")))
    return msgs


def test_results_per_record_in_order() -> None:
    r = rig()
    results = r.intake.preparer.prepare([m.value for m in _messages()], 1_800_000_000.0)
    assert [type(x) for x in results] == [Ready] * 6 + [Rejected, Ready]
    ready = results[0]
    assert ready.report_id == "r0" and ready.platform == "x"
    assert json.loads(ready.receipt)["outcome"] == "routed"
    case = Case.from_dict(json.loads(ready.case))
    assert case.case_id == ready.case_id and ready.due == case.ack_due
    assert json.loads(ready.routed)["case_id"] == ready.case_id
    assert results[6].kind == "decode" and results[6].report_id is None


def test_results_cross_the_pipe_as_plain_tuples_and_come_back_equal() -> None:
    r = rig(held={0, 1})
    results = r.intake.preparer.prepare([m.value for m in _messages(12)], 1_800_000_000.0)
    results.append(Failed("r9", "KeyError", "enrich.py:1:f"))
    assert {type(x) for x in results} == {Ready, Forward, Rejected, Failed}
    packed = pickle.loads(pickle.dumps(pack(results)))
    assert all(type(row) is tuple for row in packed[1])
    back = unpack(packed)
    assert back == results and [type(x) for x in back] == [type(x) for x in results]
    kinds, rows = packed
    with pytest.raises(ValueError):
        unpack((kinds, rows[:-1]))
    with pytest.raises(ValueError):
        unpack((kinds, [rows[0][:3], *rows[1:]]))
    with pytest.raises(ValueError):
        unpack((bytes([9]) + kinds[1:], rows))


def test_a_prepared_batch_gives_what_an_unprepared_one_gives() -> None:
    one, two = rig(), rig()
    msgs = _messages()
    unprepared = one.intake.process(msgs)
    now = two.clock()
    prepared = two.intake.process(msgs, (now, two.intake.preparer.prepare([m.value for m in msgs], now)))
    assert unprepared.first == prepared.first and unprepared.then == prepared.then
    outcomes = [v["outcome"] for v in values(prepared.first, "reports.receipts")]
    assert outcomes == ["routed"] * 6 + ["rejected", "routed"]  # the re-sent r0 replays its outcome


def test_reports_for_partitions_held_elsewhere_are_forwarded() -> None:
    r = rig(held=set())
    results = r.intake.preparer.prepare([m.value for m in _messages(3)], 1_800_000_000.0)
    assert {type(x) for x in results} == {Forward, Rejected}
    out = r.intake.process(_messages(3))
    assert len([rec for rec in out.first if rec.topic == "router.cases"]) == 4
    assert values(out.first, "outbound.x") == []


def test_a_batch_prepared_before_a_rebalance_follows_the_partitions_held_now() -> None:
    r = rig(held=set())
    msgs = _messages(3)
    now = r.clock()
    prepared = (now, r.intake.preparer.prepare([m.value for m in msgs], now))  # all Forward
    r.held.update(range(4))  # the partitions came to this worker meanwhile
    out = r.intake.process(msgs, prepared)
    assert [rec for rec in out.first if rec.topic == "router.cases"] == []
    assert len(values(out.first, "outbound.x")) == 3
    # and the other way round: prepared as held, no longer held when processed
    s = rig()
    prepared = (now, s.intake.preparer.prepare([m.value for m in msgs], now))
    s.held.clear()
    out = s.intake.process(msgs, prepared)
    assert len([rec for rec in out.first if rec.topic == "router.cases"]) == 4


def test_an_unexpected_enrichment_error_is_a_processing_failure() -> None:
    class Broken:
        def match(self, *args, **kwargs):
            raise KeyError("boom")

    r = rig(matcher=Broken())
    results = r.intake.preparer.prepare([report("r1")], 1_800_000_000.0)
    assert isinstance(results[0], Failed) and results[0].error == "KeyError"
    assert "enrich.py" in results[0].where and "boom" not in results[0].where  # frames, never values
    out = r.intake.process([Msg("reports.submitted", 0, 0, b"r1", report("r1"))])
    assert values(out.first, "reports.deadletter")[0]["error"]["kind"] == "processing"


def test_a_batch_with_rejections_leaves_no_garbage_cycles() -> None:
    """A rejection kept with its traceback tied the batch's frame, and everything it held, in a
    reference cycle that only the collector's slowest pass freed: a third of the worker's time."""
    r = rig()
    msgs = [*_messages(50), Msg("reports.submitted", 0, 99, None, report("bad", url="ftp://x.com/a"))]
    r.intake.process(msgs)  # warm up (caches, first-use imports)
    gc.collect()
    gc.disable()
    try:
        r.intake.process([Msg(m.topic, m.partition, m.offset + 1000, m.key, m.value) for m in msgs])
        assert gc.collect() == 0
    finally:
        gc.enable()
