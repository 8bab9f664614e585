"""Aggregate figures per platform (and per group within a platform), kept per case partition.

A worker holds the figures of the partitions it holds, so they move with the partitions on a
rebalance and survive restarts (the adapter persists them in a changelog-backed table). Time
distributions are fixed log-scale histograms: mergeable by adding buckets, constant size.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Bucket upper bounds in seconds: 1 s to ~60 days, about 20 % apart.
BOUNDS: tuple[float, ...] = tuple(round(1.2**i, 3) for i in range(0, 87))

COUNTERS = (
    "routed", "attached", "acknowledged", "actioned", "breached_ack", "breached_action", "open_cases",
    "acknowledged_in_time", "actioned_in_time",
)


@dataclass(slots=True)
class Histogram:
    """Counts per bucket of ``BOUNDS`` (plus one overflow bucket), stored sparsely."""

    buckets: dict[int, int] = field(default_factory=dict)
    count: int = 0

    def add(self, seconds: float) -> None:
        index = bisect.bisect_left(BOUNDS, max(seconds, 0.0))
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1

    def merge(self, other: Histogram) -> None:
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.count += other.count

    def percentile(self, q: float) -> float | None:
        """Upper bound of the bucket holding the q-quantile (0 < q <= 1); None when empty."""
        if self.count == 0:
            return None
        rank = max(1, int(q * self.count + 0.999999))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return BOUNDS[index] if index < len(BOUNDS) else BOUNDS[-1]
        return BOUNDS[-1]  # pragma: no cover - counts are consistent

    def to_dict(self) -> dict[str, Any]:
        return {"b": {str(k): v for k, v in self.buckets.items()}, "n": self.count}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Histogram:
        return cls({int(k): int(v) for k, v in data.get("b", {}).items()}, int(data.get("n", 0)))


@dataclass(slots=True)
class Figures:
    """Counters and time distributions of one platform (or one group of a platform)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    time_to_ack: Histogram = field(default_factory=Histogram)
    time_to_action: Histogram = field(default_factory=Histogram)

    def bump(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def merge(self, other: Figures) -> None:
        for name, n in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + n
        self.time_to_ack.merge(other.time_to_ack)
        self.time_to_action.merge(other.time_to_action)

    def to_dict(self) -> dict[str, Any]:
        return {"c": self.counts, "ta": self.time_to_ack.to_dict(), "tx": self.time_to_action.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Figures:
        counts = dict.fromkeys(COUNTERS, 0)
        counts.update({k: int(v) for k, v in data.get("c", {}).items()})
        return cls(counts, Histogram.from_dict(data.get("ta", {})), Histogram.from_dict(data.get("tx", {})))


@dataclass(slots=True)
class PartitionStats:
    """Figures of one case partition: per platform, and per (platform, group)."""

    platforms: dict[str, Figures] = field(default_factory=dict)
    groups: dict[tuple[str, str], Figures] = field(default_factory=dict)

    def figures(self, platform: str, groups: Iterable[str] = ()) -> list[Figures]:
        """The platform's figures and those of each of its groups: one event updates them all."""
        figures = self.platforms.get(platform)
        if figures is None:
            figures = self.platforms[platform] = Figures()
        out = [figures]
        for group in groups:
            key = (platform, group)
            figures = self.groups.get(key)
            if figures is None:
                figures = self.groups[key] = Figures()
            out.append(figures)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "p": {name: f.to_dict() for name, f in self.platforms.items()},
            "g": {f"{p}|{g}": f.to_dict() for (p, g), f in self.groups.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartitionStats:
        groups = {}
        for key, value in data.get("g", {}).items():
            platform, _, group = key.partition("|")
            groups[(platform, group)] = Figures.from_dict(value)
        return cls({k: Figures.from_dict(v) for k, v in data.get("p", {}).items()}, groups)


def merge_partitions(parts: Iterable[PartitionStats]) -> PartitionStats:
    """Sum the figures of several partitions (what one worker publishes)."""
    total = PartitionStats()
    for part in parts:
        for platform, figures in part.platforms.items():
            total.platforms.setdefault(platform, Figures()).merge(figures)
        for key, figures in part.groups.items():
            total.groups.setdefault(key, Figures()).merge(figures)
    return total


def on_routed(stats: PartitionStats, platform: str, groups: Iterable[str], n: int = 1) -> None:
    """``n`` cases opened on ``platform`` naming ``groups``."""
    for f in stats.figures(platform, groups):
        f.bump("routed", n)
        f.bump("open_cases", n)


def on_attached(stats: PartitionStats, platform: str, groups: Iterable[str]) -> None:
    for f in stats.figures(platform, groups):
        f.bump("attached")


def on_response(stats: PartitionStats, platform: str, groups: Iterable[str], *, acknowledged: bool,
                ack_in_time: bool, time_to_ack: float | None, actioned: bool, action_in_time: bool,
                time_to_action: float | None) -> None:
    for f in stats.figures(platform, groups):
        if acknowledged:
            f.bump("acknowledged")
            if ack_in_time:
                f.bump("acknowledged_in_time")
            if time_to_ack is not None:
                f.time_to_ack.add(time_to_ack)
        if actioned:
            f.bump("actioned")
            f.bump("open_cases", -1)
            if action_in_time:
                f.bump("actioned_in_time")
            if time_to_action is not None:
                f.time_to_action.add(time_to_action)


def on_breach(stats: PartitionStats, platform: str, groups: Iterable[str], stage: str) -> None:
    for f in stats.figures(platform, groups):
        f.bump(f"breached_{stage}")
