"""``Enricher.enrich_many`` (the worker's batch path) against ``enrich`` of each report alone."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import NamedTuple

import pytest

from router.config import load_config
from router.core.enrich import Enriched, Enricher
from router.core.mirrors import BannedIndex
from router.core.urls import UrlError
from router.decode import Rejection, decode_report
from router.settings import load_settings

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    config = load_config(load_settings())
    banned = BannedIndex()
    for line in (DATA / "banned_accounts.csv").read_text().splitlines()[1:]:
        platform, account = line.split(",", 1)
        banned.add(platform.strip(), account.strip())
    return Enricher(config.registry, config.matcher, config.ip_table, banned)


def _reports() -> list:
    reports = []
    for name in ("dev.jsonl", "enrichment_hard.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            data = json.loads(line)
            raw = data["raw"].encode() if "raw" in data else json.dumps(data["event"]).encode()
            with contextlib.suppress(Rejection):
                reports.append(decode_report(raw, 262_144))
    return reports


class Failed(NamedTuple):
    kind: type
    message: str


def _outcome(enricher: Enricher, report) -> object:
    try:
        return enricher.enrich(report)
    except Exception as exc:
        return Failed(type(exc), str(exc))


def test_a_batch_gives_what_each_report_gives_alone(enricher: Enricher) -> None:
    reports = _reports()
    assert len(reports) > 400
    # failures (unresolvable targets) interleaved with valid reports: a failed stage must not shift the others
    failing = [r.model_copy(update={"url": "https://"}) for r in reports[:40]]
    batch = [x for pair in zip(reports[:40], failing, strict=True) for x in pair] + reports[40:]
    alone = [_outcome(enricher, r) for r in batch]
    together = [Failed(type(x), str(x)) if isinstance(x, Exception) else x for x in enricher.enrich_many(batch)]
    assert together == alone
    failed = [x for x in together if isinstance(x, Failed)]
    assert len(failed) >= 40 and all(x.kind is UrlError for x in failed)
    assert together[1:80:2] == [Failed(UrlError, "url must be http(s) with a host")] * 40
    enriched = [x for x in together if isinstance(x, Enriched)]
    assert len(enriched) + len(failed) == len(batch)
    assert sum(1 for x in enriched if x.groups) > 150
    assert sum(1 for x in enriched if x.mirror_of) >= 5
    assert sum(1 for x in enriched if x.origins) > 40


def test_a_crash_in_one_stage_is_that_report_s_result_only(enricher: Enricher) -> None:
    reports = _reports()[:6]

    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        def match(self, text, account=None, url=None):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("crafted")
            return ()

    flaky = Enricher(enricher.registry, Flaky(), enricher.ip_lookup, enricher.mirrors)
    results = flaky.enrich_many(reports)
    assert [type(x).__name__ for x in results] == ["Enriched"] * 2 + ["RuntimeError"] + ["Enriched"] * 3
    assert [x.report_id for x in results if not isinstance(x, Exception)] == [
        r.report_id for i, r in enumerate(reports) if i != 2]
    assert enricher.enrich_many([]) == []
