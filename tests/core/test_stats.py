from __future__ import annotations

from router.core.stats import Histogram, PartitionStats, merge_partitions, on_breach, on_response, on_routed


def test_histogram_percentiles_are_bucket_upper_bounds() -> None:
    h = Histogram()
    assert h.percentile(0.5) is None
    for seconds in [1, 2, 3, 100, 1000]:
        h.add(seconds)
    p50 = h.percentile(0.5)
    assert p50 is not None and 3 <= p50 <= 3 * 1.2
    p99 = h.percentile(0.99)
    assert p99 is not None and 1000 <= p99 <= 1000 * 1.2
    assert Histogram.from_dict(h.to_dict()) == h


def test_counts_per_platform_and_group_merge_across_partitions() -> None:
    a, b = PartitionStats(), PartitionStats()
    on_routed(a, "x", ["TTP"])
    on_routed(b, "x", ["TTP", "BLA"])
    on_response(b, "x", ["TTP", "BLA"], acknowledged=True, ack_in_time=True, time_to_ack=5, actioned=True,
                action_in_time=False, time_to_action=50)
    on_breach(a, "x", ["TTP"], "ack")
    total = merge_partitions([a, b, PartitionStats.from_dict(PartitionStats().to_dict())])
    x = total.platforms["x"].counts
    assert (x["routed"], x["open_cases"], x["acknowledged"], x["actioned"], x["breached_ack"]) == (2, 1, 1, 1, 1)
    assert x["acknowledged_in_time"] == 1 and x["actioned_in_time"] == 0
    assert total.groups[("x", "TTP")].counts["routed"] == 2
    assert total.groups[("x", "BLA")].counts["actioned"] == 1
    assert PartitionStats.from_dict(b.to_dict()).to_dict() == b.to_dict()
