"""The SLA policy: acknowledgement and action deadlines per priority, optionally per platform.

Parsed from the operator's YAML (already loaded into a dict by the adapter) and validated here.
Durations are a number and a unit: ``s``, ``m``, ``h``, ``d`` (``90s``, ``15m``, ``1h``, ``2d``).
Whatever the file leaves out keeps the contract's defaults.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

Priority = Literal["critical", "high", "normal"]
Stage = Literal["ack", "action"]
PRIORITIES: tuple[Priority, ...] = ("critical", "high", "normal")
STAGES: tuple[Stage, ...] = ("ack", "action")

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_DEADLINE = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Deadlines:
    ack: timedelta
    action: timedelta


DEFAULTS: Mapping[Priority, Deadlines] = {
    "critical": Deadlines(ack=timedelta(minutes=15), action=timedelta(hours=1)),  # EU TCO: one hour
    "high": Deadlines(ack=timedelta(hours=1), action=timedelta(hours=12)),
    "normal": Deadlines(ack=timedelta(hours=4), action=timedelta(hours=24)),
}


class PolicyError(ValueError):
    """The policy file is invalid; the message names every problem and where it is."""


def parse_duration(text: object) -> timedelta:
    """``"90s"`` -> 90 seconds. Raises ValueError for anything else (bare numbers included:
    a unit is required so that ``15`` is never misread as seconds or minutes)."""
    if not isinstance(text, str):
        raise ValueError(f"duration must be a string like '90s', '15m', '1h' or '2d', not {type(text).__name__}")
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"duration {text!r} is not a number followed by s, m, h or d")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    delta = timedelta(seconds=seconds)
    if delta > _MAX_DEADLINE:
        raise ValueError(f"duration {text!r} is longer than a year")
    return delta


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Deadlines by priority, with per-platform overrides (each stage overridable on its own)."""

    priorities: Mapping[Priority, Deadlines] = field(default_factory=lambda: dict(DEFAULTS))
    platforms: Mapping[str, Mapping[Priority, Deadlines]] = field(default_factory=dict)

    def deadlines(self, platform: str, priority: Priority) -> Deadlines:
        override = self.platforms.get(platform)
        if override is not None and priority in override:
            return override[priority]
        return self.priorities[priority]


def _stage_pair(
    where: str, raw: Any, base: Deadlines, problems: list[str]
) -> Deadlines:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be a mapping with 'ack' and/or 'action'")
        return base
    values = {"ack": base.ack, "action": base.action}
    for key, value in raw.items():
        if key not in values:
            problems.append(f"{where}.{key}: unknown stage (expected 'ack' or 'action')")
            continue
        try:
            values[key] = parse_duration(value)
        except ValueError as exc:
            problems.append(f"{where}.{key}: {exc}")
    if values["ack"] > values["action"]:
        problems.append(f"{where}: ack deadline is later than the action deadline")
    return Deadlines(ack=values["ack"], action=values["action"])


def load_policy(data: Mapping[str, Any] | None, known_platforms: Iterable[str]) -> SlaPolicy:
    """Validate a parsed policy document. ``None`` (no file) gives the defaults.

    Raises PolicyError listing every problem: unknown keys, priorities or platforms, malformed
    durations, an acknowledgement deadline later than the action deadline.
    """
    if data is None:
        return SlaPolicy()
    if not isinstance(data, Mapping):
        raise PolicyError("policy: the file must be a mapping with 'priorities' and/or 'platforms'")
    known = set(known_platforms)
    problems: list[str] = []
    for key in data:
        if key not in ("priorities", "platforms", "version"):
            problems.append(f"{key}: unknown key (expected 'priorities' or 'platforms')")
    priorities: dict[Priority, Deadlines] = dict(DEFAULTS)
    raw_priorities = data.get("priorities") or {}
    if not isinstance(raw_priorities, Mapping):
        problems.append("priorities: must be a mapping of priority to deadlines")
        raw_priorities = {}
    for name, raw in raw_priorities.items():
        if name not in PRIORITIES:
            problems.append(f"priorities.{name}: unknown priority (expected one of {', '.join(PRIORITIES)})")
            continue
        priorities[name] = _stage_pair(f"priorities.{name}", raw, DEFAULTS[name], problems)
    platforms: dict[str, dict[Priority, Deadlines]] = {}
    raw_platforms = data.get("platforms") or {}
    if not isinstance(raw_platforms, Mapping):
        problems.append("platforms: must be a mapping of platform id to per-priority deadlines")
        raw_platforms = {}
    for platform, raw in raw_platforms.items():
        if platform not in known:
            problems.append(f"platforms.{platform}: unknown platform (known: {', '.join(sorted(known))})")
            continue
        if not isinstance(raw, Mapping):
            problems.append(f"platforms.{platform}: must be a mapping of priority to deadlines")
            continue
        overrides: dict[Priority, Deadlines] = {}
        for name, pair in raw.items():
            if name not in PRIORITIES:
                problems.append(f"platforms.{platform}.{name}: unknown priority")
                continue
            overrides[name] = _stage_pair(f"platforms.{platform}.{name}", pair, priorities[name], problems)
        platforms[platform] = overrides
    if problems:
        raise PolicyError("; ".join(problems))
    return SlaPolicy(priorities=priorities, platforms=platforms)
