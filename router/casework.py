"""The cases side of the router: what happens to a report once it reaches the owner of its case
partition, to a platform's response, and to a deadline.

Synchronous by design: every method reads and writes the table state and fills an ``Outbox``
without awaiting, so two steps on one case never interleave. The lane runner and the SLA timer
publish the outbox (events first, then state) and acknowledge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from router.core import stats as st
from router.core.cases import Case, apply_response, attach, due_breaches, mark_breached
from router.core.deadlines import DeadlineIndex, next_due
from router.core.platforms import UNKNOWN
from router.core.policy import SlaPolicy
from router.events import Topics, breach, ce_headers, dumps, receipt
from router.output import Outbox
from router.state import TableState

if TYPE_CHECKING:
    from router.prepare import Ready

__all__ = ["UNOPENED", "CaseWork", "Topics", "WorkerCounters"]

log = structlog.get_logger("router.cases")

UNOPENED = "unopened"  # ``CaseWork.report``: no case, and no records to open one with


@dataclass(slots=True)
class WorkerCounters:
    """Counts of this worker process (they start at zero with the process)."""

    received: int = 0
    rejected: int = 0
    rejected_decode: int = 0
    rejected_validation: int = 0
    rejected_processing: int = 0
    duplicates: int = 0
    responses: int = 0
    responses_invalid: int = 0
    responses_unknown_case: int = 0
    responses_out_of_order: int = 0
    responses_after_close: int = 0
    breaches_emitted: int = 0
    reloads: int = 0
    reloads_failed: int = 0
    acknowledged_intake: int = 0
    acknowledged_cases: int = 0
    intake_batches_worker: int = 0  # intake batches prepared in this process (not by a helper)
    intake_reprepared: int = 0  # reports a helper took for repeats of a case that was not there
    routed_by_platform: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if k != "routed_by_platform"}  # type: ignore[attr-defined]


def stats_key(partition: int) -> str:
    return f"partition-{partition}"


class CaseWork:
    def __init__(self, *, cases: TableState[Case], stats: TableState[st.PartitionStats], policy: SlaPolicy,
                 topics: Topics, counters: WorkerCounters, index: DeadlineIndex, retention_s: float,
                 on_actioned_account: Any = None) -> None:
        self.cases = cases
        self.stats = stats
        self.policy = policy
        self.topics = topics
        self.counters = counters
        self.index = index
        self.retention_s = retention_s
        self._stats: dict[int, st.PartitionStats] = {}
        self._dirty: set[int] = set()
        # cases opened since the last flush, counted by (partition, platform, groups): the figures
        # are updated once per kind and batch rather than once per case
        self._opened: dict[tuple[int, str, tuple[str, ...]], int] = {}
        self._on_actioned_account = on_actioned_account

    # --- per-partition figures -------------------------------------------------------------
    def partition_stats(self, partition: int) -> st.PartitionStats:
        figures = self._stats.get(partition)
        if figures is None:
            figures = self.stats.get(partition, stats_key(partition)) or st.PartitionStats()
            self._stats[partition] = figures
        return figures

    def _touch(self, partition: int) -> st.PartitionStats:
        self._dirty.add(partition)
        return self.partition_stats(partition)

    def flush_stats(self, out: Outbox) -> None:
        """Persist the figures of the partitions changed since the last flush (once per batch)."""
        if self._opened:
            opened, self._opened = self._opened, {}
            for (partition, platform, groups), n in opened.items():
                st.on_routed(self._touch(partition), platform, groups, n)
        for partition in sorted(self._dirty):
            self.stats.put(partition, stats_key(partition), self._stats[partition], out)
        self._dirty.clear()

    def forget_partitions(self, partitions: set[int]) -> None:
        for partition in partitions:
            self._stats.pop(partition, None)
            self._dirty.discard(partition)
        self._opened = {kind: n for kind, n in self._opened.items() if kind[0] not in partitions}
        self.index.drop_partitions(partitions)

    def index_partition(self, partition: int) -> int:
        """Put the pending deadlines of a newly held partition into the index (after recovery)."""
        n = 0
        for case_id, case in self.cases.items(partition):
            due = self._due(case)
            if due is not None:
                self.index.push(due, case_id, partition)
                n += 1
        return n

    def _due(self, case: Case) -> float | None:
        due = next_due(case)
        if due is None and case.status == "closed" and case.actioned_at is not None:
            due = case.actioned_at + self.retention_s  # forget closed cases after the retention
        return due

    def _save(self, partition: int, before: Case | None, case: Case, out: Outbox) -> None:
        self.cases.put(partition, case.case_id, case, out)
        due = self._due(case)
        if due is not None and (before is None or self._due(before) != due):
            self.index.push(due, case.case_id, partition)

    # --- reports ---------------------------------------------------------------------------
    def report(self, ready: Ready, now: float, out: Outbox) -> tuple[str, str]:
        """Open a case with the records ``ready`` holds, or attach the report to its case. Returns
        (outcome, topic) for the log; outcome ``UNOPENED``, with nothing done, when there is no case
        and ``ready`` has no opening records (then prepare the report in full and call again)."""
        partition, case_id, platform = ready.partition, ready.case_id, ready.platform
        topic = self.topics.outbound(platform)
        case = self.cases.get(partition, case_id)
        if case is None:
            if not ready.case:  # prepared without its opening records: the case was expected to exist
                return UNOPENED, topic
            source = self.topics.source
            out.emit(topic, case_id.encode(), ready.routed, ce_headers("report.routed/v1", case_id, source, now),
                     hash=ready.case_hash)
            self.cases.put_raw(partition, case_id, ready.case, out)
            self.index.push(ready.due, case_id, partition)
            opened = self._opened
            kind = (partition, platform, ready.groups)
            opened[kind] = opened.get(kind, 0) + 1
            by_platform = self.counters.routed_by_platform
            by_platform[platform] = by_platform.get(platform, 0) + 1
            outcome = "review" if platform == UNKNOWN else "routed"
            out.emit(self.topics.receipts, ready.report_id.encode(), ready.receipt,
                     ce_headers("report.receipt/v1", f"receipt:{ready.report_id}:{outcome}", source, now),
                     hash=ready.report_hash)
            return outcome, topic
        updated, how = attach(case, ready.report_id)
        if how == "replay":
            outcome = "review" if case.platform == UNKNOWN else "routed"
            self.counters.duplicates += 1
        elif how == "duplicate":
            outcome = "attached"
            self.counters.duplicates += 1
        else:
            outcome = "attached"
            self._save(partition, case, updated, out)
            st.on_attached(self._touch(partition), case.platform, case.group_ids)
        prepared = ready.receipt if outcome == "attached" and not ready.case else None  # the attached receipt
        self._receipt(ready.report_id, outcome, case_id, topic, now, out, ready.report_hash, prepared)
        return outcome, topic

    def _receipt(self, report_id: str, outcome: str, case_id: str, topic: str, now: float, out: Outbox,
                 report_hash: int | None = None, value: bytes | None = None) -> None:
        """Emit a report's receipt (``value``: the receipt already encoded, else built here)."""
        if value is None:
            value = dumps(receipt(report_id, outcome, case_id, topic, now))
        out.emit(self.topics.receipts, report_id.encode(), value,
                 ce_headers("report.receipt/v1", f"receipt:{report_id}:{outcome}", self.topics.source, now),
                 hash=report_hash)

    # --- platform responses ------------------------------------------------------------------
    def response(self, case_id: str, platform: str, status: str, at: float, reference: str | None,
                 account: str | None, partition: int, now: float, out: Outbox) -> str:
        """Apply a response. Returns what happened (for the log and the counters)."""
        self.counters.responses += 1
        case = self.cases.get(partition, case_id)
        if case is None or case.platform != platform:
            self.counters.responses_unknown_case += 1
            return "unknown_case"
        updated, effect = apply_response(case, status, at, now, reference)
        if effect.out_of_order:
            self.counters.responses_out_of_order += 1
        if effect.late_after_close:
            self.counters.responses_after_close += 1
        self._save(partition, case, updated, out)
        if effect.acknowledged or effect.actioned:
            st.on_response(
                self._touch(partition), case.platform, case.group_ids,
                acknowledged=effect.acknowledged, ack_in_time=effect.ack_in_time, time_to_ack=effect.time_to_ack,
                actioned=effect.actioned, action_in_time=effect.action_in_time,
                time_to_action=effect.time_to_action,
            )
        if effect.actioned and status in ("removed", "restricted") and self._on_actioned_account is not None:
            actioned = account or case.account
            if actioned:
                self._on_actioned_account(case.platform, actioned, out)
        if effect.late_after_close:
            return "after_close"
        return "out_of_order" if effect.out_of_order else "applied"

    # --- deadlines ---------------------------------------------------------------------------
    def sweep(self, now: float, held: set[int], out: Outbox, limit: int = 10_000) -> list[str]:
        """Raise the breaches due at ``now`` in the partitions held; forget expired closed cases.
        Returns the stages of the breaches raised. Cost: O(due entries x log n); nothing due costs
        one comparison."""
        raised: list[str] = []
        for _, case_id, partition in self.index.pop_due(now, limit):
            if partition not in held:
                continue
            case = self.cases.get(partition, case_id)
            if case is None:
                continue
            before = case
            for stage, due in due_breaches(case, now):
                out.emit(self.topics.breaches, case_id.encode(), dumps(breach(case, stage, due, now)),
                         ce_headers("sla.breach/v1", f"{case_id}:{stage}", self.topics.source, now))
                case = mark_breached(case, stage)
                st.on_breach(self._touch(partition), case.platform, case.group_ids, stage)
                raised.append(stage)
            if case is not before:
                self._save(partition, before, case, out)
            elif case.status == "closed" and case.actioned_at is not None and \
                    now >= case.actioned_at + self.retention_s:
                self.cases.delete(partition, case_id, out)
            # otherwise the entry was stale: the case's current deadline was indexed when it changed
        self.counters.breaches_emitted += len(raised)
        return raised
