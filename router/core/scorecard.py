"""The compliance scorecard: from ``router.metrics/v1`` records to the figures per platform and
per group that ``router report`` prints.

Each worker publishes, every interval, one record per platform with the cumulative figures of the
case partitions it holds. The current state of the whole router is the latest snapshot of each
worker, where a snapshot is kept only if no newer snapshot (of another worker, after a rebalance)
claims one of its partitions: a worker that died keeps its last records on the topic, and its
partitions' figures then live in the records of the worker that took them over. Distributions are
merged bucket by bucket, so the medians are those of all cases, not a median of medians.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

COUNTS = ("routed", "attached", "acknowledged", "actioned", "breached_ack", "breached_action", "open_cases",
          "acknowledged_in_time", "actioned_in_time")


@dataclass(slots=True)
class Distribution:
    buckets: dict[float, int] = field(default_factory=dict)

    def add(self, encoded: Mapping[str, int]) -> None:
        for bound, n in encoded.items():
            key = float(bound)
            self.buckets[key] = self.buckets.get(key, 0) + int(n)

    @property
    def count(self) -> int:
        return sum(self.buckets.values())

    def percentile(self, q: float) -> float | None:
        total = self.count
        if not total:
            return None
        rank = max(1, int(q * total + 0.999999))
        seen = 0
        for bound in sorted(self.buckets):
            seen += self.buckets[bound]
            if seen >= rank:
                return bound
        return max(self.buckets)  # pragma: no cover - counts are consistent


@dataclass(slots=True)
class Row:
    """The figures of one platform, one group, or everything."""

    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    time_to_action: Distribution = field(default_factory=Distribution)

    def add(self, counts: Mapping[str, int], time_to_action: Mapping[str, Any]) -> None:
        for key in COUNTS:
            self.counts[key] += int(counts.get(key, 0))
        self.time_to_action.add(time_to_action.get("buckets", {}))

    def share(self, part: str) -> float | None:
        routed = self.counts["routed"]
        return self.counts[part] / routed if routed else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **self.counts,
            "acknowledged_in_time_share": self.share("acknowledged_in_time"),
            "actioned_in_time_share": self.share("actioned_in_time"),
            "median_time_to_action_s": self.time_to_action.percentile(0.5),
        }


@dataclass(slots=True)
class Scorecard:
    platforms: dict[str, Row]
    groups: dict[str, Row]
    total: Row
    workers: list[str]
    partitions: list[int]
    as_of: str | None


def current_snapshots(records: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The snapshots that describe the router now: the latest of each worker, dropping any that
    a newer snapshot overlaps on a partition. A snapshot is the records of one worker at one time."""
    by_snapshot: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in records:
        by_snapshot.setdefault((record["worker_id"], record["at"]), []).append(record)
    latest: dict[str, tuple[str, list[Mapping[str, Any]]]] = {}
    for (worker, at), group in by_snapshot.items():
        if worker not in latest or at > latest[worker][0]:
            latest[worker] = (at, group)
    chosen: list[list[Mapping[str, Any]]] = []
    claimed: set[int] = set()
    for _, group in sorted(latest.values(), key=lambda item: item[0], reverse=True):
        partitions = set(group[0].get("partitions", ()))
        if partitions & claimed:
            continue
        claimed |= partitions
        chosen.append(group)
    return chosen


def scorecard(records: Iterable[Mapping[str, Any]]) -> Scorecard:
    snapshots = current_snapshots(records)
    platforms: dict[str, Row] = {}
    groups: dict[str, Row] = {}
    total = Row("all")
    workers, partitions, times = [], [], []
    for snapshot in snapshots:
        workers.append(snapshot[0]["worker_id"])
        partitions.extend(snapshot[0].get("partitions", ()))
        times.append(snapshot[0]["at"])
        for record in snapshot:
            name = record["platform"]
            platforms.setdefault(name, Row(name)).add(record["counts"], record["time_to_action"])
            total.add(record["counts"], record["time_to_action"])
            for group, figures in (record.get("groups") or {}).items():
                groups.setdefault(group, Row(group)).add(figures["counts"], figures["time_to_action"])
    return Scorecard(platforms=platforms, groups=groups, total=total, workers=sorted(workers),
                     partitions=sorted(partitions), as_of=min(times) if times else None)
