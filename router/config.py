"""Loading the operators' data files at start: platforms, group watchlist, SLA policy, IP data.

Any problem stops the worker before it consumes, with one message naming the file and the
problem (``ConfigError``); the CLI prints it and exits with status 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from router.core.platforms import UNKNOWN, PlatformConfigError, PlatformRegistry
from router.core.policy import PolicyError, SlaPolicy, load_policy
from router.settings import Settings


class ConfigError(RuntimeError):
    """A data file or setting is unusable; the message is meant for the operator as is."""


def _read_yaml(path: Path | None, packaged: str | None, what: str, env: str) -> Any:
    try:
        if path is None:
            if packaged is None:
                return None
            text = resources.files("router.data").joinpath(packaged).read_text(encoding="utf-8")
            origin = f"the packaged {packaged}"
        else:
            text = Path(path).read_text(encoding="utf-8")
            origin = str(path)
    except OSError as exc:
        raise ConfigError(f"{env}: cannot read the {what} file {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{env}: the {what} file {str(path)!r} is not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{env}: the {what} file {origin} is not valid YAML{where}") from None


@dataclass(frozen=True)
class RouterConfig:
    registry: PlatformRegistry
    policy: SlaPolicy
    watchlist: Any
    matcher: Any
    ip_table: Any


def load_registry(settings: Settings) -> PlatformRegistry:
    data = _read_yaml(settings.platforms, "platforms.yaml", "platforms", "ROUTER_PLATFORMS")
    try:
        return PlatformRegistry.from_dict(data or {})
    except PlatformConfigError as exc:
        raise ConfigError(f"ROUTER_PLATFORMS: invalid platforms file: {exc}") from None


def load_sla_policy(settings: Settings, registry: PlatformRegistry) -> SlaPolicy:
    data = _read_yaml(settings.sla_policy, None, "SLA policy", "ROUTER_SLA_POLICY")
    if settings.sla_policy is not None and data is None:
        data = {}  # an empty file: the defaults
    try:
        return load_policy(data, [*registry.ids, UNKNOWN])
    except PolicyError as exc:
        raise ConfigError(f"ROUTER_SLA_POLICY: invalid policy {str(settings.sla_policy)!r}: {exc}") from None


def load_watchlist(settings: Settings) -> tuple[Any, Any]:
    from router.core.groups import GroupMatcher
    from router.core.watchlist import WatchlistError, load_watchlist_dict

    data = _read_yaml(settings.watchlist, "watchlist.yaml", "watchlist", "ROUTER_WATCHLIST")
    try:
        watchlist = load_watchlist_dict(data or {})
    except WatchlistError as exc:
        raise ConfigError(f"ROUTER_WATCHLIST: invalid watchlist {str(settings.watchlist or 'watchlist.yaml')!r}: "
                          f"{exc}") from None
    return watchlist, GroupMatcher(watchlist)


def load_config(settings: Settings) -> RouterConfig:
    from router.geoip import IpCountryTable, IpDataError

    registry = load_registry(settings)
    policy = load_sla_policy(settings, registry)
    watchlist, matcher = load_watchlist(settings)
    try:
        ip_table = IpCountryTable.load()
    except IpDataError as exc:
        raise ConfigError(f"IP data: {exc}") from None
    return RouterConfig(registry=registry, policy=policy, watchlist=watchlist, matcher=matcher, ip_table=ip_table)
