"""When a worker may sweep deadlines after it has been given partitions: once it has read again
the answers that were waiting for it.

A worker that crashed, or a partition that moved, leaves records of the cases lane (answers,
forwarded reports) that were published, perhaps in time, but not yet applied to the cases table
the new owner recovers. Swept before they are read, a deadline that passed meanwhile raises a
breach for an answer that came in time. So after each assignment the worker notes the end offset
of every cases-lane partition it was given, and sweeps only once it has acknowledged the records
up to there (or its consumer's position has passed them: a partition with nothing to read, or
one that ends with records the client never delivers, such as transaction markers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Partition = tuple[str, int]


class CatchUp:
    """The end offsets to reach before sweeping (``None``: not read yet since the last assignment)
    and the offsets acknowledged so far. Not thread-safe (one event loop)."""

    __slots__ = ("_generation", "_progress", "_targets")

    def __init__(self) -> None:
        self._targets: dict[Partition, int] | None = None
        self._progress: dict[Partition, int] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Changes at each ``restart``: targets read for an older assignment are not taken."""
        return self._generation

    def restart(self) -> None:
        """A new assignment: sweeping waits until its end offsets are known and reached."""
        self._targets = None
        self._generation += 1

    def set_targets(self, ends: Mapping[Any, int | None], generation: int) -> bool:
        """The end offsets of the assignment of ``generation``, read from the broker; False (and
        ignored) when another assignment came meanwhile."""
        if generation != self._generation:
            return False
        progress = self._progress
        self._targets = {(tp[0], tp[1]): end for tp, end in ends.items()
                         if end and progress.get((tp[0], tp[1]), 0) < end}
        return True

    def acknowledged(self, records: Iterable[Any]) -> None:
        """Records of the cases lane applied and their results stored (any order of partitions)."""
        progress = self._progress
        for record in records:
            where = (record.topic, record.partition)
            if record.offset >= progress.get(where, 0):
                progress[where] = record.offset + 1
        targets = self._targets
        if targets:
            for where in [w for w, end in targets.items() if progress.get(w, 0) >= end]:
                del targets[where]

    def passed(self, where: Partition, position: int | None) -> None:
        """The consumer's position in ``where``: at or past its end offset, nothing is left to read."""
        end = self._targets.get(where) if self._targets else None
        if end is not None and position is not None and position >= end:
            del self._targets[where]

    def waiting(self) -> list[Partition]:
        """The partitions still to be read up to their end offset (empty when the targets are not
        known yet: see ``known``)."""
        return sorted(self._targets or ())

    @property
    def known(self) -> bool:
        return self._targets is not None

    @property
    def done(self) -> bool:
        """Whether deadlines may be swept."""
        return self._targets is not None and not self._targets
