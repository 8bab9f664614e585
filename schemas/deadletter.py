"""``report.deadletter/v1``: a rejected input record, with its exact original bytes."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.base import Event, Timestamp

ErrorKind = Literal["decode", "validation", "processing"]


class DeadLetterError(BaseModel):
    """Why the record was rejected. ``detail`` messages never echo the input values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ErrorKind
    detail: Annotated[list[Annotated[str, StringConstraints(max_length=512)]], Field(max_length=50)]


class ReportDeadLetterV1(Event):
    """Published on ``reports.deadletter`` with the original key.

    ``value_b64`` is the original value, byte for byte, in base64 (standard alphabet, padded).
    ``key`` is the original key as text when it was valid UTF-8; ``key_b64`` always holds its
    exact bytes (null when the record had no key).
    """

    SCHEMA: ClassVar[str] = "report.deadletter/v1"

    schema_: Literal["report.deadletter/v1"] = Field(default="report.deadletter/v1", alias="schema")
    received_at: Timestamp
    topic: str
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    key: str | None
    key_b64: str | None = None
    value_b64: str
    error: DeadLetterError
