"""Access to the router's Faust tables by partition, bypassing Faust's per-event table API.

Faust's ``Table.__setitem__`` needs the current stream event to know the changelog partition;
the lanes have no per-record event, and they know the partition anyway (the case id's). So the
router reads and writes the table's store directly and writes the changelog record itself (in
the ``then`` phase of an Outbox). Faust still does what tables are for: it creates the changelog
topic, recovers the store from it on assignment, keeps standby replicas, and with RocksDB keeps
the data on disk.

Values in the changelog are JSON (orjson). The memory store keeps decoded objects once read;
RocksDB keeps bytes and decodes on read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import orjson

from router.core.cases import Case
from router.core.stats import PartitionStats
from router.events import dumps
from router.output import Outbox

T = TypeVar("T")


class _Store:
    """Partition-addressed bytes access to a Faust store (memory or RocksDB).

    RocksDB writes skip its write-ahead log: the changelog topic is the durable copy. Faust advances
    a partition's persisted changelog offset only when it recovers the partition (the router writes
    the store directly, not through Faust's table API, which would advance it on every write), so
    after a crash it replays the changelog from there and every write the local store lost comes
    back. The log made each write several times dearer (a system call per record)."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.store = table.data
        self.memory = hasattr(self.store, "_key_partition")
        self._write: Any = None
        if not self.memory:
            import rocksdict

            self._write = rocksdict.WriteOptions()
            self._write.disable_wal = True

    def get(self, partition: int, key: bytes) -> Any:
        if self.memory:
            return self.store.data.get(key)
        return self.store._db_for_partition(partition).get(key)

    def put(self, partition: int, key: bytes, value: Any, raw: bytes) -> None:
        if self.memory:
            self.store.data[key] = value
            self.store._key_partition[key] = partition
        else:  # (Faust's own key index serves its table API, which the router does not use)
            self.store._db_for_partition(partition).put(key, raw, self._write)

    def delete(self, partition: int, key: bytes) -> None:
        if self.memory:
            self.store.data.pop(key, None)
            self.store._key_partition.pop(key, None)
        else:
            self.store._db_for_partition(partition).delete(key, self._write)

    def items(self, partition: int) -> Iterator[tuple[bytes, Any]]:
        if self.memory:
            owner = self.store._key_partition
            for key, value in list(self.store.data.items()):
                if owner.get(key) == partition:
                    yield key, value
        else:
            yield from self.store._visible_items(self.store._db_for_partition(partition))

    def size(self) -> int:
        return len(self.store.data) if self.memory else sum(1 for _ in self.store._iterkeys())


class TableState(Generic[T]):
    """Typed access to one table: ``decode``/``encode`` convert between objects and JSON dicts."""

    def __init__(self, table: Any, decode: Callable[[dict[str, Any]], T], encode: Callable[[T], dict[str, Any]]):
        self._store = _Store(table)
        self._decode = decode
        self._encode = encode
        self.changelog_topic: str = table.changelog_topic.get_topic_name()

    def get(self, partition: int, key: str) -> T | None:
        kb = key.encode()
        value = self._store.get(partition, kb)
        if value is None:
            return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            obj = self._decode(orjson.loads(value))
            if self._store.memory:
                self._store.store.data[kb] = obj  # decode once: keep the object
            return obj
        return value  # type: ignore[no-any-return]

    def put(self, partition: int, key: str, obj: T, outbox: Outbox) -> None:
        kb = key.encode()
        raw = dumps(self._encode(obj))
        self._store.put(partition, kb, obj, raw)
        outbox.persist(self.changelog_topic, kb, raw, partition)

    def put_raw(self, partition: int, key: str, raw: bytes, outbox: Outbox) -> None:
        """Store a value already encoded (decoded on its first read)."""
        kb = key.encode()
        self._store.put(partition, kb, raw, raw)
        outbox.persist(self.changelog_topic, kb, raw, partition)

    def delete(self, partition: int, key: str, outbox: Outbox) -> None:
        kb = key.encode()
        self._store.delete(partition, kb)
        outbox.persist(self.changelog_topic, kb, None, partition)

    def items(self, partition: int) -> Iterator[tuple[str, T]]:
        for kb, value in self._store.items(partition):
            if isinstance(value, (bytes, bytearray, memoryview)):
                value = self._decode(orjson.loads(value))
            yield bytes(kb).decode(), value

    def size(self) -> int:
        return self._store.size()


def case_state(table: Any) -> TableState[Case]:
    # orjson serialises the (slotted) dataclass itself: no intermediate dict
    return TableState(table, Case.from_dict, lambda case: case)  # type: ignore[arg-type,return-value]


def stats_state(table: Any) -> TableState[PartitionStats]:
    return TableState(table, PartitionStats.from_dict, PartitionStats.to_dict)
