"""Intake helper processes in the real worker: they do the work, /metrics says so, and one that is
killed costs no report (the worker prepares the batches meanwhile and starts a new helper)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support.scenario import metric, report, route, wait_metric

pytestmark = pytest.mark.reliability


def _helpers(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def test_helpers_prepare_and_a_killed_one_loses_nothing(broker, workers) -> None:
    worker = workers(ROUTER_INTAKE_PROCESSES="2").start().wait_ready()
    await wait_metric(worker, "router_intake_helpers", 2, state="ready")
    receipts = await route(broker.bootstrap, [report(f"a{i}", f"https://t.me/chan{i}/1") for i in range(200)])
    assert {r["outcome"] for r in receipts.values()} == {"routed"}
    text = worker.metrics()
    assert metric(text, "router_intake_batches_total", where="helper") >= 1
    assert metric(text, "router_intake_helpers", state="configured") == 2

    assert worker.process is not None
    victims = _helpers(worker.process.pid)
    assert len(victims) == 2
    os.kill(victims[0], signal.SIGKILL)
    receipts = await route(broker.bootstrap, [report(f"b{i}", f"https://t.me/chan{i}/1") for i in range(200)]
                           + [report(f"c{i}", f"https://t.me/other{i}/1") for i in range(200)])
    outcomes = [r["outcome"] for r in receipts.values()]
    assert len(outcomes) == 400 and outcomes.count("attached") == 200 and outcomes.count("routed") == 200
    await wait_metric(worker, "router_intake_helper_restarts_total", 1)
    await wait_metric(worker, "router_intake_helpers", 2, state="ready")
    assert victims[0] not in _helpers(worker.process.pid)
    assert "intake.helper_exited" in worker.log_text()


async def test_no_helpers_when_asked_for_none(broker, workers) -> None:
    worker = workers(ROUTER_INTAKE_PROCESSES="0").start().wait_ready()
    receipts = await route(broker.bootstrap, [report(f"a{i}", f"https://t.me/chan{i}/1") for i in range(20)])
    assert len(receipts) == 20
    assert worker.process is not None and _helpers(worker.process.pid) == []
    text = worker.metrics()
    assert metric(text, "router_intake_batches_total", where="worker") >= 1
    assert metric(text, "router_intake_batches_total", where="helper") == 0
