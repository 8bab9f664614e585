"""The sweep's wait after an assignment (router.core.catchup)."""

from __future__ import annotations

from typing import NamedTuple

from router.core.catchup import CatchUp


class Rec(NamedTuple):
    topic: str
    partition: int
    offset: int


def _started(ends: dict, acked: list[Rec] = ()) -> CatchUp:
    c = CatchUp()
    c.acknowledged(acked)
    c.restart()
    assert c.set_targets(ends, c.generation)
    return c


def test_no_sweep_before_the_targets_are_known() -> None:
    c = CatchUp()
    assert not c.known and not c.done
    c.restart()
    assert not c.known and not c.done and c.waiting() == []


def test_done_once_every_partition_is_acknowledged_up_to_its_end() -> None:
    c = _started({("r", 0): 3, ("r", 1): 2, ("c", 0): 1})
    assert c.waiting() == [("c", 0), ("r", 0), ("r", 1)] and not c.done
    c.acknowledged([Rec("r", 0, 0), Rec("r", 1, 0), Rec("r", 0, 1)])
    assert c.waiting() == [("c", 0), ("r", 0), ("r", 1)]  # r:0 needs offset 2, r:1 offset 1
    c.acknowledged([Rec("r", 1, 1), Rec("c", 0, 0)])
    assert c.waiting() == [("r", 0)]
    c.acknowledged([Rec("r", 0, 2)])
    assert c.done


def test_empty_partitions_and_partitions_already_read_wait_for_nothing() -> None:
    assert _started({("r", 0): 0, ("r", 1): None}).done
    assert _started({("r", 0): 5}, acked=[Rec("r", 0, 4)]).done
    assert not _started({("r", 0): 5}, acked=[Rec("r", 0, 3)]).done


def test_the_consumer_position_passing_the_end_counts() -> None:
    c = _started({("r", 0): 10, ("r", 1): 4})
    c.passed(("r", 0), 9)
    c.passed(("r", 1), None)
    c.passed(("x", 0), 100)  # not a partition waited for
    assert c.waiting() == [("r", 0), ("r", 1)]
    c.passed(("r", 0), 10)  # e.g. it ends with transaction markers, never delivered
    c.passed(("r", 1), 6)
    assert c.done


def test_targets_of_an_older_assignment_are_not_taken() -> None:
    c = CatchUp()
    c.restart()
    old = c.generation
    c.restart()  # another rebalance while the end offsets were being read
    assert not c.set_targets({("r", 0): 0}, old)
    assert not c.known
    assert c.set_targets({("r", 0): 0}, c.generation) and c.done


def test_a_new_assignment_waits_again() -> None:
    c = _started({("r", 0): 1}, acked=[Rec("r", 0, 0)])
    assert c.done
    c.restart()
    assert not c.done
    assert c.set_targets({("r", 0): 3}, c.generation) and c.waiting() == [("r", 0)]
