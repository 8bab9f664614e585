"""Benchmark of group tagging and mirror detection (prints figures; not a test).

Run: python bench/bench_groups.py [--quick]

Figures: per-report latency of GroupMatcher.match (median, p90, p99) on typical reports (about 200
characters of text, an account and a URL; a mix of reports naming no group, one group, and obfuscated or
non-Latin names) with the real watchlist and with synthetic watchlists of 2,000 and 20,000 aliases; the
matcher's build time; BannedIndex build and find latency with 100,000 banned accounts.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from router.core.groups import GroupMatcher
from router.core.mirrors import BannedIndex
from router.core.watchlist import Watchlist, load_watchlist_dict

WATCHLIST = Path(__file__).resolve().parents[1] / "router" / "data" / "watchlist.yaml"

FILLER = (
    "Video posted on a channel that shares propaganda; the caption praises the attack on the convoy near "
    "Quetta and asks followers to share it widely. Reported by several users, see the linked post for details."
)
REPORTS: list[tuple[str, str | None, str | None]] = [
    (FILLER, "@some_account_name", "https://t.me/some_channel/12345"),
    (FILLER, None, "https://x.com/newsdesk/status/1700000000000000001"),
    ("Statement of the TTP spokesman claiming the attack. " + FILLER[:150], "@news_pk", "https://x.com/a/status/1"),
    ("BLA claims the convoy attack in a video released today. " + FILLER[:140], None, "https://youtube.com/watch?v=abc"),
    ("#BLA #Balochistan " + FILLER[:180], "@BLF_media", "https://x.com/BLF_media/status/2"),
    ("Islamic State Khorasan (IS-K) video " + FILLER[:165], "@channel", "https://t.me/c/123"),
    (FILLER, "@tehreek_e_taliban_pk", "https://x.com/tehreek_e_taliban_pk/status/3"),
    ("The Taliban in Afghanistan announced a new minister. " + FILLER[:150], None, "https://x.com/f/status/4"),
    ("T.T.P and I.S.K.P. new release " + FILLER[:170], None, "https://t.me/s/publicchannel"),
    ("تحریک طالبان پاکستان نے حملے کی ذمہ داری قبول کر لی ہے اور ویڈیو جاری کی ہے۔ " * 2, None, "https://t.me/x/1"),
]


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def summary(samples_us: Sequence[float]) -> str:
    q = statistics.quantiles(samples_us, n=100)
    return f"median {statistics.median(samples_us):6.2f} us  p90 {q[89]:6.2f} us  p99 {q[98]:6.2f} us"


def best_batch_mean(fn: Callable[[], Any], batches: int = 15, size: int = 200) -> float:
    """Mean per call of the fastest batch: the cost without interference from other load on the machine."""
    best = float("inf")
    for _ in range(batches):
        t0 = time.perf_counter_ns()
        for _ in range(size):
            fn()
        best = min(best, (time.perf_counter_ns() - t0) / size / 1000)
    return best


def bench_matcher(label: str, watchlist: Watchlist, repeat: int) -> None:
    t0 = time.perf_counter()
    matcher = GroupMatcher(watchlist)
    build = time.perf_counter() - t0
    print(f"\n[{label}] names indexed: {matcher.alias_count}, build {build * 1000:.0f} ms")
    everything: list[float] = []
    bests: list[float] = []
    for text, account, url in REPORTS:
        call = lambda t=text, a=account, u=url: matcher.match(t, a, u)  # noqa: E731
        samples = timed(call, repeat)
        everything.extend(samples)
        bests.append(best_batch_mean(call))
        tags = ",".join(t.id for t in matcher.match(text, account, url)) or "-"
        print(f"  {summary(samples)}  best batch {bests[-1]:6.2f} us  {len(text):4d} chars -> {tags:9s} {text[:32]!r}")
    print(f"  all reports: {summary(everything)}  ({len(everything) / (sum(everything) / 1e6):,.0f} reports/s); "
          f"best batches: median {statistics.median(bests):.2f} us")


def synthetic_watchlist(real: dict[str, Any], aliases: int, seed: int = 1) -> Watchlist:
    """The real watchlist plus synthetic groups whose names are pronounceable words and acronyms."""
    rng = random.Random(seed)
    syllables = [c + v for c in "bdfghjkmnprstvwz" for v in "aeiou"] + ["khan", "stan", "abad", "pur", "ul"]
    groups = list(real["groups"])
    taken: set[str] = set()
    n = 0
    while n < aliases:
        names = []
        for _ in range(10):
            words = [
                "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()
                for _ in range(rng.randint(1, 4))
            ]
            acronym = "".join(rng.choice(string.ascii_uppercase) for _ in range(5))
            name = " ".join(words) if rng.random() < 0.9 else acronym
            if name.lower() not in taken:
                taken.add(name.lower())
                names.append(name)
        groups.append({**real["groups"][0], "id": f"SYN{len(groups)}", "name": names[0], "aliases": names,
                       "exact_case": [], "scripts": {}, "state_names": [], "media": [], "hashtags": [],
                       "not_followed_by": {}, "not_preceded_by": {}})
        n += len(names)
    return load_watchlist_dict({**real, "groups": groups})


def bench_mirrors(count: int, repeat: int) -> None:
    rng = random.Random(7)
    alphabet = string.ascii_lowercase + string.digits + "_"
    handles = list(dict.fromkeys(
        "".join(rng.choice(alphabet) for _ in range(rng.randint(5, 15))) for _ in range(count)
    ))
    t0 = time.perf_counter()
    index = BannedIndex(("x", h) for h in handles)
    build = time.perf_counter() - t0
    print(f"\n[mirrors] {len(index):,} banned accounts, build {build:.2f} s ({build / len(index) * 1e6:.1f} us/add)")
    queries = {
        "exact banned account": [handles[i] for i in range(0, len(handles), len(handles) // 200)],
        "suffix mirror (_backup)": [handles[i] + "_backup" for i in range(0, len(handles), len(handles) // 200)],
        "one edit": [handles[i][:-1] + "q" for i in range(0, len(handles), len(handles) // 200)],
        "unrelated": ["".join(rng.choice(alphabet) for _ in range(rng.randint(5, 15))) for _ in range(200)],
    }
    for label, accounts in queries.items():
        samples = [s for a in accounts for s in timed(lambda a=a: index.find("x", a), max(1, repeat // 50))]
        print(f"  find, {label:24s} {summary(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeat = 300 if args.quick else 3000
    with WATCHLIST.open(encoding="utf-8") as f:
        real = yaml.safe_load(f)
    print(f"Python {sys.version.split()[0]}; {repeat} runs per report")
    bench_matcher("real watchlist", load_watchlist_dict(real), repeat)
    for size in (2_000, 20_000):
        bench_matcher(f"synthetic, {size:,} extra aliases", synthetic_watchlist(real, size), repeat)
    bench_mirrors(100_000, repeat)


if __name__ == "__main__":
    main()
