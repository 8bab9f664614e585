"""Intake's stateless half: a batch of raw report records to what the case step needs.

Decoding, validation, enrichment, the case's partition, and the records a new case publishes
(its routed record, the receipt, its changelog value, its first deadline): all functions of the
batch, ``now`` and the data files (platforms, watchlist, SLA policy, known banned accounts). Nothing
here reads the cases table or the clock, so the work can run in helper processes beside the worker
(``router.pool``), each on a core of its own, while the worker does the stateful half (the case
step, Kafka). A new case's records are built speculatively: the case step publishes them when the
table has no case for the target, and builds a repeat's receipt itself. A helper remembers the
cases it prepared lately (``RecentCases``): for a report of one of them it builds the ``attached``
receipt instead, and leaves the opening records out; should the case not exist after all (closed
and forgotten, or a hash collision), the case step prepares the report again, in full.

Results are flat named tuples of strings, numbers and bytes: cheap to send between processes.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from router.core.cases import opened_fields
from router.core.enrich import Enriched, Enricher
from router.core.platforms import UNKNOWN
from router.core.policy import SlaPolicy
from router.core.urls import UrlError
from router.decode import Rejection, decode_report
from router.events import Topics, dumps, internal_report, receipt, routed
from router.logs import record_fragment
from router.output import key_hash


class Rejected(NamedTuple):
    """The record breaks the contract (or its URL cannot be resolved): a dead letter."""

    kind: str
    detail: list[str]
    report_id: str | None


class Failed(NamedTuple):
    """Enrichment raised unexpectedly on a valid report (a bug or bad data): logged by the worker
    and dead-lettered with kind ``processing``. ``where`` has the frames only: no values."""

    report_id: str
    error: str
    where: str


class Ready(NamedTuple):
    """A valid report for a case partition this worker holds, with what opening its case takes
    (or, when ``case`` is empty, not: the preparer saw its case lately, ``receipt`` is then the
    report's ``attached`` receipt)."""

    report_id: str
    case_id: str
    platform: str
    partition: int  # of the cases table (ROUTER_PARTITIONS)
    case_hash: int  # Kafka's partitioner hash of the case id (the key of the routed record)
    report_hash: int  # and of the report id (the key of the receipt)
    groups: tuple[str, ...]  # group ids, for the statistics of the case it opens (empty when ``case`` is)
    routed: bytes  # the new case's report.routed/v1 value
    receipt: bytes  # the receipt of the report that opens it (``attached``, when ``case`` is empty)
    case: bytes  # its changelog value; b"": not built (the case was prepared lately)
    due: float  # its first deadline
    line: bytes  # its record log line's fields (``router.logs.record_fragment``), or b"" (not logged so)


class Forward(NamedTuple):
    """A valid report for a case partition another worker holds: the internal record to send it."""

    report_id: str
    case_id: str
    platform: str
    partition: int
    internal: bytes


Prepared = Rejected | Failed | Ready | Forward

_KINDS = (Rejected, Failed, Ready, Forward)
_KIND_OF = {cls: number for number, cls in enumerate(_KINDS)}
_SIZES = tuple(len(cls._fields) for cls in _KINDS)
Packed = tuple[bytes, list[tuple[object, ...]]]


def pack(results: Sequence[Prepared]) -> Packed:
    """Results as plain tuples and a kind byte each, for the pipe from a helper: built-in types
    only, which ``router.helper.frame`` marshals (named tuples it would have to pickle, at a Python
    call per result on both sides)."""
    kind_of = _KIND_OF
    return bytes([kind_of[type(r)] for r in results]), [tuple(r) for r in results]


def unpack(packed: Packed) -> list[Prepared]:
    """The inverse of ``pack``; raises ``ValueError`` on anything else."""
    kinds, rows = packed
    if len(kinds) != len(rows):
        raise ValueError("kinds and results differ in number")
    new, classes, sizes = tuple.__new__, _KINDS, _SIZES
    out: list[Prepared] = []
    for kind, row in zip(kinds, rows, strict=True):
        if kind >= len(sizes) or type(row) is not tuple or len(row) != sizes[kind]:
            raise ValueError("a result of the wrong shape")
        out.append(new(classes[kind], row))  # type: ignore[arg-type]  # (a named tuple of that kind)
    return out


def ready_for(item: Enriched, now: float, policy: SlaPolicy, topics: Topics, partition: int,
              case_hash: int | None = None, line: bool = False) -> Ready:
    """What the case step needs of ``item`` at ``now`` in its case ``partition`` (a pure function of
    its arguments). Its JSON values are bytes of exactly their own size (``router.events.dumps``):
    orjson's own keep its 4-8 KiB output buffer each, which a batch's results, held until the
    answer is framed, multiplied into some 20 MB more in each helper."""
    case = opened_fields(
        case_id=item.case_id, platform=item.platform, url=item.url, account=item.account, kind=item.kind,
        report_id=item.report_id, groups=item.groups, origins=item.origins, mirror_of=item.mirror_of,
        priority=item.priority, requested_actions=item.requested_actions, legal_basis=item.legal_basis,
        deadlines=policy.deadlines(item.platform, item.priority), now=now,
    )
    if case_hash is None:
        case_hash = key_hash(item.case_id.encode())
    outcome = "review" if item.platform == UNKNOWN else "routed"
    topic = topics.outbound(item.platform)
    return Ready(
        item.report_id, item.case_id, item.platform, partition, case_hash,
        key_hash(item.report_id.encode()), tuple([g["id"] for g in item.groups]), dumps(routed(case)),
        dumps(receipt(item.report_id, outcome, item.case_id, topic, now)),
        dumps(case), min(case["ack_due"], case["action_due"]),
        record_fragment(report_id=item.report_id, case_id=item.case_id, outcome=outcome, topic=topic,
                        platform=item.platform) if line else b"",
    )


def attached_for(item: Enriched, now: float, topics: Topics, partition: int, case_hash: int) -> Ready:
    """What the case step needs of ``item`` when its case most likely exists: no opening records, the
    ``attached`` receipt (the case step prepares the report again when the case is not there)."""
    topic = topics.outbound(item.platform)
    return Ready(
        item.report_id, item.case_id, item.platform, partition, case_hash, key_hash(item.report_id.encode()),
        (), b"",  # (group ids serve the figures of an opened case only)
        dumps(receipt(item.report_id, "attached", item.case_id, topic, now)), b"", 0.0, b"",
    )


class RecentCases:
    """The cases a preparer built opening records for lately, by their key hash: a hint that the
    case exists by now, never a decision (the case step reads the table). Two generations of at most
    ``size`` hashes each, the older dropped when the newer is full: about 50 bytes a case (3 MB
    for the default size, measured with tracemalloc)."""

    __slots__ = ("_new", "_old", "size")

    def __init__(self, size: int = 32_768) -> None:
        self.size = size
        self._new: set[int] = set()
        self._old: set[int] = set()

    def seen(self, case_hash: int) -> bool:
        """Whether ``case_hash`` was seen lately; remembers it either way."""
        if case_hash in self._new:
            return True
        known = case_hash in self._old
        self._new.add(case_hash)
        if len(self._new) >= self.size:
            self._old, self._new = self._new, set()
        return known


def forward_for(item: Enriched, now: float, partition: int) -> Forward:
    return Forward(item.report_id, item.case_id, item.platform, partition, internal_report(item, now))


def safe_traceback(exc: BaseException) -> str:
    """The traceback's frames (file, line, function) without locals or the exception message,
    which could quote input values."""
    frames = traceback.extract_tb(exc.__traceback__)
    return " | ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in frames[-8:])


def _failure(report_id: str, exc: Exception) -> Rejected | Failed:
    if isinstance(exc, UrlError):
        return Rejected("validation", [f"url: {exc}"], report_id)
    return Failed(report_id, type(exc).__name__, safe_traceback(exc))


class Preparer:
    """Holds the data the preparation needs. ``holds(partition)``: whether the worker holds a case
    partition (its view may be a moment old: the case step copes with either answer). ``lines``:
    render each new case's record log line here (when the worker writes them batched). ``recent``:
    cases prepared lately, whose reports get no opening records (a helper's; the worker's own
    preparer has none)."""

    def __init__(self, *, enricher: Enricher, policy: SlaPolicy, topics: Topics, partitions: int, max_bytes: int,
                 holds: Callable[[int], bool], lines: bool = False, recent: RecentCases | None = None) -> None:
        self.enricher = enricher
        self.policy = policy
        self.topics = topics
        self.partitions = partitions
        self.max_bytes = max_bytes
        self.holds = holds
        self.lines = lines
        self.recent = recent

    def prepare(self, values: Sequence[bytes | None], now: float) -> list[Prepared]:
        """One result per value, in order. Never raises for one bad record."""
        max_bytes = self.max_bytes
        decoded: list[Any] = []
        for raw in values:
            try:
                decoded.append(decode_report(raw, max_bytes))
            except Rejection as rejection:  # kept without its traceback, which would hold this frame
                decoded.append(Rejected(rejection.kind, rejection.detail, rejection.report_id))
        enriched = iter(self.enricher.enrich_many([d for d in decoded if not isinstance(d, Rejected)]))
        policy, topics, partitions, holds, lines = self.policy, self.topics, self.partitions, self.holds, self.lines
        seen = self.recent.seen if self.recent is not None else None
        results: list[Prepared] = []
        for report in decoded:
            if isinstance(report, Rejected):
                results.append(report)
                continue
            item = next(enriched)
            if not isinstance(item, Exception):
                try:
                    case_hash = key_hash(item.case_id.encode())
                    partition = case_hash % partitions
                    if not holds(partition):
                        results.append(forward_for(item, now, partition))
                    elif seen is not None and seen(case_hash):
                        results.append(attached_for(item, now, topics, partition, case_hash))
                    else:
                        results.append(ready_for(item, now, policy, topics, partition, case_hash, lines))
                    continue
                except Exception as exc:
                    item = exc
            results.append(_failure(report.report_id, item))  # type: ignore[attr-defined]
            item.__traceback__ = None  # it would tie the enrichment's frames (and the batch) in a cycle
        return results
