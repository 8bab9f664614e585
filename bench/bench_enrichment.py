"""Enrichment throughput on one core (prints figures; not a test).

Run: python bench/bench_enrichment.py [--reports 20000]

What is measured, per report, in two figures: (1) the enrichment — resolve the target, tag groups,
origins and mirrors, set the priority — of reports already validated; (2) the whole per-report
work of intake before the case step: the same plus decoding and validating the raw bytes
(pydantic). Over realistic demo reports (router.demo: a mix of platforms and URL spellings, group mentions in
several spellings and scripts, 30 % with a phone, 30 % with an IP), with the real watchlist and
with synthetic watchlists of 2,000 and 20,000 aliases, and with 10,000 known banned accounts.
Target (issue 3): at least 20,000 reports/s with 2,000 aliases, the same order with 20,000.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import string
import sys
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_groups import synthetic_watchlist

from router.config import load_registry
from router.core.enrich import Enricher
from router.core.groups import GroupMatcher
from router.core.mirrors import BannedIndex
from router.core.watchlist import load_watchlist_dict
from router.decode import Rejection, decode_report
from router.demo import demo_reports
from router.geoip import IpCountryTable
from router.settings import load_settings

WATCHLIST = Path(__file__).resolve().parents[1] / "router" / "data" / "watchlist.yaml"


def banned(count: int) -> BannedIndex:
    rng = random.Random(3)
    index = BannedIndex()
    platforms = ["x", "telegram", "facebook", "instagram", "tiktok", "youtube"]
    for _ in range(count):
        handle = "".join(rng.choice(string.ascii_lowercase + "_") for _ in range(rng.randint(6, 14)))
        index.add(rng.choice(platforms), handle)
    return index


def run(enricher: Enricher, records: list[bytes], rounds: int) -> float:
    """Decode, validate and enrich: best of ``rounds`` passes, reports per second."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for raw in records:
            with contextlib.suppress(Rejection):
                enricher.enrich(decode_report(raw, 262_144))
        best = max(best, len(records) / (time.perf_counter() - t0))
    return best


def run_enrich(enricher: Enricher, reports: list[Any], rounds: int) -> float:
    """Enrich validated reports: best of ``rounds`` passes, reports per second."""
    best = 0.0
    enrich = enricher.enrich
    for _ in range(rounds):
        t0 = time.perf_counter()
        for report in reports:
            enrich(report)
        best = max(best, len(reports) / (time.perf_counter() - t0))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    records = [value for _, value in itertools.islice(demo_reports(seed=5, invalid_share=0.0), args.reports)]
    registry = load_registry(load_settings())
    ip = IpCountryTable.load()
    real = yaml.safe_load(WATCHLIST.read_text())
    index = banned(10_000)
    validated = [decode_report(raw, 262_144) for raw in records]
    print(f"{len(records)} demo reports, one core, best of {args.rounds}; 10,000 banned accounts known")
    print(f"{'':37} {'enrichment':>24} {'decode + validate + enrich':>28}")
    for label, watchlist in (("real watchlist", load_watchlist_dict(real)),
                             ("2,000 aliases", synthetic_watchlist(real, 2_000)),
                             ("20,000 aliases", synthetic_watchlist(real, 20_000))):
        matcher = GroupMatcher(watchlist)
        enricher = Enricher(registry, matcher, ip, index)
        alone, whole = run_enrich(enricher, validated, args.rounds), run(enricher, records, args.rounds)
        print(f"{label:15} ({matcher.alias_count:6} names):  {alone:9,.0f} /s ({1e6 / alone:5.1f} us)"
              f"  {whole:15,.0f} /s ({1e6 / whole:5.1f} us)")


if __name__ == "__main__":
    main()
