"""Small recording fakes for the agent tier: messages as the consumer hands them over, a
publisher that records what it is asked to send, and processors wired on real (unstarted)
Faust tables with memory stores — no broker."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import faust
import yaml

from router.casework import CaseWork, Topics, WorkerCounters
from router.core.deadlines import DeadlineIndex
from router.core.enrich import Enricher
from router.core.platforms import PlatformRegistry
from router.core.policy import SlaPolicy, load_policy
from router.intake import CaseLane, Intake
from router.output import Record
from router.prepare import Preparer
from router.state import case_state, stats_state
from tests.conftest import DATA

REGISTRY = PlatformRegistry.from_dict(yaml.safe_load((DATA.parent.parent / "router/data/platforms.yaml").read_text()))
N = 4


@dataclass
class Msg:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    acked: bool = False

    @property
    def tp(self) -> Any:
        from faust.types import TP

        return TP(self.topic, self.partition)

    def ack(self, _consumer: Any = None) -> None:
        self.acked = True


def report(report_id: str = "r1", **fields: Any) -> bytes:
    body = {"schema": "report.submitted/v1", "report_id": report_id, "submitted_at": "2026-11-01T12:30:00+05:00",
            "source": "test", "url": "https://x.com/a/status/1", **fields}
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class NoGroups:
    def match(self, text: str | None, account: str | None = None, url: str | None = None) -> tuple[Any, ...]:
        return ()


class FixedIps:
    def country(self, ip: Any) -> str | None:
        return "PK" if str(ip).startswith("117.") else None


@dataclass
class RecordingPublisher:
    published: list[Record] = field(default_factory=list)
    fail_times: int = 0

    async def publish(self, records: list[Record]) -> list[asyncio.Future[Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self.fail_times:
            self.fail_times -= 1
            future.set_exception(ConnectionError("broker gone"))
        else:
            self.published.extend(records)
            future.set_result(None)
        return [future]

    async def publish_and_wait(self, records: list[Record], *, what: str, retry: bool = True) -> None:
        self.published.extend(records)

    def on(self, topic: str) -> list[Record]:
        return [r for r in self.published if r.topic == topic]


@dataclass
class Rig:
    """Processors wired like the app wires them, on real memory-store tables."""

    clock: Clock
    counters: WorkerCounters
    casework: CaseWork
    intake: Intake
    caselane: CaseLane
    held: set[int]


def rig(policy: SlaPolicy | None = None, matcher: Any = None, held: set[int] | None = None) -> Rig:
    app = faust.App("test-router", broker="kafka://127.0.0.1:1", store="memory://")
    raw = {"key_type": bytes, "value_type": bytes}
    clock = Clock()
    counters = WorkerCounters()
    casework = CaseWork(
        cases=case_state(app.Table("cases", partitions=N, **raw)),
        stats=stats_state(app.Table("stats", partitions=N, **raw)),
        policy=policy or load_policy(None, [*REGISTRY.ids, "unknown"]),
        topics=Topics(receipts="reports.receipts", breaches="sla.breaches", review="outbound.review",
                      outbound_prefix="outbound.", source="/test"),
        counters=counters, index=DeadlineIndex(), retention_s=3600,
    )
    held = set(range(N)) if held is None else held
    common = dict(casework=casework, counters=counters, deadletter_topic="reports.deadletter", source="/test",
                  clock=clock)
    preparer = Preparer(enricher=Enricher(REGISTRY, matcher or NoGroups(), FixedIps()), policy=casework.policy,
                        topics=casework.topics, partitions=N, max_bytes=65536,
                        holds=held.__contains__)
    intake = Intake(preparer=preparer, receipts_topic="reports.receipts", cases_topic="router.cases",
                    holds=held.__contains__, **common)  # type: ignore[arg-type]
    caselane = CaseLane(cases_topic="router.cases", responses_topic="platform.responses",
                        receipts_topic="reports.receipts", max_bytes=65536, **common)  # type: ignore[arg-type]
    return Rig(clock, counters, casework, intake, caselane, held)


def values(records: list[Record], topic: str) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records if r.topic == topic and r.value is not None]
