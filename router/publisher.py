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


class _Batch:
    """One producer batch being filled. Records go straight to the batch's record builder (the
    compiled one of aiokafka) with the offsets counted here: ``BatchBuilder.append`` adds a Python
    call, a serializer check and a metadata object per record, a fifth of the cost of appending a
    receipt. ``done`` gives the batch back with its count set as its own ``append`` would have."""

    __slots__ = ("_append", "batch", "count")

    def __init__(self, batch: Any) -> None:
        self.batch = batch
        self.count = 0
        inner = getattr(batch, "_builder", None)
        plain = getattr(batch, "_key_serializer", 0) is None and getattr(batch, "_value_serializer", 0) is None
        self._append = inner.append if inner is not None and plain and hasattr(batch, "_relative_offset") else None

    def append(self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> bool:
        """False when the batch is full (it then takes no more records)."""
        if self._append is None:  # another aiokafka: its public method
            return self.batch.append(key=key, value=value, timestamp=None, headers=headers) is not None
        if self._append(self.count, None, key, value, headers) is None:
            return False
        self.count += 1
        return True

    def done(self) -> Any:
        if self._append is not None:
            self.batch._relative_offset = self.count
        self.batch.close()
        return self.batch


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
        slots: dict[tuple[str, int], _Batch] = {}
        futures: list[asyncio.Future[Any]] = []
        for record in records:
            partition = record.partition
            if partition is None:
                if record.hash is not None:
                    partition = record.hash % self.partitions(record.topic)
                else:
                    partition = partition_for_key(record.key, self.partitions(record.topic)) if record.key else 0
            slot = (record.topic, partition)
            batch = slots.get(slot)
            if batch is None:
                batch = slots[slot] = _Batch(self._producer.create_batch())
            headers = record.headers
            if type(headers) is not list:
                headers = list(headers)
            if not batch.append(record.key, record.value, headers):
                futures.append(await self._producer.send_batch(batch.done(), record.topic, partition=partition))
                batch = slots[slot] = _Batch(self._producer.create_batch())
                if not batch.append(record.key, record.value, headers):
                    raise PublishError(f"a record for {record.topic} is larger than the producer's batch size")
        for (topic, partition), batch in slots.items():
            futures.append(await self._producer.send_batch(batch.done(), topic, partition=partition))
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
