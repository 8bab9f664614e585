"""``report.routed/v1``: one case, on ``outbound.<platform>`` or ``outbound.review`` (key: case_id).

Holds no personal data by construction: no reporter, no signal values, no submitter internals;
``extra="forbid"`` keeps it that way.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.base import CaseId, Event, PlatformId, ReportId, Timestamp

Priority = Literal["critical", "high", "normal"]
OriginSignal = Literal["phone", "ip", "declared"]
RequestedAction = Literal["remove_content", "suspend_account", "preserve_evidence", "review"]

_Evidence = Annotated[str, StringConstraints(max_length=200)]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TargetV1(_Part):
    """The reported target in canonical form: a URL, an account, or both."""

    url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    account: Annotated[str, StringConstraints(max_length=256)] | None = None


class GroupTagV1(_Part):
    """A proscribed group the report names, with the evidence and the lists designating it."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")]
    name: str
    matched: Annotated[list[_Evidence], Field(max_length=10)]
    designations: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,8}$")]]


class OriginTagV1(_Part):
    """A country the report originates from and the kind of signal (never the signal itself)."""

    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    signal: OriginSignal


class MirrorOfV1(_Part):
    """The known banned or actioned account on the same platform that this account imitates."""

    account: Annotated[str, StringConstraints(max_length=256)]
    evidence: Annotated[list[_Evidence], Field(max_length=10)]


class ReportRoutedV1(Event):
    """A case sent to a platform connector (or to human review when the platform is unknown)."""

    SCHEMA: ClassVar[str] = "report.routed/v1"

    schema_: Literal["report.routed/v1"] = Field(default="report.routed/v1", alias="schema")
    case_id: CaseId
    platform: PlatformId
    target: TargetV1
    report_ids: Annotated[list[ReportId], Field(min_length=1)]
    groups: list[GroupTagV1]
    origins: list[OriginTagV1]
    mirror_of: MirrorOfV1 | None = None
    priority: Priority
    requested_actions: list[RequestedAction]
    legal_basis: list[Annotated[str, StringConstraints(max_length=256)]]
    routed_at: Timestamp
    ack_due_at: Timestamp
    action_due_at: Timestamp
