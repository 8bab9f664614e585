"""``router bench``: the router against the raw client, on the same broker and the same reports.

In one run, on the embedded broker and the same generated realistic reports (``router.demo``):

(a) the raw baseline: one aiokafka process that consumes, parses and validates each report with
    the contract's model (``ReportSubmittedV1.model_validate_json``), and produces it again
    (``model_dump_json``) — a pass-through with no enrichment, no state, no receipts. With
    ``--raw-parse json`` it parses with ``json.loads`` and produces ``json.dumps`` of that, no
    validation: a faster baseline, closer to the bare "consume, parse, produce" loop;
(b) the full router: ``router worker`` (validation, enrichment, the cases table and its
    changelog, routing, receipts), as deployed, with the store of ``--store``.

Throughput: N reports are loaded before the process starts; it is timed from its first record to
the moment the last one is fully processed (the baseline: its output acknowledged by the broker;
the router: every record it produced acknowledged, counted by the worker's
``router_records_done_total``). Latency: reports sent at a fixed rate (1,000/s), each timed from
its send to its output (the baseline's record, the router's receipt) read back by this process.
The worker's peak memory (VmHWM) and CPU come from /proc, its intake helper processes included (their peaks
added to its own). Each measure is repeated and the median
printed. It is a command, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from router.embedded import EmbeddedBroker, free_port, killed_with_parent, start_broker
from router.native import status as native_status

PARTITIONS = 4


def say(text: str) -> None:
    print(text, flush=True)


# --- the reports --------------------------------------------------------------------------------
def reports(n: int, seed: int, distinct_targets: int | None = None, invalid_share: float = 0.01
            ) -> list[tuple[bytes | None, bytes]]:
    """``n`` realistic reports with unique ids (a few percent invalid, some repeats)."""
    from router.demo import demo_reports

    out = []
    for i, (key, value) in enumerate(itertools.islice(demo_reports(seed=seed, invalid_share=invalid_share), n)):
        if distinct_targets is not None and key is not None:
            body = json.loads(value)
            body["url"] = f"https://t.me/channel{i % distinct_targets}/{i % distinct_targets}"
            value = json.dumps(body).encode()
        out.append((key, value))
    return out


async def _topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
    finally:
        await admin.close()


async def _load(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


# --- the raw baseline (run as its own process: ``python -m router.bench raw ...``) ---------------
async def raw_loop(bootstrap: str, source: str, sink: str, group: str, expect: int | None,
                   parse: str = "model") -> None:
    """Consume, validate with the contract's model (``parse="json"``: ``json.loads`` only),
    produce; report timing on stdout as JSON.

    As fast as a plain loop can be: deliveries are not awaited one batch at a time (the producer
    pipelines them); a record counts once the broker has acknowledged its output."""
    from schemas import ReportSubmittedV1

    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=True, max_partition_fetch_bytes=4 << 20, fetch_max_wait_ms=100)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, acks="all", max_batch_size=1 << 20)
    await consumer.start()
    await producer.start()
    print(json.dumps({"ready": True}), flush=True)
    done = 0
    all_done = asyncio.Event()
    first = None

    def delivered(_: Any) -> None:
        nonlocal done
        done += 1
        if expect is not None and done >= expect:
            all_done.set()

    validate = ReportSubmittedV1.model_validate_json

    def validated(raw: bytes) -> bytes:
        return validate(raw).model_dump_json(by_alias=True).encode()

    def parsed(raw: bytes) -> bytes:
        return json.dumps(json.loads(raw)).encode()

    passed = parsed if parse == "json" else validated
    try:
        while not all_done.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=5000)
            for messages in batch.values():
                for message in messages:
                    if first is None:
                        first = time.perf_counter()
                    try:
                        value = passed(message.value)
                    except ValueError:
                        value = message.value
                    (await producer.send(sink, value, key=message.key)).add_done_callback(delivered)
        seconds = time.perf_counter() - (first or time.perf_counter())
        print(json.dumps({"done": done, "seconds": seconds}), flush=True)
    finally:
        await consumer.stop()
        await producer.stop()


# --- process measurements ---------------------------------------------------------------------------
def _one(pid: int) -> tuple[int, float]:
    """(peak RSS in bytes, CPU seconds) of one process (0, 0.0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0.0
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) * 1024
    ticks = os.sysconf("SC_CLK_TCK")
    return hwm, (int(fields[11]) + int(fields[12])) / ticks


def _proc(pid: int) -> tuple[int, float]:
    """(peak RSS in bytes, CPU seconds) of a process and its children (the worker's intake helpers):
    the peaks are added, an upper bound of the peak of the whole."""
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        children = []
    hwm, cpu = _one(pid)
    for child in children:
        child_hwm, child_cpu = _one(child)
        hwm += child_hwm
        cpu += child_cpu
    return hwm, cpu


@dataclass
class Worker:
    broker: EmbeddedBroker
    store: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    name: str = "worker"
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    def start(self) -> None:
        self.port = free_port()
        env = {**os.environ, "ROUTER_BROKER": self.broker.url, "ROUTER_STORE": self.store,
               "ROUTER_PARTITIONS": str(PARTITIONS), "ROUTER_WEB_PORT": str(self.port),
               "ROUTER_DATA_DIR": str(self.workdir / f"state-{self.port}"), "ROUTER_LOG_FORMAT": "json",
               "ROUTER_SESSION_TIMEOUT_S": "6", "ROUTER_WORKER_ID": self.name, **self.env}
        log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115 - handed to the process
        self.process = subprocess.Popen([sys.executable, "-m", "router", "worker"], env=env, stdout=log,
                                        stderr=subprocess.STDOUT,
                                        preexec_fn=killed_with_parent if sys.platform == "linux" else None)
        log.close()

    def metric(self, name: str, **labels: str) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as response:
            text = response.read().decode()
        want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
        for line in text.splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return 0.0

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} "
                                   f"(see {self.workdir}/{self.name}.log)")
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=1) as response:
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("the worker did not become ready")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _router_topics(broker: EmbeddedBroker) -> Any:
    """Create the router's topics on ``broker``; returns the settings they were made from."""
    from router.config import load_registry
    from router.kafka import ensure_topics
    from router.settings import load_settings

    settings = load_settings(broker=broker.url, partitions=PARTITIONS)
    asyncio.run(ensure_topics(settings, load_registry(settings).ids))
    return settings


# --- measures ---------------------------------------------------------------------------------------
@dataclass
class Throughput:
    rate: float
    peak_rss: int
    cpu: float  # CPU seconds per wall second while processing


def raw_throughput(records: list[tuple[bytes, bytes]], workdir: Path, parse: str = "model") -> Throughput:
    broker = start_broker(log=workdir / "broker-raw.log")
    try:
        asyncio.run(_topics(broker.bootstrap, ["bench.in", "bench.out"]))
        asyncio.run(_load(broker.bootstrap, "bench.in", records))
        process = subprocess.Popen([sys.executable, "-m", "router.bench", "raw", broker.bootstrap, "bench.in",
                                    "bench.out", str(len(records)), parse], stdout=subprocess.PIPE, text=True,
                                   preexec_fn=killed_with_parent if sys.platform == "linux" else None)
        assert process.stdout is not None
        json.loads(process.stdout.readline())  # ready
        cpu0 = _proc(process.pid)[1]
        t0 = time.monotonic()
        hwm = 0
        result = json.loads(process.stdout.readline())
        hwm, cpu1 = _proc(process.pid)
        wall = time.monotonic() - t0
        process.wait(30)
        return Throughput(result["done"] / result["seconds"], hwm, (cpu1 - cpu0) / wall)
    finally:
        broker.stop()


def poll_delay(done: float, remaining: float, elapsed: float) -> float:
    """Seconds to wait before reading the worker's progress again, ``done`` reports in ``elapsed``
    seconds and ``remaining`` to go. Each read of ``/metrics`` costs the worker a snapshot of its
    figures (0.9 ms of its CPU when idle; read 5 times a second through a run, 2.5 % of its event
    loop's samples in a profile). Half the time the rest should take, between 0.05 and 2 s: a few
    reads in mid-run, and the end seen within 0.05 s (the rate is timed from the first read to the
    last)."""
    if done <= 0 or elapsed <= 0:
        return 0.2
    return min(2.0, max(0.05, remaining / (done / elapsed) / 2))


def router_throughput(records: list[tuple[bytes, bytes]], workdir: Path, store: str,
                      env: dict[str, str] | None = None, progress: bool = False) -> Throughput:
    broker = start_broker(log=workdir / "broker-router.log")
    worker = Worker(broker, store, workdir, env or {})
    try:
        settings = _router_topics(broker)
        asyncio.run(_load(broker.bootstrap, settings.topic_submitted, records))
        worker.start()
        assert worker.process is not None
        n = len(records)
        start = None
        done = 0.0
        cpu0 = 0.0
        last_print = time.monotonic()
        while done < n:
            with contextlib.suppress(OSError):
                done = worker.metric("router_records_done_total", lane="intake")
            if start is None and done > 0:
                start, cpu0 = time.monotonic(), _proc(worker.process.pid)[1]
                first = done
            if worker.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {worker.process.returncode} (see {workdir}/worker.log)")
            if progress and time.monotonic() - last_print > 10:
                say(f"    ... {done:,.0f} of {n:,} reports done, worker peak memory "
                    f"{_proc(worker.process.pid)[0] / 2**20:,.0f} MB")
                last_print = time.monotonic()
            time.sleep(poll_delay(done - first, n - done, time.monotonic() - start) if start is not None else 0.2)
        assert start is not None
        if first >= n:
            raise RuntimeError(f"all {n:,} reports were done at the first reading of the worker's progress: "
                               f"too few to time (use more --reports)")
        wall = time.monotonic() - start
        hwm, cpu1 = _proc(worker.process.pid)
        return Throughput((n - first) / wall, hwm, (cpu1 - cpu0) / wall)
    finally:
        worker.stop()
        broker.stop()


def scaled_throughput(records: list[tuple[bytes, bytes]], workdir: Path, store: str, workers: int) -> float:
    """Reports/s of ``workers`` workers sharing the partitions (the scaling notes of the README).

    Unlike ``router_throughput`` the workers start first and the reports are published once the
    group is settled (every partition held, no rebalance under way), so that a worker joining
    late does not count as slowness; the rate is timed from the first report published to the
    last one done (done by intake: with two workers, a report whose case the other worker holds counts once it
    is forwarded on the cases topic, so the other worker's last batch is not in the time).
    """
    broker = start_broker(log=workdir / f"broker-scaling-{workers}.log")
    group = [Worker(broker, store, workdir, name=f"scaling-{workers}-{i}") for i in range(workers)]
    try:
        settings = _router_topics(broker)
        for worker in group:
            worker.start()
        for worker in group:
            worker.wait_ready()
        settled_since = None
        deadline = time.monotonic() + 120
        while settled_since is None or time.monotonic() - settled_since < 3:  # settled for 3 s
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not settle on a partition assignment")
            held = [w.metric("router_held_partitions") for w in group]
            settled = sum(held) == PARTITIONS and all(held)  # every partition held, once, by every worker
            settled_since = (settled_since or time.monotonic()) if settled else None
            time.sleep(0.2)
        n = len(records)

        def done_so_far() -> float:
            with contextlib.suppress(OSError):
                return sum(w.metric("router_records_done_total", lane="intake") for w in group)
            return 0.0

        async def publish_and_watch() -> float:  # the workers consume while this process publishes
            start = time.monotonic()
            task = asyncio.create_task(_load(broker.bootstrap, settings.topic_submitted, records))
            done = 0.0
            while done < n:
                await asyncio.sleep(0.05)
                done = await asyncio.to_thread(done_so_far)
                for w in group:
                    if w.process is not None and w.process.poll() is not None:
                        raise RuntimeError(f"{w.name} exited (see {workdir}/{w.name}.log)")
            end = time.monotonic()
            await task
            return n / (end - start)

        return asyncio.run(publish_and_watch())
    finally:
        for worker in group:
            worker.stop()
        broker.stop()


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")  # a latency run shorter than its warm-up
    return values[min(len(values) - 1, int(q * len(values)))]


async def _paced(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], rate: float,
                 sent: dict[str, float]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        start = time.monotonic()
        for i, (key, value) in enumerate(records):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[key.decode()] = time.monotonic()
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def _latencies(bootstrap: str, source: str, sink: str, records: list[tuple[bytes, bytes]], rate: float,
                     id_of: Any, warmup: float = 2.0) -> list[float]:
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    consumer = AIOKafkaConsumer(sink, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest")
    await consumer.start()
    try:
        await asyncio.sleep(0.5)  # assignment settles at the end of the sink
        producer = asyncio.ensure_future(_paced(bootstrap, source, records, rate, sent))
        deadline = time.monotonic() + len(records) / rate + 30
        while len(got) < len(records) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.monotonic()
            for messages in batch.values():
                for m in messages:
                    rid = id_of(m.value)
                    if rid is not None and rid not in got:
                        got[rid] = now
        await producer
    finally:
        await consumer.stop()
    skip = int(warmup * rate)
    keys = [k.decode() for k, _ in records[skip:]]
    return [got[k] - sent[k] for k in keys if k in got and k in sent]


def _receipt_id(value: bytes) -> str | None:
    return json.loads(value).get("report_id")


def _raw_id(value: bytes) -> str | None:
    try:
        return json.loads(value).get("report_id")
    except ValueError:
        return None


def raw_latency(records: list[tuple[bytes, bytes]], workdir: Path, rate: float, parse: str = "model") -> list[float]:
    broker = start_broker(log=workdir / "broker-raw-lat.log")
    try:
        asyncio.run(_topics(broker.bootstrap, ["bench.in", "bench.out"]))
        process = subprocess.Popen([sys.executable, "-m", "router.bench", "raw", broker.bootstrap, "bench.in",
                                    "bench.out", "0", parse], stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        json.loads(process.stdout.readline())
        try:
            return asyncio.run(_latencies(broker.bootstrap, "bench.in", "bench.out", records, rate, _raw_id))
        finally:
            process.terminate()
            process.wait(30)
    finally:
        broker.stop()


def router_latency(records: list[tuple[bytes, bytes]], workdir: Path, rate: float, store: str) -> list[float]:
    broker = start_broker(log=workdir / "broker-router-lat.log")
    worker = Worker(broker, store, workdir)
    try:
        worker.start()
        worker.wait_ready()
        return asyncio.run(_latencies(broker.bootstrap, "reports.submitted", "reports.receipts", records, rate,
                                      _receipt_id))
    finally:
        worker.stop()
        broker.stop()


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def run_bench(args: argparse.Namespace) -> int:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="router-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    modules = "compiled" if native_status()[0] else "from source"
    say(f"router bench: {args.reports:,} reports x {args.repeat} runs, {PARTITIONS} partitions, store {args.store}, "
        f"embedded broker; {os.cpu_count()} CPUs; intake modules {modules}; raw baseline parses with "
        f"{'json.loads' if args.raw_parse == 'json' else 'the contract model'}; logs in {workdir}")
    records = reports(args.reports, seed=11)
    raw_runs, router_runs = [], []
    for i in range(args.repeat):
        raw = raw_throughput(records, workdir, args.raw_parse)
        say(f"  run {i + 1}: raw {raw.rate:8,.0f} reports/s (CPU {raw.cpu:.2f}, peak {_mb(raw.peak_rss)})")
        routed = router_throughput(records, workdir, args.store)
        say(f"  run {i + 1}: router {routed.rate:8,.0f} reports/s (CPU {routed.cpu:.2f}, peak {_mb(routed.peak_rss)})")
        raw_runs.append(raw)
        router_runs.append(routed)
    raw_rate = statistics.median(r.rate for r in raw_runs)
    router_rate = statistics.median(r.rate for r in router_runs)
    lat_records = reports(int(args.rate * args.latency_seconds), seed=13, invalid_share=0.0)
    raw_lat = raw_latency(lat_records, workdir, args.rate, args.raw_parse)
    router_lat = router_latency(lat_records, workdir, args.rate, args.store)
    say("")
    say(f"{'':28} {'raw aiokafka':>14} {'router':>14} {'router/raw':>11}")
    say(f"{'throughput (median, /s)':28} {raw_rate:14,.0f} {router_rate:14,.0f} {router_rate / raw_rate:11.2f}")
    for q, name in ((0.5, "p50"), (0.99, "p99")):
        a, b = _percentile(raw_lat, q) * 1000, _percentile(router_lat, q) * 1000
        say(f"{'latency ' + name + f' at {args.rate:,.0f}/s (ms)':28} {a:14.1f} {b:14.1f} {b / a:11.2f}")
    say(f"{'worker peak memory':28} {_mb(statistics.median(r.peak_rss for r in raw_runs)):>14} "
        f"{_mb(statistics.median(r.peak_rss for r in router_runs)):>14}")
    say(f"{'worker CPU (cores)':28} {statistics.median(r.cpu for r in raw_runs):14.2f} "
        f"{statistics.median(r.cpu for r in router_runs):14.2f}")
    say(f"latency samples: raw {len(raw_lat)}, router {len(router_lat)} (after {2:.0f} s of warm-up)")
    pairs = [b.rate / a.rate for a, b in zip(raw_runs, router_runs, strict=True)]
    say(f"throughput ratio of each run (router/raw, run by run: the machine's speed drifts between runs): "
        f"{' '.join(f'{p:.2f}' for p in pairs)}; median {statistics.median(pairs):.2f}")
    if args.scaling:
        say("")
        say(f"scaling: {args.reports:,} reports published once the workers have settled, {PARTITIONS} partitions")
        for workers in range(1, args.scaling + 1):
            rates = [scaled_throughput(records, workdir, args.store, workers) for _ in range(args.repeat)]
            say(f"  {workers} worker{'s' if workers > 1 else ' '}: {statistics.median(rates):8,.0f} reports/s "
                f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    if args.long:
        say("")
        say(f"long run: {args.long_reports:,} reports over {args.long_targets:,} distinct targets "
            f"(so {args.long_targets:,} open cases), store {args.store}")
        long = router_throughput(reports(args.long_reports, seed=17, distinct_targets=args.long_targets), workdir,
                                 args.store, progress=True)
        say(f"  router {long.rate:,.0f} reports/s, worker peak memory {_mb(long.peak_rss)}, CPU {long.cpu:.2f}")
    return 0


MIN_REPORTS = 10_000


def report_count(text: str) -> int:
    """``--reports``: a whole number of at least ``MIN_REPORTS``. The router's rate is timed from
    the first reading of its progress that finds a report done (read every 0.2 s until then), so
    a smaller run can be over before there is anything to time."""
    try:
        n = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < MIN_REPORTS:
        raise argparse.ArgumentTypeError(f"at least {MIN_REPORTS:,} reports: a smaller run can be over between "
                                         f"two readings of the worker's progress, leaving nothing to time")
    return n


def add_parser(sub: Any) -> None:
    bench = sub.add_parser("bench", help="throughput and latency of the router against the raw client")
    bench.add_argument("--reports", type=report_count, default=100_000,
                       help=f"reports per throughput run (default 100,000; at least {MIN_REPORTS:,})")
    bench.add_argument("--repeat", type=int, default=3, help="throughput runs of each kind (default 3; medians)")
    bench.add_argument("--rate", type=float, default=1000.0, help="fixed rate of the latency runs (default 1,000/s)")
    bench.add_argument("--latency-seconds", type=float, default=20.0, help="length of each latency run")
    bench.add_argument("--store", choices=["memory", "rocksdb"], default="rocksdb")
    bench.add_argument("--raw-parse", choices=["model", "json"], default="model",
                       help="what the raw baseline does to each report: validate it with the contract's model "
                            "(default) or only json.loads it")
    bench.add_argument("--scaling", type=int, default=0, metavar="N",
                       help="also the scaling runs: 1 to N workers sharing the partitions (default: none)")
    bench.add_argument("--long", action="store_true", help="also the memory run: many reports, many open cases")
    bench.add_argument("--long-reports", type=int, default=1_000_000)
    bench.add_argument("--long-targets", type=int, default=100_000)
    bench.add_argument("--workdir", default=None)
    bench.set_defaults(func=run_bench)


if __name__ == "__main__":  # the raw baseline process
    if sys.argv[1:2] == ["raw"]:
        bootstrap, source, sink, expect = sys.argv[2:6]
        asyncio.run(raw_loop(bootstrap, source, sink, "bench-raw", int(expect) or None, *sys.argv[6:7]))
