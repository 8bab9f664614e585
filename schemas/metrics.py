"""``router.metrics/v1``: a periodic snapshot, one record per platform (key: platform).

Aggregates only: no ids, no personal data. Each worker publishes the counts of the case
partitions it holds (listed in ``partitions``), tagged with its ``worker_id``. A reader sums, per
platform, the latest record of each worker; where two workers' latest records claim the same
partition (after a rebalance), the newer record wins for that partition.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import Event, PlatformId, Timestamp

Count = Annotated[int, Field(ge=0)]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Percentiles(_Part):
    """A time distribution in seconds. ``p50``/``p90``/``p99`` are null when there is no sample;
    they are upper bounds of fixed log-scale buckets (about 20 % apart). ``buckets`` maps each
    non-empty bucket's upper bound (seconds, as a string) to its count, so a reader can merge
    the distributions of several workers exactly before taking percentiles."""

    count: Count
    p50: float | None
    p90: float | None
    p99: float | None
    buckets: dict[str, Count] = Field(default_factory=dict)


class PlatformCounts(_Part):
    """Cumulative counts of the partitions held, since the cases were first routed."""

    routed: Count
    attached: Count
    acknowledged: Count
    actioned: Count
    breached_ack: Count
    breached_action: Count
    open_cases: Count
    acknowledged_in_time: Count
    actioned_in_time: Count


class GroupFigures(_Part):
    """The figures of one group's cases on this platform."""

    counts: PlatformCounts
    time_to_action: Percentiles


class WorkerCounts(_Part):
    """Counts of this worker process since it started (not per platform, not per partition):
    the same in every record of one snapshot. Take them from one record per worker."""

    received: Count
    rejected: Count
    rejected_decode: Count
    rejected_validation: Count
    rejected_processing: Count
    duplicates: Count
    responses: Count
    responses_invalid: Count
    responses_unknown_case: Count
    responses_out_of_order: Count
    responses_after_close: Count


class RouterMetricsV1(Event):
    SCHEMA: ClassVar[str] = "router.metrics/v1"

    schema_: Literal["router.metrics/v1"] = Field(default="router.metrics/v1", alias="schema")
    worker_id: Annotated[str, Field(min_length=1, max_length=128)]
    at: Timestamp
    platform: PlatformId
    partitions: list[Annotated[int, Field(ge=0)]]
    counts: PlatformCounts
    time_to_ack: Percentiles
    time_to_action: Percentiles
    groups: dict[str, GroupFigures] = Field(default_factory=dict)
    worker: WorkerCounts
