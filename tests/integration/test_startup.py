"""Start-up through the documented interface: bad configuration stops the worker at once with
one clear message and a non-zero status; topics are created idempotently; /ready tells the truth."""

from __future__ import annotations

import json
import time

import pytest

from router.embedded import free_port
from tests.support.kafka import Reader, produce, topic_names
from tests.support.processes import TEST_ENV, run_router

pytestmark = pytest.mark.integration


def _env(tmp_path, broker_url: str, **extra: str) -> dict[str, str]:
    return {**TEST_ENV, "ROUTER_BROKER": broker_url, "ROUTER_DATA_DIR": str(tmp_path / "d"),
            "ROUTER_WEB_PORT": str(free_port()), **extra}


def _bad_policy(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("priorities:\n  normal: {ack: 1m}\nplatforms:\n  myspace:\n    normal: {action: 1h}\n")
    return path


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"ROUTER_BROKER": "localhost:9092"}, "ROUTER_BROKER"),
        ({"ROUTER_SLA_POLICY": "/nonexistent/policy.yaml"}, "ROUTER_SLA_POLICY: cannot read"),
        ({"ROUTER_WATCHLIST": "/nonexistent/watchlist.yaml"}, "ROUTER_WATCHLIST: cannot read"),
        ("bad-policy", "platforms.myspace: unknown platform"),
        ({"ROUTER_PARTITIONS": "many"}, "ROUTER_PARTITIONS"),
    ],
)
def test_bad_configuration_stops_the_worker_before_it_consumes(tmp_path, broker, extra, fragment) -> None:
    if extra == "bad-policy":
        extra = {"ROUTER_SLA_POLICY": str(_bad_policy(tmp_path))}
    started = time.monotonic()
    done = run_router("worker", env=_env(tmp_path, broker.url, **extra), timeout=60)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], done.stderr
    assert time.monotonic() - started < 30


async def test_a_bad_configuration_consumes_nothing(tmp_path, broker) -> None:
    await produce(broker.bootstrap, "reports.submitted", [(b"r1", b"{}")])
    done = run_router("worker", env=_env(tmp_path, broker.url, ROUTER_SLA_POLICY=str(_bad_policy(tmp_path))))
    assert done.returncode == 2
    assert "reports.receipts" not in await topic_names(broker.bootstrap)


async def test_topics_create_is_idempotent(tmp_path, broker) -> None:
    env = _env(tmp_path, broker.url, ROUTER_PARTITIONS="3")
    first = run_router("topics", "create", env=env)
    assert first.returncode == 0, first.stderr
    assert "created  outbound.telegram" in first.stdout and "created  router.cases" in first.stdout
    second = run_router("topics", "create", env=env)
    assert second.returncode == 0 and "created" not in second.stdout
    names = await topic_names(broker.bootstrap)
    for topic in ("reports.submitted", "reports.receipts", "reports.deadletter", "outbound.review", "outbound.x",
                  "platform.responses", "sla.breaches", "metrics.router", "router.cases"):
        assert topic in names
    wrong = run_router("topics", "create", env={**env, "ROUTER_PARTITIONS": "5"})
    assert wrong.returncode == 2 and "co-partitioned" in wrong.stderr


async def test_ready_only_once_recovered_and_poison_never_stops_the_worker(broker, workers) -> None:
    worker = workers().start()
    status, _ = (503, b"") if not worker.ready() else (200, b"")
    assert status == 503 or worker.starts == 1  # not ready before the group is joined
    worker.wait_ready()
    body = json.loads(worker.get("/ready")[1])
    assert body["ready"] is True and body["partitions"] == [0, 1, 2, 3]
    poison = [(None, b"\xff\xfe not utf-8"), (b"k", b"{" * 100_000), (b"k", b'{"schema": "report.submitted/v1"}'),
              (b"k", b'{"schema": "report.submitted/v7", "report_id": "v7"}')]
    good = json.dumps({"schema": "report.submitted/v1", "report_id": "after-poison", "source": "t",
                       "submitted_at": "2026-11-01T12:30:00Z", "url": "https://t.me/chan/1"}).encode()
    await produce(broker.bootstrap, "reports.submitted", [*poison, (b"after-poison", good)])
    async with Reader(broker.bootstrap, ["reports.receipts", "reports.deadletter"]) as reader:
        await reader.until(lambda s: len(s["reports.receipts"]) >= 5, timeout=30, what="receipts")
        outcomes = [r.json()["outcome"] for r in reader.all("reports.receipts")]
        assert sorted(outcomes) == ["rejected"] * 4 + ["routed"]
        assert len(reader.all("reports.deadletter")) == 4
    assert worker.ready() and worker.process.poll() is None
    starting = [line for line in worker.log_text().splitlines() if "worker.starting" in line]
    assert len(starting) == 1 and "uvloop" in starting[0]  # the default event loop (ROUTER_EVENT_LOOP)
    metrics = worker.metrics()
    assert 'router_reports_rejected_total{kind="decode"} 2' in metrics
    assert 'router_routed_total{platform="telegram"} 1' in metrics
