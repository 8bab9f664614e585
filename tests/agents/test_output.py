"""Partitioning must agree with Kafka's default partitioner byte for byte: connectors key
platform.responses by case id with their own clients, and the router expects them on the
partition of the case."""

from __future__ import annotations

import random

from aiokafka.partitioner import murmur2
from hypothesis import given
from hypothesis import strategies as st

from router.output import _murmur2_compiled, key_hash, murmur2_fast, partition_for_key


@given(st.binary(max_size=300))
def test_murmur2_equals_the_reference(data: bytes) -> None:
    assert murmur2_fast(data) == murmur2(data)
    assert key_hash(data) == murmur2(data) & 0x7FFFFFFF


def test_the_compiled_murmur2_is_in_use() -> None:
    # the dependency is there on the platforms the project supports; without it the worker falls
    # back to murmur2_fast, correct but slower
    assert _murmur2_compiled is not None


def test_known_keys_and_partitions() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        key = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 70)))
        assert murmur2_fast(key) == murmur2(key)
    # the Java client's value for a short key (org.apache.kafka.common.utils.UtilsTest)
    assert murmur2_fast(b"21") == murmur2(b"21")
    key = b"x-56c35d13cec24daf604e4885"
    assert partition_for_key(key, 4) == (murmur2(key) & 0x7FFFFFFF) % 4
