"""The intake helper process (``python -m router.helper``, started by ``router.pool``): prepares
batches of raw reports (``router.prepare``) for the worker that started it.

It imports only what preparing needs (no Faust, no Kafka client, no logging setup): it is a
second copy of the data files' structures in memory, so it is kept small. Its standard output
carries the protocol (see ``router.pool``); anything printed by mistake goes to standard error.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import pickle
import struct
import sys
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, Final

from router.prepare import Preparer, RecentCases, pack

LENGTH = struct.Struct(">I")


def frame(message: Any) -> bytes:
    """A length-prefixed frame of the protocol (both directions): a kind byte and the message,
    ``M`` marshalled when it is made of built-in types only (every batch and its answer: marshal
    writes a batch's answer in half the time pickle takes, as it keeps no memo of the objects it
    has written), else ``P`` pickled (the settings of ``init``, which hold paths)."""
    try:
        payload = b"M" + marshal.dumps(message)
    except ValueError:  # a type marshal does not know
        payload = b"P" + pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return LENGTH.pack(len(payload)) + payload


def unframe(payload: bytes) -> Any:
    """The message of a frame's payload (what follows its length); ``ValueError`` when it is not
    one. Both ends are this program: the pipe carries nothing from anyone else."""
    kind, body = payload[:1], memoryview(payload)[1:]
    if kind == b"M":
        return marshal.loads(body)
    if kind == b"P":
        return pickle.loads(body)
    raise ValueError("not a frame of the helper protocol")


def settle_memory() -> None:
    """Call once the process has built what it keeps for its whole life (modules, Faust, the data
    files' structures): frozen out of the garbage collector's sight it costs no full collection,
    which otherwise walks it again and again at full speed; young objects are collected less often.
    The worker and its helpers both call it."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


_M_ARENA_MAX: Final = -8  # glibc's mallopt parameter (malloc.h)


def bound_malloc(environ: Mapping[str, str] = os.environ) -> bool:
    """Two allocator arenas rather than glibc's eight a core; True when applied. Call first thing
    in the worker and in each helper: their threads (the helper's pipe reader and writer, Faust's
    consumer, RocksDB's) otherwise each fill an arena of their own, which the process keeps.

    Over `router bench --long` (1,000,000 reports, 100,000 open cases) the worker and its helper
    peaked at 296 MB rather than 306. (Mapping every buffer of 256 KiB or more as well, rather
    than letting glibc raise that threshold, took it to 285 MB, but cost about a tenth of the
    throughput in paired runs.) Skipped where the allocator is not glibc's, or when the
    environment sets ``MALLOC_ARENA_MAX`` itself."""
    if sys.platform != "linux" or "MALLOC_ARENA_MAX" in environ:
        return False
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 2))
    except (OSError, AttributeError):
        return False


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    data = stream.read(n)
    if len(data) < n:
        return None
    return data


class _State:
    """What a helper holds: the preparer and what the worker tells it (partitions held, banned
    accounts), and what reloading the data files needs."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from router.config import load_config
        from router.core.enrich import Enricher
        from router.core.mirrors import BannedIndex
        from router.events import Topics
        from router.settings import load_settings

        spec = dict(spec)
        lines = bool(spec.pop("record_lines", False))
        self.settings = load_settings(**spec)
        config = load_config(self.settings)
        self.registry = config.registry
        self.held: set[int] = set()
        self.banned = BannedIndex()
        self.preparer = Preparer(
            enricher=Enricher(config.registry, config.matcher, config.ip_table, self.banned), policy=config.policy,
            topics=Topics.from_settings(self.settings), partitions=self.settings.partitions,
            max_bytes=self.settings.max_record_bytes, holds=self.held.__contains__, lines=lines,
            recent=RecentCases())

    def reload(self) -> str | None:
        """Re-read the watchlist and the SLA policy; the problem, if a file is refused."""
        from router.config import ConfigError, load_sla_policy, load_watchlist

        try:
            _, matcher = load_watchlist(self.settings)
            policy = load_sla_policy(self.settings, self.registry)
        except ConfigError as exc:
            return str(exc)
        self.preparer.enricher.matcher = matcher
        self.preparer.policy = policy
        return None


def _read_frame(stream: BinaryIO) -> bytes | None:
    """The payload of the next frame, or None at the end of the input (a frame cut short too)."""
    header = _read_exactly(stream, LENGTH.size)
    return None if header is None else _read_exactly(stream, LENGTH.unpack(header)[0])


def serve(source: BinaryIO, sink: BinaryIO) -> int:
    """The helper's loop: answer the worker's frames until its input ends.

    Both pipes are served by threads of their own, so that neither side's work waits for the
    other's event loop:
    * answers are written by one: a batch's results (about 1.5 KB a report) fill the pipe many
      times over, and the next batch is prepared while the worker reads them;
    * frames are read by another, as soon as they come: the worker's event loop writes what the
      pipe cannot take (1 MiB; two batches waiting are more) only once it is free again, after
      its case step of a batch. Read by the loop below, a batch was left half-read meanwhile and
      the helper idle a tenth of the time with a batch waiting (sampled process states); read
      ahead, the pipe stays empty and the worker's write goes through at once."""
    import queue
    import threading

    outgoing: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    incoming: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def writer() -> None:
        while (data := outgoing.get()) is not None:
            sink.write(data)
            sink.flush()

    def reader() -> None:
        try:
            while (payload := _read_frame(source)) is not None:
                incoming.put(payload)
        finally:
            incoming.put(None)  # the end of the input (or a broken pipe): the loop ends

    thread = threading.Thread(target=writer, name="answers", daemon=True)
    thread.start()
    threading.Thread(target=reader, name="batches", daemon=True).start()
    try:
        return _serve(iter(incoming.get, None), lambda message: outgoing.put(frame(message)))
    finally:
        outgoing.put(None)
        thread.join(timeout=10)


def _serve(frames: Iterator[bytes], send: Any) -> int:
    state: _State | None = None
    for payload in frames:
        message = unframe(payload)
        kind = message[0]
        if kind == "init":
            state = _State(message[1])
            settle_memory()
            send(("ready",))
        elif state is None:  # the protocol broken: exit, the worker prepares the batch and starts a new helper
            return 2
        elif kind == "batch":
            send(("done", pack(state.preparer.prepare(message[2], message[1]))))
        elif kind == "ban":
            for platform, account in message[1]:
                state.banned.add(platform, account)
        elif kind == "held":
            state.held.clear()
            state.held.update(message[1])
        elif kind == "reload":
            problem = state.reload()
            if problem is not None:
                send(("note", "intake.helper_reload_refused", {"error": problem}))
        else:
            send(("note", "intake.helper_unknown_message", {"kind": str(kind)[:40]}))
    return 0


def main() -> int:  # pragma: no cover - the helper process (tests/agents/test_pool.py)
    import signal

    bound_malloc()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the worker's to handle; input EOF ends us
    for fd in (0, 1):  # pipes of 1 MiB rather than 64 KiB: fewer wake-ups per batch on both sides
        with contextlib.suppress(OSError, AttributeError):
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    source = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
    sink = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
    os.dup2(2, 1)  # anything printed by mistake goes to the log stream, never into the protocol
    return serve(source, sink)


if __name__ == "__main__":
    sys.exit(main())
