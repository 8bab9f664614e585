"""Shared pieces of the event models: the frozen base, the ``schema`` field and time types."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

#: Event family names of version 1, as they appear before ``/v<N>`` in ``schema``.
SCHEMA_NAMES = (
    "report.submitted",
    "report.receipt",
    "report.deadletter",
    "report.routed",
    "platform.response",
    "sla.breach",
    "router.metrics",
)

_SCHEMA_RE = re.compile(r"^([a-z][a-z0-9_.-]*)/v([0-9]{1,4})$")


class UnknownSchemaError(ValueError):
    """The ``schema`` value names an event family or major version this code does not know."""


def parse_schema_name(value: object) -> tuple[str, int]:
    """Split ``"report.submitted/v1"`` into ``("report.submitted", 1)``.

    Raises UnknownSchemaError when the value is not of the ``<name>/v<N>`` form.
    """
    if not isinstance(value, str):
        raise UnknownSchemaError("schema must be a string of the form <name>/v<N>")
    match = _SCHEMA_RE.match(value)
    if match is None:
        raise UnknownSchemaError("schema must be of the form <name>/v<N>")
    return match.group(1), int(match.group(2))


#: RFC 3339 timestamp with an offset: naive datetimes are rejected; UTC is written as ``Z``.
Timestamp = AwareDatetime

#: Platform ids: lower-case, configuration-defined (``x``, ``facebook``, ...).
PlatformId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]

#: Stable id of a case (derived from platform and canonical target).
CaseId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]

#: Report ids: the upstream's id and the idempotency key.
ReportId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]


class Event(BaseModel):
    """Base of every event model: frozen, JSON field ``schema`` populated from ``SCHEMA``.

    Output models forbid unknown fields so that nothing (personal data above all) can ride along
    by accident; the input model overrides this to ignore unknown fields, as the contract says.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, str_strip_whitespace=False)

    SCHEMA: ClassVar[str]

    def to_json(self) -> bytes:
        """Serialise to the wire format: UTF-8 JSON with field names as in the contract."""
        return self.model_dump_json(by_alias=True, exclude_none=False).encode()
