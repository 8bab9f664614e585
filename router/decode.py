"""Decoding input records: raw bytes to a validated model, or a clean rejection.

Limits come before parsing: the size of the raw bytes is checked first, then UTF-8, then the JSON
and the contract's field rules (pydantic, parsing once with ``model_validate_json``). A rejection
carries messages that never echo the input: field locations and rule descriptions only.
"""

from __future__ import annotations

import re
from typing import Literal

import orjson
from pydantic import BaseModel, ValidationError

from schemas import PlatformResponseV1, ReportSubmittedV1

RejectKind = Literal["decode", "validation", "processing"]

_REPORT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class Rejection(Exception):
    """An input record that cannot be processed, and why (safe to log and publish)."""

    def __init__(self, kind: RejectKind, detail: list[str], report_id: str | None = None) -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail
        self.report_id = report_id

    @property
    def reason(self) -> str:
        return f"{self.kind}: {'; '.join(self.detail)}"[:500]


def _messages(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        if err["type"] == "literal_error" and err["loc"] == ("schema",):
            out.append("schema: unsupported event type or major version (expected the v1 contract)")
            continue
        out.append(f"{loc}: {err['msg']}")
    return out[:20]


def _readable_report_id(raw: bytes) -> str | None:
    """The report id of a rejected record, when there is a well-formed one (for its receipt)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict):
        value = data.get("report_id")
        if isinstance(value, str) and _REPORT_ID.match(value):
            return value
    return None


def decode_model(raw: bytes | None, model: type[BaseModel], max_bytes: int) -> BaseModel:
    """Raises ``Rejection``, never from inside an ``except`` block nor from a local variable: a
    chained exception, or one this frame holds, would tie the frames of the traceback (and through
    them the caller's whole batch) in a reference cycle, freed only by the garbage collector's
    slowest pass."""
    if raw is None or len(raw) == 0:
        raise Rejection("decode", ["record: empty value"])
    if len(raw) > max_bytes:
        raise Rejection("decode", [f"record: {len(raw)} bytes exceeds the limit of {max_bytes}"])
    try:
        raw.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    if not utf8:
        raise Rejection("decode", ["record: value is not valid UTF-8"])
    if not raw.lstrip()[:1] == b"{":
        raise Rejection("decode", ["record: value is not a JSON object"])
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        messages = _messages(exc)
        kind: RejectKind = "decode" if any(e["type"] == "json_invalid" for e in exc.errors()) else "validation"
        report_id = _readable_report_id(raw) if kind == "validation" else None
    except (ValueError, RecursionError):
        kind, messages, report_id = "decode", ["record: value could not be parsed"], None
    raise Rejection(kind, messages, report_id)


def decode_report(raw: bytes | None, max_bytes: int) -> ReportSubmittedV1:
    """Raises Rejection (with the readable report id, if any) when the record breaks the contract."""
    return decode_model(raw, ReportSubmittedV1, max_bytes)  # type: ignore[return-value]


def decode_response(raw: bytes | None, max_bytes: int) -> PlatformResponseV1:
    return decode_model(raw, PlatformResponseV1, max_bytes)  # type: ignore[return-value]
