"""Helper processes for intake's stateless half (``router.prepare``).

A worker is one Python process, so one core. Decoding, validating and enriching reports, and
building a new case's records, are most of its work and read no state: ``ROUTER_INTAKE_PROCESSES``
helper processes do them beside the worker, a batch at a time, while the worker does what needs
its state (the cases table, Kafka, the decisions that read them). With no helper (``0``, or on a
machine with one CPU) the worker prepares its batches itself; the results are the same.

Protocol: length-prefixed frames (``router.helper.frame``: marshal, or pickle for what marshal cannot
write) over each helper's standard input and output (the helper is the worker's own child; nothing
else writes there). Worker to helper: ``("init", spec)``, then
``("batch", now, values)``, ``("ban", [(platform, account), ...])`` (known banned accounts, for
mirror detection), ``("held", partitions)`` (the case partitions the worker holds) and
``("reload",)`` (re-read the watchlist and the SLA policy). Helper to worker: ``("ready",)``, then
``("done", packed)`` for each batch, in order (``router.prepare.pack``: plain tuples), and
``("note", event, fields)`` for its log.

Faults: a helper that dies or answers garbage fails the batches it had; the worker prepares them
itself, logs ``intake.helper_exited`` and starts a new helper after a pause (1 s, doubling up to
30 s). Helpers die with the worker (``PR_SET_PDEATHSIG``) and exit when their input closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import structlog

from router.helper import LENGTH, frame, unframe
from router.prepare import Prepared, Preparer, unpack

log = structlog.get_logger("router.pool")

#: how much of a helper's answers the reader buffers before it stops reading the pipe. asyncio's
#: default (64 KiB) paused and resumed the pipe a dozen times for each answer of a batch (a
#: megabyte or two): 20 % of the cost of reading it. What is buffered is bounded anyway by the
#: batches handed to the helper and not yet answered.
_READ_LIMIT = 16 << 20

#: the settings a helper needs (the rest of its environment is the worker's own)
SPEC_FIELDS = ("platforms", "watchlist", "sla_policy", "topic_receipts", "topic_breaches", "topic_review",
               "topic_outbound_prefix", "app_id", "partitions", "max_record_bytes")


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, bounded by a cgroup v2 CPU quota (a
    container's CPU limit) when there is one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    return max(1, cpus)


def helper_count(setting: int | str, cpus: int | None = None) -> int:
    """``auto``: one helper per CPU beyond the worker's own, at most 4; a number is taken as is."""
    if setting != "auto":
        return int(setting)
    return max(0, min(4, (cpus or available_cpus()) - 1))


class HelperGone(RuntimeError):
    """The helper exited or broke the protocol: its pending batches are prepared by the worker."""


class _Helper:
    """One helper process and the batches it was given, answered in order."""

    def __init__(self, number: int, process: asyncio.subprocess.Process) -> None:
        self.number = number
        self.process = process
        self.pending: deque[asyncio.Future[list[Prepared]]] = deque()
        self.ready = False
        self.started = time.monotonic()
        self.reader: asyncio.Task[None] | None = None

    def send(self, message: Any) -> None:
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            raise HelperGone("input closed")
        stdin.write(frame(message))

    async def drain(self) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.drain()

    async def receive(self) -> Any:
        stdout = self.process.stdout
        assert stdout is not None
        header = await stdout.readexactly(LENGTH.size)
        return unframe(await stdout.readexactly(LENGTH.unpack(header)[0]))

    def fail_pending(self) -> None:
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(HelperGone(f"helper {self.number} exited"))


class IntakePool:
    """The worker's side: hands batches to helpers in turn and gets their results back in order.

    ``prepare`` never raises: whatever a helper fails to answer, ``local`` (the worker's own
    ``Preparer``) prepares. Control messages reach every helper before the batches sent after them.
    """

    def __init__(self, local: Preparer, spec: dict[str, Any], processes: int,
                 known_accounts: Any = lambda: (), held: Any = lambda: ()) -> None:
        self.local = local
        self.spec = spec
        self.processes = processes
        self._known_accounts = known_accounts  # () -> [(platform, account)] for a new helper
        self._held = held  # () -> the case partitions held now, for a new helper
        self._helpers: list[_Helper | None] = [None] * processes
        self._next = 0
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.batches_local = 0
        self.batches_helped = 0
        self.restarts = 0
        #: a batch takes a helper well under a second; one that takes this long has hung
        self.batch_timeout_s = 60.0

    # --- life -------------------------------------------------------------------------------
    async def start(self) -> None:
        for number in range(self.processes):
            self._spawn_later(number, 0.0)

    def _spawn_later(self, number: int, delay: float) -> None:
        task = asyncio.ensure_future(self._spawn(number, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _spawn(self, number: int, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self._stopping:
            return
        from router.embedded import _die_with_parent

        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "router.helper", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, limit=_READ_LIMIT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        except OSError as exc:
            log.error("intake.helper_not_started", helper=number, error=type(exc).__name__)
            self._spawn_later(number, min(30.0, max(1.0, delay * 2)))
            return
        helper = _Helper(number, process)
        self._helpers[number] = helper
        try:
            helper.send(("init", self.spec))
            helper.send(("ban", list(self._known_accounts())))
            helper.send(("held", sorted(self._held())))
            await helper.drain()
        except (HelperGone, ConnectionError):
            pass  # the reader sees the exit
        helper.reader = asyncio.ensure_future(self._read(helper, delay))

    async def _read(self, helper: _Helper, delay: float) -> None:
        try:
            while True:
                message = await helper.receive()
                kind = message[0]
                if kind == "done":
                    results = unpack(message[1])
                    future = helper.pending.popleft()
                    if not future.done():
                        future.set_result(results)
                elif kind == "ready":
                    helper.ready = True
                    log.info("intake.helper_ready", helper=helper.number, pid=helper.process.pid,
                             started_s=round(time.monotonic() - helper.started, 2))
                elif kind == "note":
                    log.warning(message[1], helper=helper.number, **message[2])
                else:
                    raise HelperGone(f"unexpected message {kind!r}")
        except (asyncio.IncompleteReadError, ConnectionError, HelperGone, EOFError):
            pass  # it exited, or its output ended
        except asyncio.CancelledError:
            helper.fail_pending()
            raise
        except Exception as exc:  # an answer that cannot be read: the helper is replaced all the same
            log.error("intake.helper_answer_unreadable", helper=helper.number, error=type(exc).__name__)
        helper.ready = False
        helper.fail_pending()
        self._helpers[helper.number] = None
        with contextlib.suppress(ProcessLookupError):
            helper.process.kill()
        code = await helper.process.wait()
        if self._stopping:
            return
        self.restarts += 1
        # a helper that ran for a minute starts again at once; one that keeps failing waits longer
        delay = 1.0 if time.monotonic() - helper.started > 60 else min(30.0, max(1.0, delay * 2))
        log.warning("intake.helper_exited", helper=helper.number, exit_code=code, restart_in_s=delay)
        self._spawn_later(helper.number, delay)

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        for helper in self._helpers:
            if helper is None:
                continue
            if helper.process.stdin is not None:
                helper.process.stdin.close()  # the helper exits at the end of its input
            try:
                await asyncio.wait_for(helper.process.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    helper.process.kill()
            if helper.reader is not None:
                helper.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await helper.reader

    # --- work -------------------------------------------------------------------------------
    def _pick(self) -> _Helper | None:
        for _ in range(self.processes):
            helper = self._helpers[self._next]
            self._next = (self._next + 1) % self.processes
            if helper is not None and helper.ready:
                return helper
        return None

    async def prepare(self, values: list[bytes | None], now: float) -> list[Prepared]:
        helper = self._pick()
        if helper is not None:
            future: asyncio.Future[list[Prepared]] = asyncio.get_running_loop().create_future()
            try:
                helper.send(("batch", now, values))
                helper.pending.append(future)
                await helper.drain()
                results = await asyncio.wait_for(asyncio.shield(future), self.batch_timeout_s)
                if len(results) == len(values):
                    self.batches_helped += 1
                    return results
                log.error("intake.helper_answer_invalid", helper=helper.number)
            except (HelperGone, ConnectionError):
                pass
            except TimeoutError:  # a helper that does not answer is stopped; the reader replaces it
                log.error("intake.helper_timeout", helper=helper.number, after_s=self.batch_timeout_s)
                helper.ready = False
                future.add_done_callback(lambda f: f.cancelled() or f.exception())  # failed by the reader
                with contextlib.suppress(ProcessLookupError):
                    helper.process.kill()
        self.batches_local += 1
        return self.local.prepare(values, now)

    def _broadcast(self, message: Any) -> None:
        for helper in self._helpers:
            if helper is not None:
                with contextlib.suppress(HelperGone, ConnectionError):
                    helper.send(message)

    def banned(self, platform: str, account: str) -> None:
        self._broadcast(("ban", [(platform, account)]))

    def held(self, partitions: Iterable[int]) -> None:
        self._broadcast(("held", sorted(partitions)))

    def reload(self) -> None:
        self._broadcast(("reload",))

    @property
    def ready_helpers(self) -> int:
        return sum(1 for helper in self._helpers if helper is not None and helper.ready)
