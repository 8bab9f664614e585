"""Publishing the router's records (``router.output``): grouped into one producer batch per topic
partition (``create_batch``/``send_batch``), which costs a fraction of aiokafka's per-record ``send``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from router.output import Record, partition_for_key

log = structlog.get_logger("router.publisher")


class PublishError(RuntimeError):
    pass


class Publisher:
    """Sends records in producer batches. One instance per worker, owned by the app."""

    def __init__(self, producer: AIOKafkaProducer, partition_counts: dict[str, int]) -> None:
        self._producer = producer
        self._counts = partition_counts

    @property
    def producer(self) -> AIOKafkaProducer:
        return self._producer

    def partitions(self, topic: str) -> int:
        count = self._counts.get(topic)
        if count is None:
            count = len(self._producer.client.cluster.partitions_for_topic(topic) or ()) or 1
            self._counts[topic] = count
        return count

    async def publish(self, records: Iterable[Record]) -> list[asyncio.Future[Any]]:
        """Queue the records; returns futures resolved when the broker has stored each batch."""
        builders: dict[tuple[str, int], Any] = {}
        futures: list[asyncio.Future[Any]] = []
        create = self._producer.create_batch
        for record in records:
            partition = record.partition
            if partition is None:
                if record.hash is not None:
                    partition = record.hash % self.partitions(record.topic)
                else:
                    partition = partition_for_key(record.key, self.partitions(record.topic)) if record.key else 0
            slot = (record.topic, partition)
            builder = builders.get(slot)
            if builder is None:
                builder = builders[slot] = create()
            headers = record.headers
            if type(headers) is not list:
                headers = list(headers)
            if builder.append(key=record.key, value=record.value, timestamp=None, headers=headers) is None:
                futures.append(await self._producer.send_batch(builder, record.topic, partition=partition))
                builder = builders[slot] = create()
                if builder.append(key=record.key, value=record.value, timestamp=None, headers=headers) is None:
                    raise PublishError(f"a record for {record.topic} is larger than the producer's batch size")
        for (topic, partition), builder in builders.items():
            futures.append(await self._producer.send_batch(builder, topic, partition=partition))
        return futures

    async def publish_and_wait(self, records: Sequence[Record], *, what: str, retry: bool = True,
                               max_backoff: float = 10.0) -> None:
        """Publish and wait for the broker; on failure re-publish with backoff until it works
        (records may then be stored twice: consumers recognise repeats by their ids)."""
        if not records:
            return
        delay = 0.2
        attempt = 0
        while True:
            attempt += 1
            try:
                futures = await self.publish(records)
                await asyncio.gather(*futures)
                if attempt > 1:
                    log.info("publish.recovered", what=what, attempt=attempt)
                return
            except (KafkaError, OSError) as exc:
                if not retry:
                    raise
                log.warning("publish.failed", what=what, attempt=attempt, retry_in_s=round(delay, 1),
                            error=type(exc).__name__, records=len(records))
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_backoff)
