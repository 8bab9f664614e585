"""``platform.response/v1``: a platform connector's answer about a case (key: case_id)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints

from schemas.base import CaseId, Event, PlatformId, Timestamp

ResponseStatus = Literal["received", "removed", "restricted", "rejected", "needs_info"]

#: Statuses that meet the action deadline.
ACTION_STATUSES: frozenset[str] = frozenset({"removed", "restricted", "rejected"})


class PlatformResponseV1(Event):
    """The first response of any kind meets the acknowledgement deadline; ``removed``,
    ``restricted`` or ``rejected`` meets the action deadline; ``needs_info`` stops the action
    clock until the next answer. ``account``: the account the platform actioned, if any."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    SCHEMA: ClassVar[str] = "platform.response/v1"

    schema_: Literal["platform.response/v1"] = Field(default="platform.response/v1", alias="schema")
    case_id: CaseId
    platform: PlatformId
    status: ResponseStatus
    at: Timestamp
    reference: Annotated[str, StringConstraints(max_length=256)] | None = None
    account: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
