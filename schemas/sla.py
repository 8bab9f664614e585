"""``sla.breach/v1``: a deadline that passed unmet (key: case_id)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from schemas.base import CaseId, Event, PlatformId, Timestamp
from schemas.routed import Priority

Stage = Literal["ack", "action"]


class SlaBreachV1(Event):
    """Raised once per case and stage. ``breach_id`` is derived from case and stage only, so a
    repeat (after a crash or a rebalance) carries the same id and is recognisable."""

    SCHEMA: ClassVar[str] = "sla.breach/v1"

    schema_: Literal["sla.breach/v1"] = Field(default="sla.breach/v1", alias="schema")
    breach_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,160}$")]
    case_id: CaseId
    platform: PlatformId
    stage: Stage
    due_at: Timestamp
    detected_at: Timestamp
    overdue_s: Annotated[float, Field(ge=0)]
    priority: Priority
    groups: list[str]
