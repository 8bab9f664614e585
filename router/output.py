"""The router's output records, before they are published (``router.publisher``), and Kafka's
key partitioner.

The agents do not send record by record: a processing step collects its records in an
``Outbox`` in two phases, and the ``Publisher`` sends each phase as producer batches.

Phase ``first``: events for other systems (outbound cases, receipts, dead letters, breaches,
the internal cases topic). Phase ``then``: state (table changelogs). A lane sends ``then`` only
once ``first`` is acknowledged by the broker, so a case is never recorded as routed unless its
outbound record is stored: after a crash the worker re-routes rather than forgets.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

Headers = Sequence[tuple[str, bytes]]


@dataclass(slots=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None = None
    headers: Headers = ()
    hash: int | None = None  # the key's partitioner hash, when already known (see ``key_hash``)


@dataclass(slots=True)
class Outbox:
    """Records produced by one processing step, in publication order within each phase."""

    first: list[Record] = field(default_factory=list)
    then: list[Record] = field(default_factory=list)

    def emit(self, topic: str, key: bytes | None, value: bytes, headers: Headers = (),
             partition: int | None = None, hash: int | None = None) -> None:
        self.first.append(Record(topic, key, value, partition, headers, hash))

    def persist(self, topic: str, key: bytes, value: bytes | None, partition: int) -> None:
        self.then.append(Record(topic, key, value, partition, ()))

    def __bool__(self) -> bool:
        return bool(self.first or self.then)


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2_fast(data: bytes) -> int:
    """Kafka's murmur2 (``org.apache.kafka.common.utils.Utils.murmur2``), equal to aiokafka's
    ``murmur2`` for every input (tests/agents/test_output.py) but about four times faster: the
    words are read in one ``struct`` call and the masking is done once per step."""
    length = len(data)
    h = 0x9747B28C ^ length
    words = length >> 2
    for k in struct.unpack_from(f"<{words}I", data) if words else ():
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length & 3
    if rest:
        tail = length & ~3
        if rest == 3:
            h ^= data[tail + 2] << 16
        if rest >= 2:
            h ^= data[tail + 1] << 8
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


try:  # the same function compiled (about 15 times faster); wheels exist for x86_64 and aarch64
    from murmurhash2 import murmurhash2 as _murmur2_compiled
except ImportError:  # pragma: no cover - a platform without the wheel: the Python version
    _murmur2_compiled = None


def key_hash(key: bytes) -> int:
    """The hash Kafka's default partitioner takes modulo the partition count (murmur2, positive)."""
    if _murmur2_compiled is not None:
        return _murmur2_compiled(key, 0x9747B28C) & 0x7FFFFFFF
    return murmur2_fast(key) & 0x7FFFFFFF


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives ``key``: the same as the Java
    client and aiokafka, so keyed records from any producer land where the router expects them."""
    return key_hash(key) % partitions
