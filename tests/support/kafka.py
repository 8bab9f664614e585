"""Producing and consuming from tests, through the topics only (as the black-box users do)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class Sent:
    key: bytes | None
    value: bytes
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Got:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def json(self) -> Any:
        return json.loads(self.value or b"null")


async def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]],
                  client: dict[str, Any] | None = None) -> list[Sent]:
    producer = AIOKafkaProducer(acks="all", linger_ms=2, **(client or {"bootstrap_servers": bootstrap}))
    await producer.start()
    try:
        pending = []
        for key, value in records:
            pending.append((key, value, await producer.send(topic, value, key=key)))
        out = []
        for key, value, future in pending:
            meta = await future
            out.append(Sent(key, value, topic, meta.partition, meta.offset))
        return out
    finally:
        await producer.stop()


async def topic_names(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


class Reader:
    """Reads topics from the beginning (no group), accumulating everything seen."""

    def __init__(self, bootstrap: str, topics: Iterable[str], client: dict[str, Any] | None = None) -> None:
        self.bootstrap = bootstrap
        self.client = client or {"bootstrap_servers": bootstrap}
        self.topics = list(topics)
        self.seen: dict[str, list[Got]] = {t: [] for t in self.topics}
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> Reader:
        self._consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                                          metadata_max_age_ms=1000, **self.client)
        await self._consumer.start()
        await self._assign()
        return self

    async def _assign(self) -> None:
        assert self._consumer is not None
        tps = []
        for topic in self.topics:
            parts = self._consumer.partitions_for_topic(topic)
            if not parts:
                await self._consumer._client.force_metadata_update()
                parts = self._consumer.partitions_for_topic(topic) or set()
            tps += [TopicPartition(topic, p) for p in parts]
        assigned = set(self._consumer.assignment())
        if set(tps) != assigned:
            self._consumer.assign(tps)
            for tp in set(tps) - assigned:
                self._consumer.seek(tp, 0)

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def poll(self, timeout: float = 0.5) -> int:
        assert self._consumer is not None
        records = await self._consumer.getmany(timeout_ms=int(timeout * 1000))
        n = 0
        for tp, messages in records.items():
            for m in messages:
                self.seen[tp.topic].append(Got(tp.topic, tp.partition, m.offset, m.key, m.value,
                                               tuple(m.headers or ())))
                n += 1
        return n

    async def until(self, done: Callable[[dict[str, list[Got]]], bool], timeout: float, what: str = "records") -> None:
        """Poll until ``done(seen)``; fail with a count summary on timeout."""
        deadline = time.monotonic() + timeout
        refreshed = time.monotonic()
        while not done(self.seen):
            if time.monotonic() > deadline:
                counts = {t: len(v) for t, v in self.seen.items()}
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; seen {counts}")
            await self.poll()
            if time.monotonic() - refreshed > 2:
                await self._assign()
                refreshed = time.monotonic()

    async def settle(self, quiet: float = 1.5, at_most: float = 15.0) -> None:
        """Read until nothing new arrives for ``quiet`` seconds (or ``at_most`` seconds have
        passed: periodic topics such as metrics.router are never quiet)."""
        deadline = time.monotonic() + at_most
        while await self.poll(quiet) and time.monotonic() < deadline:
            pass

    def all(self, topic: str) -> list[Got]:
        return self.seen[topic]


def run(coro: Any) -> Any:
    return asyncio.get_event_loop().run_until_complete(coro)
