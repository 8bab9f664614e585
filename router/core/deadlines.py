"""The index of pending deadlines that the SLA sweep consults.

A min-heap of ``(due, case_id, partition)``: a sweep that finds nothing due looks at the top
entry only (O(1)); each due entry costs O(log n). So a tick's cost grows with the cases that are
due, not with all open cases. Entries may be stale (the case was answered, or its deadline moved):
the caller re-checks the case itself and re-indexes its next deadline (see ``next_due``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from router.core.cases import Case, pending_deadlines


def next_due(case: Case) -> float | None:
    """The earliest deadline of the case that can still be breached, or None."""
    due = None
    for when, _ in pending_deadlines(case):
        if due is None or when < due:
            due = when
    return due


class DeadlineIndex:
    """Pending deadlines of the cases this worker holds. Not thread-safe (one event loop)."""

    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[tuple[float, str, int]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: float, case_id: str, partition: int) -> None:
        heapq.heappush(self._heap, (due, case_id, partition))

    def peek(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float, limit: int = 10_000) -> list[tuple[float, str, int]]:
        """Remove and return the entries due at ``now`` (at most ``limit``, earliest first)."""
        heap = self._heap
        out: list[tuple[float, str, int]] = []
        while heap and heap[0][0] <= now and len(out) < limit:
            out.append(heapq.heappop(heap))
        return out

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        """Forget the entries of partitions this worker no longer holds (O(n), on rebalance only)."""
        gone = set(partitions)
        if gone:
            self._heap = [entry for entry in self._heap if entry[2] not in gone]
            heapq.heapify(self._heap)
