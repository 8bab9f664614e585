"""The index of pending deadlines that the SLA sweep consults.

A min-heap of ``(due, case_id, partition)``: a sweep that finds nothing due looks at the top
entry only (O(1)); each due entry costs O(log n). So a tick's cost grows with the cases that are
due, not with all open cases. Entries may be stale (the case was answered, or its deadline moved):
the caller re-checks the case itself and re-indexes its next deadline (see ``next_due``).

The index holds an entry for every open case of the partitions held: it is the only per-case
memory of a worker on RocksDB. Each entry is one bytes object, the due time (big-endian, so that
bytes order is time order), the partition and the case id: 85 bytes with its slot in the heap
for the case ids of the benchmark's feed (a platform name and 24 hex digits, 31 characters on
average), where a tuple of a float, a string and an int took 154 (tracemalloc): 7 MB less for
100,000 open cases (tests/core/test_cases.py keeps it under 100 bytes).
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Iterable
from typing import Final

from router.core.cases import Case, pending_deadlines


def next_due(case: Case) -> float | None:
    """The earliest deadline of the case that can still be breached, or None."""
    due = None
    for when, _ in pending_deadlines(case):
        if due is None or when < due:
            due = when
    return due


# An entry's head: the due time and the partition. Big-endian IEEE 754 doubles of zero or more
# compare as bytes as they do as numbers (sign bit clear, then exponent, then mantissa).
_HEAD: Final = struct.Struct(">dI")
_SIZE: Final = _HEAD.size


def _entry(due: float, case_id: str, partition: int) -> bytes:
    # a time before the epoch is kept as the epoch (and a NaN too): it is due at once either way,
    # and the sweep re-checks the case itself
    return _HEAD.pack(due if due > 0.0 else 0.0, partition) + case_id.encode()


def _fields(entry: bytes) -> tuple[float, str, int]:
    due, partition = _HEAD.unpack_from(entry)
    return due, entry[_SIZE:].decode(), partition


class DeadlineIndex:
    """Pending deadlines of the cases this worker holds. Not thread-safe (one event loop)."""

    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[bytes] = []

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: float, case_id: str, partition: int) -> None:
        heapq.heappush(self._heap, _entry(due, case_id, partition))

    def peek(self) -> float | None:
        return _HEAD.unpack_from(self._heap[0])[0] if self._heap else None  # type: ignore[no-any-return]

    def entries(self) -> list[tuple[float, str, int]]:
        """Every entry as ``(due, case_id, partition)``, in no particular order (for tests and tools)."""
        return [_fields(entry) for entry in self._heap]

    def pop_due(self, now: float, limit: int = 10_000) -> list[tuple[float, str, int]]:
        """Remove and return the entries due at ``now`` (at most ``limit``, earliest first)."""
        heap = self._heap
        out: list[tuple[float, str, int]] = []
        head = _HEAD.unpack_from
        while heap and head(heap[0])[0] <= now and len(out) < limit:
            out.append(_fields(heapq.heappop(heap)))
        return out

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        """Forget the entries of partitions this worker no longer holds (O(n), on rebalance only)."""
        gone = set(partitions)
        if gone:
            head = _HEAD.unpack_from
            self._heap = [entry for entry in self._heap if head(entry)[1] not in gone]
            heapq.heapify(self._heap)
