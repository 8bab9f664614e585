"""Benchmark of origin tagging: IP data load time and memory, lookup and tagging speed.

Run from the repository root with the project installed:

    python bench/bench_origins.py [--n 50000]

Prints one line per figure. Speeds are the best of several runs over fixed random public
addresses (seeded, so runs are comparable); memory is the process's resident set size (Linux).
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import resource
import time
import timeit
from collections.abc import Callable
from pathlib import Path


def rss_mb() -> float:
    """Current resident set size in MB (VmRSS), or the peak where /proc is not available."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def per_call_us(fn: Callable[[object], object], items: list, repeat: int = 5) -> float:
    """Best mean time per call over ``repeat`` passes across ``items``, in microseconds."""

    def one_pass() -> None:
        for item in items:
            fn(item)

    best = min(timeit.repeat(one_pass, number=1, repeat=repeat))
    return best / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="lookups per measurement")
    args = parser.parse_args()

    rss_start = rss_mb()
    started = time.perf_counter()
    from router.geoip import IpCountryTable

    table = IpCountryTable.load()
    load_s = time.perf_counter() - started
    rss_table = rss_mb()

    started = time.perf_counter()
    from router.core import origins

    origins.phone_country("+93 79 555 0101")  # phonenumbers loads its metadata on first use
    phone_warmup_s = time.perf_counter() - started
    rss_all = rss_mb()

    rng = random.Random(42)
    v4 = [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(args.n)]
    v6 = [ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124)) for _ in range(args.n)]
    v4_text = [str(a) for a in v4]
    v6_text = [str(a) for a in v6]
    phones = ["+93 79 555 0101", "+91 22 5555 0101", "+92 300 1234567", "+1 202 555 0101", "0300 1234567"]
    phone_items = phones * (max(args.n // 20, 1000) // len(phones))
    signals = [{"phone": "+92 300 1234567", "ip": ip, "country": "PK"} for ip in v4_text[: len(phone_items)]]
    hits = sum(table.country(a) is not None for a in v4[:10_000]) / 100

    print(f"data: {table.source} {table.data_version}, built {table.data_built}, licence {table.licence}")
    print(f"load (import + IpCountryTable.load): {load_s * 1000:.1f} ms")
    print(
        f"resident memory: start {rss_start:.1f} MB, with IP table {rss_table:.1f} MB "
        f"(+{rss_table - rss_start:.1f}), with phonenumbers {rss_all:.1f} MB (+{rss_all - rss_table:.1f})"
    )
    print(f"phonenumbers first use: {phone_warmup_s * 1000:.1f} ms")
    print(f"IPv4 random addresses found in registry data: {hits:.0f}%")

    def ip_text(text: object) -> object:
        return origins.ip_country(text, table)  # type: ignore[arg-type]

    def tag(sig: object) -> object:
        return origins.tag_origins(sig, table)  # type: ignore[arg-type]

    speeds = [
        ("IpCountryTable.country, IPv4 object", table.country, v4),
        ("IpCountryTable.country, IPv6 object", table.country, v6),
        ("ip_country(text), IPv4: parse + filter + lookup", ip_text, v4_text),
        ("ip_country(text), IPv6: parse + filter + lookup", ip_text, v6_text),
        ("phone_country", origins.phone_country, phone_items),
        ("declared_country", origins.declared_country, ["pk"] * 100_000),
        ("tag_origins, phone + IPv4 + declared", tag, signals),
    ]
    for name, fn, items in speeds:
        print(f"{name + ':':50} {per_call_us(fn, items):6.2f} us per call")


if __name__ == "__main__":
    main()
