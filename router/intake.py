"""The two lane processors: intake (reports.submitted) and cases (the internal cases topic and
platform.responses). Each takes a batch of raw messages and returns an Outbox; neither awaits.

Intake runs in two halves. The stateless half (``router.prepare``: limits, UTF-8, JSON, contract,
enrichment, the records of a new case) runs in helper processes when the worker has them
(``router.pool``), else here. The stateful half (``Intake.process``) takes the prepared batch in
order: when this worker holds the case's partition the case step runs here at once; otherwise the
enriched report goes to the internal cases topic, keyed and partitioned by case id, for the worker
that holds it. A rejected record goes to the dead-letter topic with its exact bytes and gets a
``rejected`` receipt; an unexpected error in enrichment does the same (kind ``processing``), so
one bad record never stops the lane.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson
import structlog

from router.casework import UNOPENED, CaseWork, WorkerCounters
from router.core.enrich import Enriched
from router.decode import Rejection, decode_response
from router.events import ce_headers, deadletter, dumps, receipt
from router.logs import RecordLog
from router.output import Outbox
from router.prepare import Failed, Forward, Prepared, Preparer, Ready, Rejected, ready_for, safe_traceback

errlog = structlog.get_logger("router.errors")

PreparedBatch = tuple[float, list[Prepared]]  # (now, one result per message)


class PreparePool(Protocol):
    async def prepare(self, values: list[bytes | None], now: float) -> list[Prepared]: ...


class Intake:
    def __init__(self, *, preparer: Preparer, casework: CaseWork, counters: WorkerCounters, receipts_topic: str,
                 deadletter_topic: str, cases_topic: str, holds: Callable[[int], bool], source: str,
                 clock: Callable[[], float], records: RecordLog | None = None, pool: PreparePool | None = None) -> None:
        self.preparer = preparer
        self.casework = casework
        self.counters = counters
        self.receipts_topic = receipts_topic
        self.deadletter_topic = deadletter_topic
        self.cases_topic = cases_topic
        self.holds = holds
        self.source = source
        self.clock = clock
        self.records = records or RecordLog()
        self.pool = pool

    def _prepare_here(self, messages: Sequence[Any]) -> PreparedBatch:
        now = self.clock()
        self.counters.intake_batches_worker += 1
        return now, self.preparer.prepare([m.value for m in messages], now)

    async def prepare(self, messages: Sequence[Any]) -> PreparedBatch:
        """The stateless half of a batch, in a helper process when there is one."""
        if self.pool is None:
            return self._prepare_here(messages)
        now = self.clock()
        return now, await self.pool.prepare([m.value for m in messages], now)

    def process(self, messages: Sequence[Any], prepared: PreparedBatch | None = None) -> Outbox:
        """The stateful half: route or reject each message in order (preparing the batch here first
        when it comes unprepared)."""
        now, results = prepared if prepared is not None else self._prepare_here(messages)
        out = Outbox()
        counters = self.counters
        for message, result in zip(messages, results, strict=True):
            counters.received += 1
            if type(result) is Ready or type(result) is Forward:
                self.route(message, result, now, out)  # type: ignore[arg-type]
            elif type(result) is Rejected:
                self.reject(message, Rejection(result.kind, result.detail, result.report_id), now, out)  # type: ignore[arg-type]
            else:
                self.reject(message, self._failure(message, result), now, out)  # type: ignore[arg-type]
        self.casework.flush_stats(out)
        self.records.flush()
        return out

    @staticmethod
    def _failure(message: Any, failed: Failed) -> Rejection:
        """An unexpected error in enrichment: logged (without the exception's message, which could
        quote input values) and rejected as ``processing``."""
        errlog.error("enrichment.failed", topic=message.topic, partition=message.partition,
                     offset=message.offset, error=failed.error, where=failed.where)
        return Rejection("processing", ["enrichment failed on this record (see the worker log)"], failed.report_id)

    def route(self, message: Any, result: Ready | Forward, now: float, out: Outbox) -> None:
        """The case step here when this worker holds the case's partition, else forward to its holder.
        The preparation's view of the partitions held may be a moment old (a rebalance in between):
        then the record is prepared again here, for the current view."""
        if self.holds(result.partition) != (type(result) is Ready):
            result = self.preparer.prepare([message.value], now)[0]  # type: ignore[assignment]
            if type(result) not in (Ready, Forward):  # pragma: no cover - the same input prepared again
                raise RuntimeError("a record prepared twice gave different results")
        if type(result) is Ready:
            outcome, topic = self.casework.report(result, now, out)  # type: ignore[arg-type]
            if outcome == UNOPENED:  # the helper took the case for one that exists: prepared again, in full
                self.counters.intake_reprepared += 1
                result = self.preparer.prepare([message.value], now)[0]  # type: ignore[assignment]
                if type(result) is not Ready or not result.case:  # pragma: no cover - the worker's own preparer
                    raise RuntimeError("a record prepared again here came without its case's records")
                outcome, topic = self.casework.report(result, now, out)
            if self.records.enabled:
                if result.line and outcome != "attached":  # type: ignore[union-attr]  # rendered by the helper
                    self.records.add(result.line, message.partition, message.offset)  # type: ignore[union-attr]
                    return
                self.records("record", report_id=result.report_id, case_id=result.case_id, outcome=outcome,
                             topic=topic, platform=result.platform, partition=message.partition,
                             offset=message.offset)
        else:
            out.emit(self.cases_topic, result.case_id.encode(), result.internal, partition=result.partition)  # type: ignore[union-attr]
            if self.records.enabled:
                self.records("record", report_id=result.report_id, case_id=result.case_id, outcome="forwarded",
                             platform=result.platform, partition=message.partition, offset=message.offset)

    def reject(self, message: Any, rejection: Rejection, now: float, out: Outbox) -> None:
        counters = self.counters
        counters.rejected += 1
        setattr(counters, f"rejected_{rejection.kind}", getattr(counters, f"rejected_{rejection.kind}") + 1)
        where = f"{message.topic}:{message.partition}:{message.offset}"
        out.emit(self.deadletter_topic, message.key, dumps(deadletter(
            topic=message.topic, partition=message.partition, offset=message.offset, key=message.key,
            value=message.value, kind=rejection.kind, detail=rejection.detail, at=now)),
            ce_headers("report.deadletter/v1", f"dlq:{where}", self.source, now))
        key = rejection.report_id or where
        out.emit(self.receipts_topic, key.encode(),
                 dumps(receipt(rejection.report_id, "rejected", None, self.deadletter_topic, now, rejection.reason)),
                 ce_headers("report.receipt/v1", f"receipt:{key}:rejected", self.source, now))
        if self.records.enabled:
            self.records("record", report_id=rejection.report_id, outcome="rejected", kind=rejection.kind,
                         reason=rejection.reason, partition=message.partition, offset=message.offset)


def _internal_report_id(value: bytes | None) -> str | None:
    try:
        data = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    report_id = data.get("report_id") if isinstance(data, dict) else None
    return report_id if isinstance(report_id, str) and len(report_id) <= 128 else None


class CaseLane:
    """Processes the internal cases topic and platform.responses (co-partitioned with the table)."""

    def __init__(self, *, casework: CaseWork, counters: WorkerCounters, cases_topic: str, responses_topic: str,
                 deadletter_topic: str, receipts_topic: str, max_bytes: int, source: str,
                 clock: Callable[[], float], records: RecordLog | None = None) -> None:
        self.casework = casework
        self.receipts_topic = receipts_topic
        self.counters = counters
        self.cases_topic = cases_topic
        self.responses_topic = responses_topic
        self.deadletter_topic = deadletter_topic
        self.max_bytes = max_bytes
        self.source = source
        self.clock = clock
        self.records = records or RecordLog()

    def process(self, messages: Sequence[Any]) -> Outbox:
        out = Outbox()
        now = self.clock()
        for message in messages:
            try:
                if message.topic == self.cases_topic:
                    self._report(message, now, out)
                else:
                    self._response(message, now, out)
            except Rejection as rejection:
                self._deadletter(message, rejection, now, out)
            except Exception as exc:
                errlog.error("case_step.failed", topic=message.topic, partition=message.partition,
                             offset=message.offset, error=type(exc).__name__, where=safe_traceback(exc))
                self._deadletter(message, Rejection("processing", ["processing failed (see the worker log)"]), now, out)
        self.casework.flush_stats(out)
        self.records.flush()
        return out

    def _report(self, message: Any, now: float, out: Outbox) -> None:
        try:
            item = Enriched.from_dict(orjson.loads(message.value))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise Rejection("decode", ["internal cases record is malformed"]) from None
        casework = self.casework
        outcome, topic = casework.report(ready_for(item, now, casework.policy, casework.topics, message.partition),
                                         now, out)
        if self.records.enabled:
            self.records("record", report_id=item.report_id, case_id=item.case_id, outcome=outcome, topic=topic,
                         platform=item.platform, partition=message.partition, offset=message.offset)

    def _response(self, message: Any, now: float, out: Outbox) -> None:
        try:
            response = decode_response(message.value, self.max_bytes)
        except Rejection:
            self.counters.responses_invalid += 1
            raise
        what = self.casework.response(
            response.case_id, response.platform, response.status, response.at.timestamp(), response.reference,
            response.account, message.partition, now, out)
        if self.records.enabled:
            self.records("response", case_id=response.case_id, platform=response.platform, status=response.status,
                         outcome=what, partition=message.partition, offset=message.offset)

    def _deadletter(self, message: Any, rejection: Rejection, now: float, out: Outbox) -> None:
        where = f"{message.topic}:{message.partition}:{message.offset}"
        if message.topic == self.cases_topic:
            # the report came through intake: it still gets its one receipt
            report_id = _internal_report_id(message.value)
            key = report_id or where
            out.emit(self.receipts_topic, key.encode(),
                     dumps(receipt(report_id, "rejected", None, self.deadletter_topic, now, rejection.reason)),
                     ce_headers("report.receipt/v1", f"receipt:{key}:rejected", self.source, now))
        out.emit(self.deadletter_topic, message.key, dumps(deadletter(
            topic=message.topic, partition=message.partition, offset=message.offset, key=message.key,
            value=message.value, kind=rejection.kind, detail=rejection.detail, at=now)),
            ce_headers("report.deadletter/v1", f"dlq:{where}", self.source, now))
        if self.records.enabled:
            self.records("record", outcome="rejected", topic=message.topic, kind=rejection.kind,
                         reason=rejection.reason, partition=message.partition, offset=message.offset)
