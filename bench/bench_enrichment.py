"""Enrichment throughput on one core (prints figures; not a test).

Run: python bench/bench_enrichment.py [--reports 20000]

What is measured, per report, in three figures: (1) the enrichment — resolve the target, tag groups,
origins and mirrors, set the priority — of reports already validated, in batches as the worker's
intake lane runs it (``Enricher.enrich_many``, stage by stage over the batch); (2) the whole
per-report work of intake before the case step: the same plus decoding and validating the raw bytes
(pydantic); (3) the enrichment of (1) called report by report (``Enricher.enrich``), for comparison.
Over realistic demo reports (router.demo: a mix of platforms and URL spellings, group mentions in
several spellings and scripts, 30 % with a phone, 30 % with an IP), with the real watchlist and
with synthetic watchlists of 2,000 and 20,000 aliases, and with 10,000 known banned accounts.
Target (issue 3): at least 20,000 reports/s with 2,000 aliases, the same order with 20,000.
"""

from __future__ import annotations

import argparse
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


def _decoded(raw: bytes) -> Any:
    try:
        return decode_report(raw, 262_144)
    except Rejection:
        return None


def run(enricher: Enricher, records: list[bytes], rounds: int, batch: int) -> float:
    """Decode, validate and enrich, as the intake lane does (decode a batch, enrich its valid reports
    together): best of ``rounds`` passes, reports per second."""
    best = 0.0
    enrich_many = enricher.enrich_many
    for _ in range(rounds):
        t0 = time.perf_counter()
        for i in range(0, len(records), batch):
            enrich_many([r for r in map(_decoded, records[i : i + batch]) if r is not None])
        best = max(best, len(records) / (time.perf_counter() - t0))
    return best


def run_enrich(enricher: Enricher, reports: list[Any], rounds: int, batch: int) -> float:
    """Enrich validated reports in batches of ``batch`` (1: ``enrich`` report by report): best of
    ``rounds`` passes, reports per second."""
    best = 0.0
    enrich, enrich_many = enricher.enrich, enricher.enrich_many
    batches = [reports[i : i + batch] for i in range(0, len(reports), batch)]
    for _ in range(rounds):
        t0 = time.perf_counter()
        if batch == 1:
            for report in reports:
                enrich(report)
        else:
            for chunk in batches:
                enrich_many(chunk)
        best = max(best, len(reports) / (time.perf_counter() - t0))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=200,
                        help="reports enriched together, as in one intake lane batch (default 200; the "
                             "worker's batches go up to ROUTER_BATCH_MAX, 1,000)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    records = [value for _, value in itertools.islice(demo_reports(seed=5, invalid_share=0.0), args.reports)]
    registry = load_registry(load_settings())
    ip = IpCountryTable.load()
    real = yaml.safe_load(WATCHLIST.read_text())
    index = banned(10_000)
    validated = [decode_report(raw, 262_144) for raw in records]
    print(f"{len(records)} demo reports, one core, best of {args.rounds}; 10,000 banned accounts known; "
          f"batches of {args.batch} (and one by one, for comparison)")
    print(f"{'':37} {'enrichment':>24} {'decode + validate + enrich':>28} {'enrich one by one':>26}")
    for label, watchlist in (("real watchlist", load_watchlist_dict(real)),
                             ("2,000 aliases", synthetic_watchlist(real, 2_000)),
                             ("20,000 aliases", synthetic_watchlist(real, 20_000))):
        matcher = GroupMatcher(watchlist)
        enricher = Enricher(registry, matcher, ip, index)
        alone = run_enrich(enricher, validated, args.rounds, args.batch)
        whole = run(enricher, records, args.rounds, args.batch)
        single = run_enrich(enricher, validated, args.rounds, 1)
        print(f"{label:15} ({matcher.alias_count:6} names):  {alone:9,.0f} /s ({1e6 / alone:5.1f} us)"
              f"  {whole:15,.0f} /s ({1e6 / whole:5.1f} us)  {single:12,.0f} /s ({1e6 / single:5.1f} us)")


if __name__ == "__main__":
    main()
