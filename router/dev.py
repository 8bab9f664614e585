"""``router dev``: everything on one machine, with a live view.

Starts the embedded broker on a free port, creates the topics, runs ``router worker`` as a child
process (web server on port 6066), feeds demo reports, plays the platform connectors (answering
some cases, leaving others to breach the short demo deadlines), and prints progress and a
per-platform summary until Ctrl-C (or ``--duration``/``--count``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from router.core.platforms import UNKNOWN
from router.demo import demo_reports
from router.embedded import BrokerStartError, start_broker
from router.kafka import ensure_topics
from router.settings import load_settings

PLATFORMS = ["x", "facebook", "instagram", "whatsapp", "youtube", "tiktok", "telegram"]


def say(text: str) -> None:
    print(f"router dev: {text}", flush=True)


class View:
    def __init__(self) -> None:
        self.sent = 0
        self.outcomes: Counter[str] = Counter()
        self.routed: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()
        self.breaches: Counter[str] = Counter()
        self.started = time.monotonic()

    def line(self) -> str:
        o = self.outcomes
        per = ", ".join(f"{p} {self.routed[p]}" for p in [*PLATFORMS, "review"] if self.routed[p])
        breaches = ", ".join(f"{k} {v}" for k, v in sorted(self.breaches.items())) or "0"
        return (f"[{time.monotonic() - self.started:5.0f}s] sent {self.sent:5} | receipts {sum(o.values()):5}: "
                f"routed {o['routed']}, attached {o['attached']}, review {o['review']}, rejected {o['rejected']}"
                f" | cases: {per or '-'} | answered {sum(self.responses.values())} | breaches {breaches}")

    def summary(self) -> str:
        rows = [f"{'platform':10} {'cases':>6} {'answered':>9} {'ack breaches':>13} {'action breaches':>16}"]
        for p in [*PLATFORMS, "review"]:
            key = UNKNOWN if p == "review" else p
            rows.append(f"{p:10} {self.routed[p]:6} {self.responses[key]:9} {self.breaches[f'{key}/ack']:13} "
                        f"{self.breaches[f'{key}/action']:16}")
        return "\n".join(rows)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status
    except Exception:
        return 0


async def _feed(bootstrap: str, view: View, rate: float, count: int | None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        start = time.monotonic()
        for key, value in demo_reports(seed=int(time.time())):
            if count is not None and view.sent >= count:
                return
            await producer.send("reports.submitted", value, key=key)
            view.sent += 1
            delay = start + view.sent / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    finally:
        await producer.stop()


async def _watch(bootstrap: str, view: View) -> None:
    topics = ["reports.receipts", "sla.breaches"]
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async for m in consumer:
            body = json.loads(m.value)
            if m.topic == "reports.receipts":
                view.outcomes[body["outcome"]] += 1
                if body["outcome"] in ("routed", "review"):
                    view.routed[(body["topic"] or "").removeprefix("outbound.")] += 1
            else:
                view.breaches[f"{body['platform']}/{body['stage']}"] += 1
    finally:
        await consumer.stop()


async def _connectors(bootstrap: str, view: View) -> None:
    """Plays the platforms: answers most cases after a few seconds, leaves some unanswered."""
    rng = random.Random(11)
    topics = [f"outbound.{p}" for p in PLATFORMS] + ["outbound.review"]
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id="demo-connectors",
                                auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await consumer.start()
    await producer.start()

    async def answer(case: dict[str, object]) -> None:
        for status, lo, hi in (("received", 2, 15), (rng.choice(["removed", "restricted", "removed"]), 10, 90)):
            await asyncio.sleep(rng.uniform(lo, hi))
            body = {"schema": "platform.response/v1", "case_id": case["case_id"], "platform": case["platform"],
                    "status": status, "at": datetime.now(UTC).isoformat(), "reference": f"T-{rng.randint(1, 10**6)}"}
            await producer.send("platform.responses", json.dumps(body).encode(), key=str(case["case_id"]).encode())
            view.responses[str(case["platform"])] += 1

    tasks = set()
    try:
        async for m in consumer:
            if rng.random() < 0.75:
                task = asyncio.ensure_future(answer(json.loads(m.value)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()
        await consumer.stop()
        await producer.stop()


async def _main(rate: float, duration: float | None, web_port: int, count: int | None) -> int:
    workdir = Path("var/dev").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        broker = start_broker(log=workdir / "broker.log")
    except BrokerStartError as exc:
        say(f"cannot start the embedded broker: {exc}")
        return 1
    worker: subprocess.Popen[bytes] | None = None
    try:
        say(f"embedded broker on {broker.url}  (export ROUTER_BROKER={broker.url} to use other commands)")
        policy = resources.files("router.data").joinpath("dev-sla-policy.yaml")
        env = {**os.environ, "ROUTER_BROKER": broker.url, "ROUTER_STORE": "memory", "ROUTER_WEB_PORT": str(web_port),
               "ROUTER_DATA_DIR": str(workdir / "state"), "ROUTER_LOG_FORMAT": "json", "ROUTER_PARTITIONS": "4",
               "ROUTER_SLA_POLICY": str(policy), "ROUTER_METRICS_INTERVAL_S": "5", "ROUTER_SESSION_TIMEOUT_S": "6"}
        settings = load_settings(broker=broker.url, partitions=4)
        from router.config import load_registry

        created = await ensure_topics(settings, load_registry(settings).ids)
        say(f"topics ready ({sum(1 for v in created.values() if v == 'created')} created)")
        log_path = workdir / "worker.log"
        with open(log_path, "ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "router", "worker"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        say(f"worker starting (log: {log_path}); web: http://127.0.0.1:{web_port}/ready /metrics /dashboard")
        started = time.monotonic()
        while _get(f"http://127.0.0.1:{web_port}/ready") != 200:
            if worker.poll() is not None:
                say(f"the worker exited with status {worker.returncode}; last lines of {log_path}:")
                print("\n".join(log_path.read_text(errors="replace").splitlines()[-15:]))
                return 1
            if time.monotonic() - started > 90:
                say("the worker did not become ready within 90 s")
                return 1
            await asyncio.sleep(0.3)
        say(f"worker ready in {time.monotonic() - started:.1f}s; feeding {rate:g} demo reports/s (Ctrl-C to stop)")
        view = View()
        tasks = [asyncio.ensure_future(c) for c in (
            _feed(broker.bootstrap, view, rate, count), _watch(broker.bootstrap, view),
            _connectors(broker.bootstrap, view))]
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while deadline is None or time.monotonic() < deadline:
                await asyncio.sleep(2)
                print(view.line(), flush=True)
                if worker.poll() is not None:
                    say(f"the worker exited with status {worker.returncode} (see {log_path})")
                    return 1
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            print("\nper-platform summary\n" + view.summary(), flush=True)
        return 0
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        broker.stop()


def run_dev(rate: float = 20.0, duration: float | None = None, web_port: int = 6066, count: int | None = None) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_main(rate, duration, web_port, count))
    say("stopped")
    return 0
