"""Produce requests written with one copy of their records rather than about seven.

aiokafka encodes a request by joining the encoding of each field, level by level (the records
of a partition, its partitions, a topic, the topics, the request), then prepends the request
header and then the size, each step a new bytes object holding the whole request. For the
router a produce request carries the records of a batch of reports (some 3.5 MB for 1,000 new
cases): encoding and framing such a request took 4.8 ms, against 1.5 ms joined once (best of 20,
36 record batches of 83 records of 1.2 kB). Over whole worker runs the worker copies about 11 kB
a report less (callgrind).

``install`` replaces ``AIOKafkaConnection.send`` for produce requests only, with the same code
but the frame (size, header, fields) gathered as a list of pieces, the record batches among
them as they are, and joined once. The bytes on the wire are the same (tested against
aiokafka's own encoding for every produce request version). Every other request goes through
aiokafka's ``send`` unchanged. The raw loop of ``router bench`` does not install it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import aiokafka
from aiokafka import conn as _conn
from aiokafka.protocol import types as _types
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.protocol.struct import Struct

#: The aiokafka releases whose ``AIOKafkaConnection.send`` this module's copy follows (the one
#: pinned in deploy/requirements.lock); with any other the worker keeps aiokafka's framing and logs so.
VERSIONS = ("0.14.",)
_INT32 = struct.Struct(">i")


def pieces(field: Any, value: Any, out: list[Any]) -> None:
    """Append the encoding of ``value`` as ``field`` to ``out``, in pieces: what
    ``field.encode(value)`` returns is ``b"".join(out)``, but the bytes values (the record
    batches) are appended as they are rather than copied into each enclosing level."""
    kind = type(field)
    if kind is _types.Schema:
        if len(value) != len(field.fields):
            raise ValueError("Item field count does not match Schema")
        for sub, item in zip(field.fields, value, strict=True):
            pieces(sub, item, out)
    elif kind is _types.Array:  # (exactly: CompactArray, a subclass, encodes otherwise)
        if value is None:
            out.append(_INT32.pack(-1))
        else:
            out.append(_INT32.pack(len(value)))
            of = field.array_of
            for item in value:
                pieces(of, item, out)
    elif field is _types.Bytes:
        if value is None:
            out.append(_INT32.pack(-1))
        else:
            out.append(_INT32.pack(len(value)))
            out.append(value)
    else:
        out.append(field.encode(value))


def frame(request_struct: Any, header: Any) -> bytes:
    """The whole frame of a request: its size, its header and its fields, joined once."""
    schema = request_struct.SCHEMA
    out: list[Any] = [b"", header.encode()]
    pieces(schema, [request_struct.__dict__[name] for name in schema.names], out)
    out[0] = _INT32.pack(sum(len(piece) for piece in out))
    return b"".join(out)


def _plain(request_struct: Any) -> bool:
    """A produce request struct encoded by ``Struct.encode`` (no version of its own)."""
    return isinstance(request_struct, Struct) and type(request_struct).encode is Struct.encode


def fast_send(original: Callable[..., Any]) -> Callable[..., Any]:
    """``AIOKafkaConnection.send`` (aiokafka 0.14) with produce requests framed by ``frame``."""

    def send(self: Any, request: Any, expect_response: bool = True) -> Any:
        if not isinstance(request, ProduceRequest) or self._writer is None:
            return original(self, request, expect_response)
        request_struct = request.prepare(self._versions)
        if not _plain(request_struct):  # pragma: no cover - a version aiokafka encodes its own way
            return original(self, request, expect_response)
        correlation_id = self._next_correlation_id()
        header = request_struct.build_request_header(correlation_id=correlation_id, client_id=self._client_id)
        data = frame(request_struct, header)
        try:
            self._writer.write(data)
        except OSError as err:
            self.close(reason=_conn.CloseReason.CONNECTION_BROKEN)
            raise _conn.Errors.KafkaConnectionError(
                f"Connection at {self._host}:{self._port} broken: {err}") from err
        _conn.log.debug("Request to %s:%d %d: %s", self._host, self._port, correlation_id, request_struct)
        if not expect_response:
            return self._writer.drain()
        fut = self._loop.create_future()
        self._requests.append((correlation_id, request_struct, fut))
        return _conn.wait_for(fut, self._request_timeout)

    send.router_fast = True  # type: ignore[attr-defined]
    send.original = original  # type: ignore[attr-defined]
    return send


def install() -> bool:
    """Use ``fast_send`` in this process; False (nothing changed) with an aiokafka it does not know."""
    current = _conn.AIOKafkaConnection.send
    if getattr(current, "router_fast", False):
        return True
    if not aiokafka.__version__.startswith(VERSIONS):
        return False
    _conn.AIOKafkaConnection.send = fast_send(current)  # type: ignore[method-assign]
    return True


def uninstall() -> None:
    current = _conn.AIOKafkaConnection.send
    if getattr(current, "router_fast", False):
        _conn.AIOKafkaConnection.send = current.original  # type: ignore[attr-defined,method-assign]
