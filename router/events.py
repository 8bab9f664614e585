"""Building the router's output records (contracts.md) as JSON bytes with CloudEvents headers.

The dicts here have exactly the fields of the ``schemas`` models, which forbid anything else;
tests/agents/test_events.py validates every builder's output against its model, so an output can
no more carry a reporter or a signal value than the model can. Built with orjson rather than
through pydantic because this is the hot path (a receipt per input record).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from router.core.cases import Case, breach_id
from router.core.enrich import Enriched
from router.core.platforms import UNKNOWN
from router.output import Headers

_JSON = b"application/json"


@dataclass(frozen=True, slots=True)
class Topics:
    """Where the case records go (from the settings) and the CloudEvents source they carry."""

    receipts: str
    breaches: str
    review: str
    outbound_prefix: str
    source: str  # CloudEvents source

    def outbound(self, platform: str) -> str:
        return self.review if platform == UNKNOWN else self.outbound_prefix + platform

    @classmethod
    def from_settings(cls, settings: Any) -> Topics:
        """From ``router.settings.Settings`` (the CloudEvents source names the app)."""
        return cls(receipts=settings.topic_receipts, breaches=settings.topic_breaches, review=settings.topic_review,
                   outbound_prefix=settings.topic_outbound_prefix, source=f"/report-router/{settings.app_id}")


_SECONDS: dict[int, str] = {}
_FORMATTED: dict[float, str] = {}


def rfc3339(ts: float) -> str:
    """UTC, millisecond precision, ``Z`` offset. Hot path: a batch shares one ``now`` and the few
    deadlines the policy derives from it, so recent answers are kept (and each formatted second)."""
    text = _FORMATTED.get(ts)
    if text is not None:
        return text
    seconds, millis = divmod(round(ts * 1000), 1000)
    prefix = _SECONDS.get(seconds)
    if prefix is None:
        if len(_SECONDS) > 8192:
            _SECONDS.clear()
        prefix = _SECONDS[seconds] = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    text = f"{prefix}.{millis:03d}Z"
    if len(_FORMATTED) > 256:
        _FORMATTED.clear()
    _FORMATTED[ts] = text
    return text


_SPEC = ("ce_specversion", b"1.0")
_CONTENT = ("content-type", _JSON)


_FIXED: dict[tuple[str, str, float], tuple[tuple[str, bytes], ...]] = {}


def ce_headers(schema: str, event_id: str, source: str, ts: float) -> Headers:
    """CloudEvents 1.0 binary-mode headers (the value stays the plain JSON object). A list: what
    the producer's record builder takes as it is. The headers other than ``ce_id`` are shared by
    every record of a kind in a batch (one ``ts``): built once, kept for the last few times."""
    fixed = _FIXED.get((schema, source, ts))
    if fixed is None:
        if len(_FIXED) > 64:
            _FIXED.clear()
        fixed = _FIXED[(schema, source, ts)] = (
            ("ce_type", schema.encode()), ("ce_source", source.encode()), ("ce_time", rfc3339(ts).encode()))
    return [_SPEC, ("ce_id", event_id.encode()), *fixed, _CONTENT]


def routed(c: Mapping[str, Any]) -> dict[str, Any]:
    """The ``report.routed/v1`` record of a case's fields (``router.core.cases.opened_fields``,
    ``Case.to_dict``)."""
    return {
        "schema": "report.routed/v1",
        "case_id": c["case_id"],
        "platform": c["platform"],
        "target": {"url": c["url"], "account": c["account"]},
        "report_ids": list(c["report_ids"]),
        "groups": list(c["groups"]),
        "origins": list(c["origins"]),
        "mirror_of": c["mirror_of"],
        "priority": c["priority"],
        "requested_actions": list(c["requested_actions"]),
        "legal_basis": list(c["legal_basis"]),
        "routed_at": rfc3339(c["routed_at"]),
        "ack_due_at": rfc3339(c["ack_due"]),
        "action_due_at": rfc3339(c["action_due"]),
    }


def receipt(report_id: str | None, outcome: str, case_id: str | None, topic: str | None, at: float,
            reason: str | None = None) -> dict[str, Any]:
    return {
        "schema": "report.receipt/v1",
        "report_id": report_id,
        "outcome": outcome,
        "case_id": case_id,
        "topic": topic,
        "reason": reason,
        "at": rfc3339(at),
    }


def deadletter(*, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
               kind: str, detail: list[str], at: float) -> dict[str, Any]:
    try:
        key_text = key.decode() if key is not None else None
    except UnicodeDecodeError:
        key_text = None
    return {
        "schema": "report.deadletter/v1",
        "received_at": rfc3339(at),
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": key_text,
        "key_b64": base64.b64encode(key).decode() if key is not None else None,
        "value_b64": base64.b64encode(value or b"").decode(),
        "error": {"kind": kind, "detail": detail},
    }


def breach(case: Case, stage: str, due: float, now: float) -> dict[str, Any]:
    return {
        "schema": "sla.breach/v1",
        "breach_id": breach_id(case.case_id, stage),  # type: ignore[arg-type]
        "case_id": case.case_id,
        "platform": case.platform,
        "stage": stage,
        "due_at": rfc3339(due),
        "detected_at": rfc3339(now),
        "overdue_s": round(max(0.0, now - due), 3),
        "priority": case.priority,
        "groups": case.group_ids,
    }


def internal_report(enriched: Enriched, received_at: float) -> bytes:
    """The internal record on the cases topic (repartitioned by case id). No personal data."""
    data = enriched.to_dict()
    data["v"] = 1
    data["received_at"] = received_at
    return dumps(data)


def dumps(value: dict[str, Any]) -> bytes:
    """JSON bytes of exactly their own size.

    orjson returns bytes objects that keep its whole output buffer allocated (8 KiB for a record
    of a few hundred bytes); with thousands of records in flight that multiplied the worker's
    memory. A copy through a memoryview costs a third of a microsecond."""
    return bytes(memoryview(orjson.dumps(value)))
