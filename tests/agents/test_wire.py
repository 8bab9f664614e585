"""``router.wire``: produce requests framed with one copy, byte for byte as aiokafka frames them."""

from __future__ import annotations

import asyncio
import os
import struct
from typing import Any

import pytest
from aiokafka import conn as aiokafka_conn
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from router import wire


def record_batch(n: int, size: int) -> bytearray:
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                        producer_epoch=-1, base_sequence=-1, batch_size=1 << 22)
    for i in range(n):
        builder.append(i, timestamp=None, key=b"key-%d" % i, value=os.urandom(size), headers=[("ce_id", b"x" * 40)])
    return builder.build()


def produce_request() -> ProduceRequest:
    topics = {f"router.outbound.{t}": [(p, record_batch(1 + p, 100 + 50 * p)) for p in range(3)] for t in range(4)}
    topics["empty"] = []
    return ProduceRequest(required_acks=-1, timeout=30_000, topics=list(topics.items()), transactional_id=None)


@pytest.mark.parametrize("version", [cls.API_VERSION for cls in ProduceRequest._CLASSES])
def test_a_frame_is_aiokafkas_frame(version: int) -> None:
    request_struct = produce_request().prepare({ProduceRequest.API_KEY: (version, version)})
    assert version == request_struct.API_VERSION
    header = request_struct.build_request_header(correlation_id=7, client_id="router")
    message = header.encode() + request_struct.encode()
    assert wire.frame(request_struct, header) == struct.pack(">i", len(message)) + message


def test_pieces_refuse_what_aiokafka_refuses() -> None:
    request_struct = produce_request().prepare({ProduceRequest.API_KEY: (0, 7)})
    with pytest.raises(ValueError, match="field count"):
        wire.pieces(request_struct.SCHEMA, [None], [])


class FakeWriter:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    async def drain(self) -> None:
        return None


class FakeConnection:
    """What ``AIOKafkaConnection.send`` uses of the connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._writer = FakeWriter()
        self._versions = {ProduceRequest.API_KEY: (0, 7), MetadataRequest.API_KEY: (0, 1)}
        self._client_id = "router"
        self._host, self._port = "127.0.0.1", 9092
        self._loop = loop
        self._requests: list[tuple[int, Any, asyncio.Future[Any]]] = []
        self._request_timeout = 30.0
        self._correlation_id = 0

    def _next_correlation_id(self) -> int:
        self._correlation_id += 1
        return self._correlation_id

    def close(self, reason: Any = None, exc: Any = None) -> None:  # pragma: no cover - not reached
        raise AssertionError("closed")


async def test_fast_send_writes_what_aiokafka_writes() -> None:
    loop = asyncio.get_running_loop()
    original = aiokafka_conn.AIOKafkaConnection.send
    original = getattr(original, "original", original)
    send = wire.fast_send(original)
    request = produce_request()
    plain, fast = FakeConnection(loop), FakeConnection(loop)
    for conn, how in ((plain, original), (fast, send)):
        waiting = how(conn, request)
        await how(conn, request, expect_response=False)
        assert [c for c, _, _ in conn._requests] == [1]
        assert conn._requests[0][1].API_VERSION == 7
        waiting.close()
    assert fast._writer.written == plain._writer.written
    assert len(fast._writer.written) == 2 and len(fast._writer.written[0]) > 1000
    # any other request goes through aiokafka's own send
    other = MetadataRequest([])
    send(fast, other).close()
    original(plain, other).close()
    assert fast._writer.written == plain._writer.written


def test_install_and_uninstall() -> None:
    before = aiokafka_conn.AIOKafkaConnection.send
    try:
        assert wire.install() is True
        assert wire.install() is True  # once
        installed = aiokafka_conn.AIOKafkaConnection.send
        assert installed.router_fast is True  # type: ignore[attr-defined]
        assert installed.original is getattr(before, "original", before)  # type: ignore[attr-defined]
    finally:
        wire.uninstall()
    assert not getattr(aiokafka_conn.AIOKafkaConnection.send, "router_fast", False)
    if getattr(before, "router_fast", False):  # pragma: no cover - installed by an earlier test in this process
        wire.install()


def test_an_unknown_aiokafka_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("aiokafka.__version__", "9.9.9")
    wire.uninstall()
    assert wire.install() is False
    assert not getattr(aiokafka_conn.AIOKafkaConnection.send, "router_fast", False)
