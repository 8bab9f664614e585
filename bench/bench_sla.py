"""The SLA sweep at scale (prints figures; not a test).

Run: python bench/bench_sla.py [--cases 1000000]

Opens N cases (deadlines spread over the next 24 hours) in a CaseWork on a real Faust memory
table, exactly as the worker holds them, then times the sweep: a tick that finds nothing due, and
a tick that finds 1,000 cases due. Also prints the memory per open case: the deadline index alone
(what the sweep keeps in memory whatever the store), and the memory-store table with it.
Target (issue 4): a tick that finds nothing due costs under 5 ms with one million open cases.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router.core.cases import open_case
from router.core.deadlines import DeadlineIndex
from router.core.policy import Deadlines
from router.output import Outbox
from tests.agents.fakes import rig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.cases
    rng = random.Random(1)
    now = 1_800_000_000.0
    from datetime import timedelta

    # the index alone: what the sweep keeps per open case
    gc.collect()
    tracemalloc.start()
    index = DeadlineIndex()
    for i in range(n):
        index.push(now + rng.uniform(60, 86400), f"telegram-{i:024x}", i % 8)
    index_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del index
    gc.collect()

    r = rig(held=set(range(4)))
    casework = r.casework
    sample = min(n, 50_000)  # memory is traced over the first cases only: tracing slows the rest
    tracemalloc.start()
    t0 = time.perf_counter()
    out = Outbox()
    table_bytes = 0
    for i in range(n):
        if i == sample:
            table_bytes = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
        delay = rng.uniform(60, 86400)
        ttp = {"id": "TTP", "name": "Tehrik-i-Taliban Pakistan", "matched": ["TTP"], "designations": ["PK", "UN"]}
        case = open_case(case_id=f"telegram-{i:024x}", platform="telegram", url=f"https://t.me/c{i}/1",
                         account=f"c{i}", kind="content", report_id=f"r{i}", groups=(ttp,),
                         origins=({"country": "PK", "signal": "phone"},), mirror_of=None, priority="normal",
                         requested_actions=("remove_content", "preserve_evidence"), legal_basis=(),
                         deadlines=Deadlines(ack=timedelta(seconds=delay), action=timedelta(seconds=2 * delay)),
                         now=now)
        casework._save(i % 4, None, case, out)
        if len(out.then) > 10_000:
            out = Outbox()  # the worker publishes and drops these; keep memory honest
    built = time.perf_counter() - t0
    if tracemalloc.is_tracing():
        table_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    print(f"{n:,} open cases built in {built:.1f}s; index entries {len(casework.index):,}")
    print(f"memory per open case: deadline index {index_bytes / n:.0f} B; memory-store table + index "
          f"{table_bytes / sample:.0f} B (RocksDB keeps the case on disk: only the index stays in memory)")

    held = {0, 1, 2, 3}
    empty = []
    for _ in range(2000):
        t = time.perf_counter()
        casework.sweep(now + 1, held, Outbox())
        empty.append((time.perf_counter() - t) * 1e6)
    q = statistics.quantiles(empty, n=100)
    print(f"tick with nothing due: median {statistics.median(empty):.1f} us, p99 {q[98]:.1f} us, "
          f"max {max(empty):.1f} us  (target < 5,000 us)")

    first = casework.index.peek() or now
    due_out = Outbox()
    t = time.perf_counter()
    raised = casework.sweep(first + 30, held, due_out)
    dt = time.perf_counter() - t
    print(f"tick with {len(raised):,} breaches due: {dt * 1000:.1f} ms ({dt / max(1, len(raised)) * 1e6:.1f} us each)")


if __name__ == "__main__":
    main()
