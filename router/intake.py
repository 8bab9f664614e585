"""The two lane processors: intake (reports.submitted) and cases (the internal cases topic and
platform.responses). Each takes a batch of raw messages and returns an Outbox; neither awaits.

Intake: raw bytes -> limits, UTF-8, JSON, contract -> enrichment -> the case partition. When this
worker holds that partition the case step runs here at once; otherwise the enriched report goes
to the internal cases topic, keyed and partitioned by case id, for the worker that holds it.
A rejected record goes to the dead-letter topic with its exact bytes and gets a ``rejected``
receipt; an unexpected error in enrichment does the same (kind ``processing``), so one bad record
never stops the lane.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import structlog

from router.casework import CaseWork, WorkerCounters
from router.core.enrich import Enriched, Enricher
from router.core.urls import UrlError
from router.decode import Rejection, decode_report, decode_response
from router.events import ce_headers, deadletter, dumps, internal_report, receipt
from router.logs import RecordLog
from router.output import Outbox, partition_for_key

errlog = structlog.get_logger("router.errors")


def _safe_traceback(exc: BaseException) -> str:
    """The traceback's frames (file, line, function) without locals or the exception message,
    which could quote input values."""
    frames = traceback.extract_tb(exc.__traceback__)
    return " | ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in frames[-8:])


class Intake:
    def __init__(self, *, enricher: Enricher, casework: CaseWork, counters: WorkerCounters, receipts_topic: str,
                 deadletter_topic: str, cases_topic: str, partitions: int, holds: Callable[[int], bool],
                 max_bytes: int, source: str, clock: Callable[[], float], records: RecordLog | None = None) -> None:
        self.enricher = enricher
        self.casework = casework
        self.counters = counters
        self.receipts_topic = receipts_topic
        self.deadletter_topic = deadletter_topic
        self.cases_topic = cases_topic
        self.partitions = partitions
        self.holds = holds
        self.max_bytes = max_bytes
        self.source = source
        self.clock = clock
        self.records = records or RecordLog()

    def process(self, messages: Sequence[Any]) -> Outbox:
        """Decode every message, enrich the valid reports as one batch (``Enricher.enrich_many``), then
        route or reject each message in order."""
        out = Outbox()
        now = self.clock()
        max_bytes = self.max_bytes
        decoded: list[Any] = []  # a report or its Rejection, per message
        for message in messages:
            try:
                decoded.append(decode_report(message.value, max_bytes))
            except Rejection as rejection:
                decoded.append(rejection)
        enriched = iter(self.enricher.enrich_many([d for d in decoded if not isinstance(d, Rejection)]))
        counters = self.counters
        for message, report in zip(messages, decoded, strict=True):
            counters.received += 1
            if isinstance(report, Rejection):
                self.reject(message, report, now, out)
                continue
            item = next(enriched)
            if isinstance(item, Exception):
                self.reject(message, self._failure(message, report.report_id, item), now, out)
            else:
                self.route(message, item, now, out)
        self.casework.flush_stats(out)
        self.records.flush()
        return out

    @staticmethod
    def _failure(message: Any, report_id: str, exc: Exception) -> Rejection:
        """The rejection of a report whose enrichment raised ``exc``: an unresolvable URL is invalid input;
        anything else is logged (without the exception's message, which could quote input values)."""
        if isinstance(exc, UrlError):
            return Rejection("validation", [f"url: {exc}"], report_id)
        errlog.error("enrichment.failed", topic=message.topic, partition=message.partition,
                     offset=message.offset, error=type(exc).__name__, where=_safe_traceback(exc))
        return Rejection("processing", ["enrichment failed on this record (see the worker log)"], report_id)

    def route(self, message: Any, item: Enriched, now: float, out: Outbox) -> None:
        """The case step here when this worker holds the case's partition, else forward to its holder."""
        partition = partition_for_key(item.case_id.encode(), self.partitions)
        if self.holds(partition):
            outcome, topic = self.casework.report(item, partition, now, out)
            if self.records.enabled:
                self.records("record", report_id=item.report_id, case_id=item.case_id, outcome=outcome, topic=topic,
                             platform=item.platform, partition=message.partition, offset=message.offset)
        else:
            out.emit(self.cases_topic, item.case_id.encode(), internal_report(item, now), partition=partition)
            if self.records.enabled:
                self.records("record", report_id=item.report_id, case_id=item.case_id, outcome="forwarded",
                             platform=item.platform, partition=message.partition, offset=message.offset)

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
                             offset=message.offset, error=type(exc).__name__, where=_safe_traceback(exc))
                self._deadletter(message, Rejection("processing", ["processing failed (see the worker log)"]), now, out)
        self.casework.flush_stats(out)
        self.records.flush()
        return out

    def _report(self, message: Any, now: float, out: Outbox) -> None:
        try:
            item = Enriched.from_dict(orjson.loads(message.value))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise Rejection("decode", ["internal cases record is malformed"]) from None
        outcome, topic = self.casework.report(item, message.partition, now, out)
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
