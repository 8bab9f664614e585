from __future__ import annotations

from router.core.scorecard import current_snapshots, scorecard


def rec(worker, at, platform, partitions, routed=0, in_time=0, breached_ack=0, buckets=None, groups=None):
    counts = {"routed": routed, "attached": 0, "acknowledged": routed, "actioned": in_time,
              "breached_ack": breached_ack, "breached_action": 0, "open_cases": routed - in_time,
              "acknowledged_in_time": routed, "actioned_in_time": in_time}
    dist = {"count": sum((buckets or {}).values()), "p50": None, "p90": None, "p99": None, "buckets": buckets or {}}
    return {"schema": "router.metrics/v1", "worker_id": worker, "at": at, "platform": platform,
            "partitions": partitions, "counts": counts, "time_to_ack": dist, "time_to_action": dist,
            "groups": groups or {}, "worker": {}}


def test_latest_snapshot_of_each_worker_without_overlaps() -> None:
    records = [
        rec("w1", "2026-11-01T10:00:00Z", "x", [0, 1, 2, 3], routed=5),
        rec("w1", "2026-11-01T10:00:10Z", "x", [0, 1], routed=3),
        rec("w2", "2026-11-01T10:00:09Z", "x", [2, 3], routed=4),
        # w3 died holding 2 and 3 long ago; w2's newer snapshot claims them
        rec("w3", "2026-11-01T09:00:00Z", "x", [2, 3], routed=9),
    ]
    chosen = current_snapshots(records)
    assert sorted(s[0]["worker_id"] for s in chosen) == ["w1", "w2"]
    card = scorecard(records)
    assert card.platforms["x"].counts["routed"] == 7
    assert card.partitions == [0, 1, 2, 3]


def test_medians_merge_distributions_and_groups_sum_across_platforms() -> None:
    ttp = {"counts": {"routed": 2, "actioned_in_time": 1}, "time_to_action": {"buckets": {"10.0": 2}}}
    records = [
        rec("w1", "t1", "x", [0], routed=2, in_time=1, buckets={"10.0": 1, "100.0": 1}, groups={"TTP": ttp}),
        rec("w2", "t1", "facebook", [1], routed=2, in_time=2, buckets={"1000.0": 2}, groups={"TTP": ttp}),
    ]
    card = scorecard(records)
    assert card.total.counts["routed"] == 4
    assert card.total.time_to_action.percentile(0.5) == 100.0  # of 10, 100, 1000, 1000
    assert card.groups["TTP"].counts["routed"] == 4
    assert card.platforms["x"].share("actioned_in_time") == 0.5
    assert card.platforms["x"].as_dict()["median_time_to_action_s"] == 10.0
