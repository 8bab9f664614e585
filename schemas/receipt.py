"""``report.receipt/v1``: one per input record on ``reports.receipts`` (key: ``report_id``, or
``topic:partition:offset`` when the record had none readable)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from schemas.base import CaseId, Event, Timestamp

Outcome = Literal["routed", "attached", "review", "rejected"]


class ReportReceiptV1(Event):
    """What became of one input record.

    ``routed``: it opened a new case on a platform queue; ``attached``: it joined an open case
    (including a re-sent report already in the case); ``review``: it opened a case on
    ``outbound.review`` (no known platform); ``rejected``: it went to the dead-letter topic.
    ``reason`` is short and never echoes the rejected values.
    """

    SCHEMA: ClassVar[str] = "report.receipt/v1"

    schema_: Literal["report.receipt/v1"] = Field(default="report.receipt/v1", alias="schema")
    report_id: Annotated[str, StringConstraints(max_length=128)] | None
    outcome: Outcome
    case_id: CaseId | None
    topic: str | None
    reason: Annotated[str, StringConstraints(max_length=512)] | None = None
    at: Timestamp
