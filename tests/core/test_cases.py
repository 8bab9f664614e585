"""The case lifecycle: attach, responses, pausing, breaches (pure functions, explicit time)."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.core.cases import (
    Case,
    apply_response,
    attach,
    breach_id,
    due_breaches,
    mark_breached,
    open_case,
    opened_fields,
)
from router.core.deadlines import DeadlineIndex, next_due
from router.core.policy import Deadlines
from router.events import routed

T0 = 1_800_000_000.0
D = Deadlines(ack=timedelta(seconds=10), action=timedelta(seconds=60))


def new_case(**kw: object) -> Case:
    args = dict(case_id="x-1", platform="x", url="https://x.com/a/status/1", account="a", kind="content",
                report_id="r1", groups=({"id": "TTP", "name": "T", "matched": ["TTP"], "designations": ["UN"]},),
                origins=(), mirror_of=None, priority="normal", requested_actions=("remove_content",),
                legal_basis=(), deadlines=D, now=T0)
    args.update(kw)
    return open_case(**args)  # type: ignore[arg-type]


def test_open_sets_deadlines_from_policy() -> None:
    case = new_case()
    assert (case.ack_due, case.action_due) == (T0 + 10, T0 + 60)
    assert case.report_ids == ("r1",) and case.status == "open"


def test_attach_replay_and_duplicates() -> None:
    case = new_case()
    same, how = attach(case, "r1")
    assert how == "replay" and same is case
    case2, how = attach(case, "r2")
    assert how == "attached" and case2.report_ids == ("r1", "r2") and case2.reports == 2
    case3, how = attach(case2, "r2")
    assert how == "duplicate" and case3 is case2


def test_first_response_acknowledges_and_action_closes() -> None:
    case = new_case()
    case, eff = apply_response(case, "received", T0 + 5, T0 + 5)
    assert eff.acknowledged and eff.ack_in_time and not eff.actioned and eff.time_to_ack == 5
    case, eff = apply_response(case, "removed", T0 + 70, T0 + 70)
    assert eff.actioned and not eff.action_in_time and not eff.acknowledged
    assert case.status == "closed" and case.action_status == "removed"
    assert due_breaches(case, T0 + 1000) == []


@pytest.mark.parametrize("status", ["removed", "restricted", "rejected"])
def test_action_statuses_meet_both_deadlines(status: str) -> None:
    _case, eff = apply_response(new_case(), status, T0 + 1, T0 + 1)
    assert eff.acknowledged and eff.actioned and eff.ack_in_time and eff.action_in_time


def test_needs_info_stops_the_action_clock() -> None:
    case = new_case()
    case, _ = apply_response(case, "needs_info", T0 + 5, T0 + 5)
    assert case.paused_since == T0 + 5
    # paused: the action deadline cannot be breached however late it is
    assert due_breaches(case, T0 + 500) == []
    case, _eff = apply_response(case, "received", T0 + 105, T0 + 105)
    assert case.paused_since is None and case.action_due == T0 + 160  # moved by the 100 s waited
    assert due_breaches(case, T0 + 159) == []
    assert due_breaches(case, T0 + 160) == [("action", T0 + 160)]


def test_breaches_once_per_stage() -> None:
    case = new_case()
    assert due_breaches(case, T0 + 9) == []
    assert due_breaches(case, T0 + 10) == [("ack", T0 + 10)]
    case = mark_breached(case, "ack")
    assert due_breaches(case, T0 + 59) == []
    assert due_breaches(case, T0 + 61) == [("action", T0 + 60)]
    case = mark_breached(case, "action")
    assert due_breaches(case, T0 + 10_000) == []
    assert mark_breached(case, "action") is case


def test_breach_id_is_deterministic() -> None:
    assert breach_id("x-1", "ack") == breach_id("x-1", "ack") == "x-1:ack"
    assert breach_id("x-1", "ack") != breach_id("x-1", "action")


def test_out_of_order_and_late_responses() -> None:
    case = new_case()
    case, eff = apply_response(case, "received", T0 + 20, T0 + 20)
    assert not eff.ack_in_time  # after the 10 s deadline
    case, eff = apply_response(case, "received", T0 + 15, T0 + 21)
    assert eff.out_of_order and not eff.acknowledged
    case, eff = apply_response(case, "removed", T0 + 30, T0 + 30)
    case, eff = apply_response(case, "removed", T0 + 31, T0 + 31)
    assert eff.late_after_close and not eff.actioned and case.responses == 4


def test_response_times_are_clamped() -> None:
    case = new_case()
    # a platform clock in the future counts as now; a time before routing counts as routing time
    _, eff = apply_response(case, "received", T0 + 10_000, T0 + 3)
    assert eff.time_to_ack == 3
    _, eff = apply_response(case, "received", T0 - 100, T0 + 3)
    assert eff.time_to_ack == 0


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError):
        apply_response(new_case(), "deleted", T0, T0)


def test_serialisation_round_trip() -> None:
    case, _ = apply_response(new_case(), "needs_info", T0 + 1, T0 + 1, reference="T-1")
    assert Case.from_dict(case.to_dict()) == case


def test_deadline_index_costs_nothing_when_nothing_is_due() -> None:
    index = DeadlineIndex()
    for i in range(1000):
        index.push(T0 + 100 + i, f"c{i}", i % 4)
    assert index.pop_due(T0) == []
    assert len(index) == 1000
    due = index.pop_due(T0 + 104.5)
    assert [c for _, c, _ in due] == ["c0", "c1", "c2", "c3", "c4"]
    index.drop_partitions({0})
    assert all(p != 0 for _, _, p in index.entries())


def test_deadline_index_pops_in_time_order_whatever_the_times_and_ids() -> None:
    import random

    rng = random.Random(7)
    entries = [(rng.choice([0.0, 1e-9, 1.5, T0, T0 + 0.001, T0 + rng.random() * 1e6, 4e9, 1e15]),
                rng.choice(["x-0af3", "youtube-dd4a", "tiktok-ü-وداعش", "t"]) + str(i), rng.randrange(70_000))
               for i in range(3000)]
    index = DeadlineIndex()
    for due, case_id, partition in entries:
        index.push(due, case_id, partition)
    assert index.peek() == 0.0
    popped = index.pop_due(T0 + 0.0005)
    assert sorted(popped) == sorted(e for e in entries if e[0] <= T0 + 0.0005)  # every one due, no other
    assert [d for d, _, _ in popped] == sorted(d for d, _, _ in popped)  # earliest first
    assert sorted(popped + index.entries()) == sorted(entries)  # nothing lost or changed on the way
    rest = index.pop_due(float("inf"))
    assert [d for d, _, _ in rest] == sorted(d for d, _, _ in rest) and len(index) == 0
    index.push(-5.0, "before-the-epoch", 1)  # kept as due at the epoch: due at once either way
    assert index.pop_due(0.0) == [(0.0, "before-the-epoch", 1)]


def test_deadline_index_entry_memory() -> None:
    """The index holds an entry per open case (the only per-case memory of a worker on RocksDB)."""
    import tracemalloc

    ids = [f"x-{i:024x}" for i in range(2000)]  # case ids of X: a platform name and 24 hex digits
    index = DeadlineIndex()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i, case_id in enumerate(ids):
            index.push(T0 + i, case_id, i % 8)
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / len(ids)
    finally:
        tracemalloc.stop()
    assert per_entry < 100, per_entry  # a (float, str, int) tuple took about 150


def test_next_due_follows_the_lifecycle() -> None:
    case = new_case()
    assert next_due(case) == T0 + 10
    case, _ = apply_response(case, "received", T0 + 1, T0 + 1)
    assert next_due(case) == T0 + 60
    case, _ = apply_response(case, "needs_info", T0 + 2, T0 + 2)
    assert next_due(case) is None
    case, _ = apply_response(case, "removed", T0 + 3, T0 + 3)
    assert next_due(case) is None


@given(st.fixed_dictionaries({}, optional={
    "reports": st.integers(0, 10**6), "report_ids": st.tuples(st.text(max_size=5)),
    "status": st.sampled_from(["open", "closed"]),
    "acked_at": st.none() | st.floats(allow_nan=False), "breached": st.tuples(st.sampled_from(["ack", "action"])),
    "references": st.tuples(st.text(max_size=5)), "mirror_of": st.none() | st.just({"account": "a", "evidence": []}),
}))
def test_evolve_is_dataclasses_replace(changes: dict) -> None:
    import dataclasses

    case = open_case(case_id="x-1", platform="x", url="https://x.com/a", account="a", kind="account",
                     report_id="r1", groups=(), origins=(), mirror_of=None, priority="normal",
                     requested_actions=("suspend_account",), legal_basis=(), deadlines=D, now=100.0)
    evolved = case.evolve(**changes)
    assert evolved == dataclasses.replace(case, **changes)
    assert evolved.to_dict() == dataclasses.replace(case, **changes).to_dict()
    assert case.reports == 1 and case.report_ids == ("r1",), "the original is unchanged"
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved.reports = 5  # type: ignore[misc]


def test_evolve_refuses_unknown_fields() -> None:
    case = open_case(case_id="x-1", platform="x", url=None, account="a", kind="account", report_id="r1", groups=(),
                     origins=(), mirror_of=None, priority="normal", requested_actions=(), legal_basis=(),
                     deadlines=D, now=1.0)
    with pytest.raises(TypeError, match="no field 'nope'"):
        case.evolve(nope=1)


@given(st.integers(min_value=0, max_value=3), st.sampled_from(["open", "closed"]), st.booleans())
def test_the_fast_constructor_builds_what_the_dataclass_builds(responses: int, status: str, acked: bool) -> None:
    from dataclasses import asdict, fields

    case = new_case().evolve(responses=responses, status=status, acked_at=T0 + 1 if acked else None)
    data = asdict(case)
    rebuilt = Case.from_dict(data)
    reference = Case(**{f.name: tuple(data[f.name]) if isinstance(data[f.name], list) else data[f.name]
                        for f in fields(Case)})
    assert rebuilt == reference == case and type(rebuilt) is Case
    assert Case.from_dict({k: v for k, v in data.items() if k not in ("references", "status")}) == case.evolve(
        references=(), status="open")
    with pytest.raises(TypeError):
        Case.from_dict({**data, "no_such_field": 1})
    swapped = {k: v for k, v in data.items() if k != "status"} | {"no_such_field": "open"}
    assert len(swapped) == len(data)  # as many names as fields, one of them unknown
    with pytest.raises(TypeError):
        Case.from_dict(swapped)
    missing = {k: v for k, v in data.items() if k != "case_id"}
    with pytest.raises(TypeError):
        Case.from_dict(missing)


def test_a_case_read_back_from_its_changelog_json_is_the_case() -> None:
    case = new_case().evolve(report_ids=("r1", "r2"), reports=2, breached=("ack",), references=("ref",))
    rebuilt = Case.from_dict(orjson.loads(orjson.dumps(case)))
    assert rebuilt == case and type(rebuilt) is Case and type(rebuilt.report_ids) is tuple


@given(st.sampled_from(["content", "account"]), st.booleans(), st.sampled_from(["normal", "high", "critical"]))
def test_the_opened_fields_are_those_of_the_opened_case(kind: str, mirrored: bool, priority: str) -> None:
    groups = ({"id": "TTP", "name": "T", "matched": ["TTP"], "designations": ["UN"]},)
    origins = ({"country": "PK", "signal": "phone"},)
    mirror_of = {"account": "b", "evidence": ["name"]} if mirrored else None
    args = dict(case_id="x-1", platform="x", url="https://x.com/a/status/1", account="a", kind=kind,
                report_id="r1", groups=groups, origins=origins, mirror_of=mirror_of, priority=priority,
                requested_actions=("remove_content",), legal_basis=("TCO",), deadlines=D, now=T0)
    expected = Case(  # the dataclass's own constructor and defaults
        case_id="x-1", platform="x", url="https://x.com/a/status/1", account="a", kind=kind, first_report="r1",
        report_ids=("r1",), reports=1, groups=groups, origins=origins, mirror_of=mirror_of, priority=priority,
        requested_actions=("remove_content",), legal_basis=("TCO",), routed_at=T0, ack_due=T0 + 10,
        action_due=T0 + 60)
    data = opened_fields(**args)  # type: ignore[arg-type]
    assert list(data) == [f.name for f in fields(Case)]  # every field, in order
    assert orjson.loads(orjson.dumps(data)) == orjson.loads(orjson.dumps(expected))  # the same changelog JSON
    assert Case.from_dict(orjson.loads(orjson.dumps(data))) == expected
    assert open_case(**args) == expected and type(open_case(**args).report_ids) is tuple
    assert routed(data) == routed(expected.to_dict())
    with pytest.raises(TypeError):
        open_case(**{**args, "nope": 1})
