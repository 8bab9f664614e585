"""``report.submitted/v1``: a report of online content, published by an upstream system."""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from schemas.base import Event, PlatformId, ReportId, Timestamp

MAX_URL = 2048
MAX_ACCOUNT = 256
MAX_TEXT = 20_000
MAX_LEGAL_BASIS = 32
MAX_SHORT = 256

_BCP47 = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,8}$"
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
# scheme, optional user info, a host (name or bracketed IPv6), an optional numeric port, then the
# end or the path/query/fragment
_URL = re.compile(r"^(?i:https?)://(?:[^/?#]*@)?(\[[0-9A-Fa-f:.]+\]|[^:/?#\[\]@]+)(?::([0-9]{1,5}))?(?:[/?#]|$)")

Short = Annotated[str, StringConstraints(max_length=MAX_SHORT)]


def check_url(value: str) -> str:
    """Accept an absolute http(s) URL with a host; reject anything else.

    Only the shape is checked here; which host is trusted is the router's decision.
    """
    # (a printable URL without a space has none of them: one scan, no pattern, in the usual case)
    if (" " in value or not value.isprintable()) and _CONTROL.search(value):
        raise ValueError("url must not contain spaces or control characters")
    if not value[:8].lower().startswith(("http://", "https://")):
        raise ValueError("url must use http or https")
    match = _URL.match(value)
    if match is None or (match.group(2) is not None and int(match.group(2)) > 65535):
        raise ValueError("url must have a host (and a valid port, if any)")
    return value


class Signals(BaseModel):
    """Origin evidence. Personal data: used only to derive country tags, never forwarded."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    phone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    ip: Annotated[str, StringConstraints(max_length=64)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            # inet_pton accepts a subset of what ip_address accepts (dotted quads, no leading zeros) at a
            # tenth of the cost: the common IPv4 case; anything else is decided by ip_address
            socket.inet_pton(socket.AF_INET, value)
            return value
        except (OSError, ValueError):
            pass
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("ip must be an IPv4 or IPv6 address") from None
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None


class Reporter(BaseModel):
    """Who reported. Personal data: never forwarded to any outbound, breach or metrics topic."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: Short | None = None
    name: Short | None = None
    contact: Short | None = None


class ReportSubmittedV1(Event):
    """A report as published on ``reports.submitted`` (key: ``report_id``).

    Needs ``url``, or ``platform`` with ``account``. Unknown extra fields are ignored.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    SCHEMA: ClassVar[str] = "report.submitted/v1"

    schema_: Literal["report.submitted/v1"] = Field(alias="schema")
    report_id: ReportId
    submitted_at: Timestamp
    source: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    url: Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL)] | None = None
    platform: PlatformId | None = None
    account: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ACCOUNT)] | None = None
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None = None
    language: Annotated[str, StringConstraints(pattern=_BCP47)] | None = None
    signals: Signals | None = None
    reporter: Reporter | None = None
    severity: Literal["critical", "high", "normal"] = "normal"
    legal_basis: Annotated[list[Short], Field(max_length=MAX_LEGAL_BASIS)] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_url(value) if value is not None else None

    @model_validator(mode="after")
    def _target(self) -> ReportSubmittedV1:
        if self.url is None and (self.platform is None or self.account is None):
            raise ValueError("a report needs url, or platform with account")
        return self
