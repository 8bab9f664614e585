from __future__ import annotations

from datetime import timedelta

import pytest

from router.core.policy import DEFAULTS, PolicyError, load_policy, parse_duration

PLATFORMS = ["x", "facebook", "unknown"]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800),
                                               ("1.5h", 5400), (" 3s ", 3)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["15", "1w", "-5m", "0s", "m", "", "1 hour", 15, None, "400d"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_defaults_without_a_file() -> None:
    policy = load_policy(None, PLATFORMS)
    assert policy.deadlines("x", "critical").action == timedelta(hours=1)  # EU TCO
    assert policy.deadlines("x", "critical").ack == timedelta(minutes=15)
    assert policy.deadlines("x", "high") == DEFAULTS["high"]
    assert policy.deadlines("x", "normal").action == timedelta(hours=24)


def test_partial_file_keeps_defaults_and_overrides_per_platform() -> None:
    policy = load_policy({"priorities": {"normal": {"ack": "2h"}}, "platforms": {"x": {"normal": {"action": "12h"}}}},
                         PLATFORMS)
    assert policy.deadlines("facebook", "normal").ack == timedelta(hours=2)
    assert policy.deadlines("facebook", "normal").action == timedelta(hours=24)
    assert policy.deadlines("x", "normal").action == timedelta(hours=12)
    assert policy.deadlines("x", "normal").ack == timedelta(hours=2)  # from the file's priorities
    assert policy.deadlines("x", "critical") == DEFAULTS["critical"]


def test_every_problem_is_named() -> None:
    with pytest.raises(PolicyError) as info:
        load_policy({"priorities": {"urgent": {"ack": "1m"}, "high": {"ack": "soon", "later": "1h"}},
                     "platforms": {"myspace": {"normal": {"ack": "1m"}}}, "extra": 1}, PLATFORMS)
    text = str(info.value)
    for fragment in ("priorities.urgent: unknown priority", "priorities.high.ack", "priorities.high.later",
                     "platforms.myspace: unknown platform", "extra: unknown key"):
        assert fragment in text


def test_ack_must_not_be_later_than_action() -> None:
    with pytest.raises(PolicyError, match="ack deadline is later"):
        load_policy({"priorities": {"normal": {"ack": "2d"}}}, PLATFORMS)
