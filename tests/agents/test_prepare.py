"""Intake's stateless half (router.prepare) and how the stateful half uses it: the same output
whichever process prepared a batch, forwarding by the partitions held, and no garbage cycles."""

from __future__ import annotations

import gc
import json
import pickle

import pytest

from router.core.cases import Case
from router.prepare import Failed, Forward, Ready, RecentCases, Rejected, pack, unpack
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


def test_recent_cases_remember_two_generations_and_no_more() -> None:
    recent = RecentCases(size=3)
    assert [recent.seen(h) for h in (1, 1, 2)] == [False, True, False]
    assert recent.seen(3) is False  # the third fills the first generation: it becomes the old one
    assert [recent.seen(h) for h in (1, 2, 3)] == [True, True, True]
    assert [recent.seen(h) for h in (4, 5, 6)] == [False, False, False]  # a new generation fills up
    assert recent.seen(1) is False  # dropped with the oldest generation (and remembered again)
    assert recent.seen(4) is True and recent.seen(6) is True


def _helper_rig(held: set[int] | None = None):  # type: ignore[no-untyped-def]
    r = rig(held=held)
    r.intake.preparer.recent = RecentCases()  # as in a helper process
    return r


def _repeats() -> tuple[list[Msg], list[Msg]]:
    first = [Msg("reports.submitted", 0, i, f"r{i}".encode(), report(f"r{i}", url=f"https://x.com/a/status/{i}"))
             for i in range(3)]
    second = [Msg("reports.submitted", 0, 3, b"r3", report("r3", url="https://x.com/a/status/0")),  # a repeat
              Msg("reports.submitted", 0, 4, b"r4", report("r4", url="https://x.com/a/status/1")),
              Msg("reports.submitted", 0, 5, b"r0", report("r0", url="https://x.com/a/status/0")),  # r0 again
              Msg("reports.submitted", 0, 6, b"r6", report("r6", url="https://x.com/a/status/7"))]  # a new case
    return first, second


def test_a_helper_prepares_repeats_without_opening_records_and_the_output_is_the_same() -> None:
    plain, helped = rig(), _helper_rig()
    first, second = _repeats()
    now = helped.clock()
    for batch in (first, second):
        results = helped.intake.preparer.prepare([m.value for m in batch], now)
        if batch is second:
            assert [bool(x.case) for x in results] == [False, False, False, True]
            assert json.loads(results[0].receipt)["outcome"] == "attached" and results[0].routed == b""
        expected = plain.intake.process(batch, (now, plain.intake.preparer.prepare([m.value for m in batch], now)))
        got = helped.intake.process(batch, (now, results))
        assert got.first == expected.first and got.then == expected.then
    outcomes = [v["outcome"] for v in values(got.first, "reports.receipts")]
    assert outcomes == ["attached", "attached", "routed", "routed"]  # r0 again replays its own outcome
    assert helped.counters.intake_reprepared == 0


def test_a_repeat_whose_case_is_not_there_is_prepared_again_in_full() -> None:
    """The helper's memory is a hint: a case closed and forgotten, or a hash collision, leaves a
    report prepared without the records that open its case."""
    helper, worker, plain = _helper_rig(), rig(), rig()
    first, second = _repeats()
    now = worker.clock()
    helper.intake.preparer.prepare([m.value for m in first], now)  # the helper saw the cases; the table did not
    results = helper.intake.preparer.prepare([m.value for m in second], now)
    assert not results[0].case
    got = worker.intake.process(second, (now, results))
    expected = plain.intake.process(second)
    assert got.first == expected.first and got.then == expected.then
    assert [v["outcome"] for v in values(got.first, "reports.receipts")] == ["routed", "routed", "attached", "routed"]
    assert len(values(got.first, "outbound.x")) == 3
    assert worker.counters.intake_reprepared == 2  # r3 and r4 (r0 attaches to the case r3 opened)


def test_prepared_results_hold_their_json_at_its_own_size() -> None:
    """orjson's bytes keep its whole output buffer (4 KiB or more for a record of a few hundred
    bytes); a helper holds a batch's results until the answer is framed, which made each helper
    some 20 MB larger at full speed. The values are exact-size copies (``router.events.dumps``)."""
    import tracemalloc

    r = _helper_rig()
    raw = [report(f"r{i}", url=f"https://x.com/a/status/{i}") for i in range(200)]
    warm = [report(f"w{i}", url=f"https://x.com/b/status/{i}") for i in range(5)]
    r.intake.preparer.prepare(warm, 1_800_000_000.0)  # the first use loads what is loaded lazily
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        results = r.intake.preparer.prepare(raw, 1_800_000_000.0)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert all(type(x) is Ready and x.case for x in results)
    encoded = sum(len(x.routed) + len(x.receipt) + len(x.case) for x in results)
    assert held < 2 * encoded, (held, encoded)
