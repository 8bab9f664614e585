"""The broker is absent when the worker starts, and goes away mid-run: the worker is not ready,
retries with backoff, says so in its logs and metrics, and resumes without losing what the broker
kept (the outage is a paused broker: the embedded broker keeps nothing across a restart)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import pytest

from router.embedded import free_port, start_broker
from tests.support.processes import Worker
from tests.support.scenario import metric, report, route

pytestmark = pytest.mark.reliability


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _metrics(worker: Worker) -> str:
    try:
        return worker.metrics()
    except OSError:
        return ""


async def test_broker_absent_at_start_then_back(tmp_path) -> None:
    port = free_port()
    worker = Worker(f"kafka://127.0.0.1:{port}", tmp_path).start()
    broker = None
    try:
        _wait(lambda: worker.get("/health")[0] == 200 if _metrics(worker) else False, 30, "the health page")
        assert worker.get("/ready")[0] == 503
        _wait(lambda: metric(_metrics(worker), "router_broker_connect_attempts_total") >= 3, 30, "retries")
        text = _metrics(worker)
        assert metric(text, "router_broker_up") == 0 and metric(text, "router_ready") == 0
        unavailable = [r for r in worker.log_records() if r.get("event") == "broker.unavailable"]
        assert len(unavailable) >= 3
        delays = [r["retry_in_s"] for r in unavailable]
        assert delays == sorted(delays) and delays[-1] > delays[0], "backoff grows"
        broker = start_broker(port=port, log=tmp_path / "broker.log")
        worker.wait_ready(90)
        receipts = await route(broker.bootstrap, [report("after-start", "https://t.me/chan/1")])
        assert receipts["after-start"]["outcome"] == "routed"
    finally:
        worker.kill()
        if broker is not None:
            broker.stop()


async def test_broker_goes_away_mid_run_and_comes_back(broker, workers) -> None:
    worker = workers().start().wait_ready()
    first = await route(broker.bootstrap, [report(f"a{i}", f"https://t.me/a{i}/1") for i in range(50)])
    assert len(first) == 50
    os.kill(broker.process.pid, signal.SIGSTOP)  # the broker stops answering; its data stays
    try:
        _wait(lambda: not worker.ready(), 30, "/ready to turn 503")
        assert metric(_metrics(worker), "router_broker_up") == 0
        assert any(r.get("event") == "broker.unavailable" for r in worker.log_records())
        await asyncio.sleep(3)
        assert worker.process.poll() is None, "the worker keeps running while the broker is away"
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)
    worker.wait_ready(120)
    assert any(r.get("event") == "broker.available" for r in worker.log_records())
    second = await route(broker.bootstrap, [report(f"b{i}", f"https://t.me/b{i}/1") for i in range(50)], timeout=120)
    assert len(second) == 50
    # what the broker kept is still there: the first cases are known, a re-sent report is a replay
    again = await route(broker.bootstrap, [report("a0", "https://t.me/a0/1")])
    assert again["a0"]["case_id"] == first["a0"]["case_id"] and again["a0"]["outcome"] == "routed"
    assert json.loads(worker.get("/ready")[1])["ready"] is True


async def test_sigterm_with_the_broker_gone_stops_within_the_shutdown_timeout(broker, workers) -> None:
    worker = workers(ROUTER_SHUTDOWN_TIMEOUT_S="5").start().wait_ready()
    assert len(await route(broker.bootstrap, [report("s1", "https://t.me/s1/1")])) == 1
    os.kill(broker.process.pid, signal.SIGSTOP)  # the broker stops answering
    try:
        _wait(lambda: not worker.ready(), 30, "/ready to turn 503")
        started = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        worker.process.wait(30)  # without the bound, Faust's stop waits about a minute here
        assert time.monotonic() - started < 15
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)
