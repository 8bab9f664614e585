"""The publisher fills aiokafka's record builders directly: the batches it hands the producer
must hold what the producer's own ``BatchBuilder.append`` would have put there."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.record.default_records import DefaultRecordBatch

from router.output import Record, partition_for_key
from router.publisher import Publisher


class _Producer:
    """An unstarted aiokafka producer's batches; what ``send_batch`` is given is kept."""

    def __init__(self, max_batch_size: int) -> None:
        self.real = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", max_batch_size=max_batch_size)
        self.sent: list[tuple[str, int, Any]] = []

    def create_batch(self) -> Any:
        return self.real.create_batch()

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> asyncio.Future[Any]:
        self.sent.append((topic, partition, batch))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _contents(batch: Any) -> list[tuple[int, bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    built = DefaultRecordBatch(bytes(batch._build()))
    assert built.validate_crc()
    return [(r.offset, r.key, r.value, list(r.headers)) for r in built]


def _records(n: int) -> list[Record]:
    return [Record("t", f"k{i}".encode(), b"v" * (i % 7) + f"{i}".encode(), None,
                   [("ce_id", f"id{i}".encode()), ("content-type", b"application/json")] if i % 3 else ())
            for i in range(n)]


async def test_published_batches_hold_what_the_producers_own_append_would() -> None:
    records = _records(200)
    producer = _Producer(max_batch_size=1 << 20)
    futures = await Publisher(producer, {"t": 3}).publish(records)  # type: ignore[arg-type]
    await asyncio.gather(*futures)

    reference = _Producer(max_batch_size=1 << 20)
    expected: dict[int, Any] = {}
    for r in records:
        batch = expected.setdefault(partition_for_key(r.key, 3), reference.create_batch())  # type: ignore[arg-type]
        assert batch.append(key=r.key, value=r.value, timestamp=None, headers=list(r.headers)) is not None

    await producer.real.stop()
    await reference.real.stop()
    assert sorted(p for _, p, _ in producer.sent) == sorted(expected)
    for topic, partition, batch in producer.sent:
        assert topic == "t"
        assert batch.record_count() == expected[partition].record_count() > 0
        assert _contents(batch) == _contents(expected[partition])


async def test_a_full_batch_is_sent_and_the_rest_goes_to_a_new_one_in_order() -> None:
    records = [Record("t", b"k", b"x" * 300, 0) for _ in range(50)]
    producer = _Producer(max_batch_size=4096)
    await Publisher(producer, {"t": 1}).publish(records)  # type: ignore[arg-type]
    await producer.real.stop()
    assert len(producer.sent) > 3  # 50 records of 300 bytes do not fit one batch of 4 KiB
    counts = [batch.record_count() for _, _, batch in producer.sent]
    assert sum(counts) == 50
    for _, _, batch in producer.sent:
        assert [offset for offset, *_ in _contents(batch)] == list(range(batch.record_count()))
