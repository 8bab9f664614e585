"""The platform registry: which platform a host belongs to.

Data (ids, names, domains) comes from ``router/data/platforms.yaml`` or an operator's file, parsed
by the adapter and validated here. Host matching is exact or by subdomain of a registered domain;
anything else, including lookalikes and internationalised hosts, belongs to no platform.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

UNKNOWN = "unknown"
"""Platform id of cases without a recognised platform (they go to ``outbound.review``)."""

_ID = r"^[a-z][a-z0-9_-]{0,31}$"
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
#: Subdomains under which platforms commonly serve their pages (``www.facebook.com``, ``m.youtube.com``):
#: ``for_host`` answers these, and the registered hosts themselves, with one dictionary lookup.
COMMON_SUBDOMAINS = ("www", "m", "mobile", "web", "api", "chat", "business", "music", "vm", "vt")


class PlatformConfigError(ValueError):
    """The platform list is invalid; the message says where."""


class _PlatformModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    domains: list[str] = Field(min_length=1)
    canonical_host: str
    short_hosts: list[str] = Field(default_factory=list)
    case_insensitive_paths: bool = True

    @field_validator("domains", "short_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not _HOST.match(host):
                raise ValueError(f"not a lower-case ASCII host name: {host!r}")
        return value

    @field_validator("canonical_host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _HOST.match(value):
            raise ValueError(f"not a lower-case ASCII host name: {value!r}")
        return value


class _RegistryModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    platforms: dict[str, _PlatformModel] = Field(min_length=1)

    @field_validator("platforms")
    @classmethod
    def _ids(cls, value: dict[str, _PlatformModel]) -> dict[str, _PlatformModel]:
        for pid in value:
            if not re.match(_ID, pid) or pid in (UNKNOWN, "review"):
                raise ValueError(f"invalid platform id {pid!r} (lower-case, not 'unknown' or 'review')")
        return value


@dataclass(frozen=True, slots=True)
class Platform:
    id: str
    name: str
    domains: tuple[str, ...]
    canonical_host: str
    short_hosts: frozenset[str]
    case_insensitive_paths: bool


class PlatformRegistry:
    """Immutable lookup of platforms by id and by URL host."""

    def __init__(self, platforms: Mapping[str, Platform]) -> None:
        self._by_id = dict(platforms)
        self._by_domain: dict[str, Platform] = {}
        for platform in self._by_id.values():
            for host in (*platform.domains, *platform.short_hosts):
                owner = self._by_domain.setdefault(host, platform)
                if owner is not platform:
                    raise PlatformConfigError(f"host {host!r} belongs to both {owner.id!r} and {platform.id!r}")
        # for_host's answers for the registered hosts and their common subdomains, computed by the
        # general walk itself, so that looking them up gives exactly what the walk would
        common_hosts = {*self._by_domain, *(f"{sub}.{host}" for host in self._by_domain for sub in COMMON_SUBDOMAINS)}
        self._by_host = {host: found for host in common_hosts if (found := self._walk(host)) is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlatformRegistry:
        """Validate a parsed platforms file; raises PlatformConfigError naming each problem."""
        try:
            model = _RegistryModel.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in exc.errors()
            )
            raise PlatformConfigError(problems) from None
        return cls(
            {
                pid: Platform(
                    id=pid,
                    name=p.name,
                    domains=tuple(p.domains),
                    canonical_host=p.canonical_host,
                    short_hosts=frozenset(p.short_hosts),
                    case_insensitive_paths=p.case_insensitive_paths,
                )
                for pid, p in model.platforms.items()
            }
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def get(self, platform_id: str) -> Platform | None:
        return self._by_id.get(platform_id)

    def __contains__(self, platform_id: object) -> bool:
        return platform_id in self._by_id

    def for_host(self, host: str) -> Platform | None:
        """The platform owning ``host`` (already lower-cased, ASCII), or None.

        Registered hosts and their common subdomains (``COMMON_SUBDOMAINS``) are one dictionary
        lookup in a table precomputed from the registry; any other host takes the general walk.
        """
        platform = self._by_host.get(host)
        return platform if platform is not None else self._walk(host)

    def _walk(self, host: str) -> Platform | None:
        """``for_host`` for any host: walks the host's parent domains (``a.b.facebook.com`` ->
        ``b.facebook.com`` -> ``facebook.com``): cost grows with the number of labels, not with the
        registry. Hosts that are not well-formed lower-case ASCII names belong to no platform.
        """
        if not _HOST.match(host):
            return None
        start = 0  # where the current parent domain starts; the last label alone is not tried
        while (dot := host.find(".", start)) != -1:
            platform = self._by_domain.get(host[start:])
            if platform is not None:
                return platform
            start = dot + 1
        return None
