"""The benchmark command's own arithmetic (the benchmark itself is a command: ``router bench``)."""

import argparse

import pytest

from router.bench import MIN_REPORTS, poll_delay, report_count


def test_progress_is_read_rarely_mid_run_and_often_near_the_end() -> None:
    assert poll_delay(0, 100_000, 0.0) == 0.2  # nothing done yet: the start is looked for
    assert poll_delay(10_000, 90_000, 1.0) == 2.0  # 9 s to go at 10,000/s: the longest wait
    assert poll_delay(90_000, 10_000, 9.0) == 0.5  # 1 s to go: half of it
    assert poll_delay(99_900, 100, 9.99) == 0.05  # 10 ms to go: the shortest wait
    waits, done, elapsed = 0, 0.0, 0.0
    while done < 100_000:  # a run at 10,000 reports/s, as the bench loop reads it
        step = poll_delay(done, 100_000 - done, elapsed) if done else 0.2
        elapsed += step
        done = min(100_000.0, elapsed * 10_000)
        waits += 1
    assert waits < 20  # 50 at the fixed 0.2 s
    assert elapsed - 10.0 <= 0.05  # the end is seen within 0.05 s


def test_a_run_too_small_to_time_is_refused_with_the_reason() -> None:
    assert report_count("100000") == 100_000 and report_count("20_000") == 20_000 and report_count("10,000") == 10_000
    for bad in (str(MIN_REPORTS - 1), "3000", "0", "-5", "many", "1.5e4"):
        with pytest.raises(argparse.ArgumentTypeError):
            report_count(bad)
