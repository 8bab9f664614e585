"""Helper processes (router.pool): a real helper prepares what the worker would, learns the
banned accounts and partitions the worker tells it, and a helper that dies costs nothing but time."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from router.casework import Topics
from router.config import load_config
from router.core.enrich import Enricher
from router.core.mirrors import BannedIndex
from router.helper import LENGTH, frame, serve, unframe
from router.pool import SPEC_FIELDS, IntakePool, available_cpus, helper_count
from router.prepare import Preparer, Ready
from router.settings import load_settings
from tests.agents.fakes import report

NOW = 1_800_000_000.0


def _local(settings, held: set[int], banned: BannedIndex) -> Preparer:
    config = load_config(settings)
    topics = Topics.from_settings(settings)
    return Preparer(enricher=Enricher(config.registry, config.matcher, config.ip_table, banned), policy=config.policy,
                    topics=topics, partitions=settings.partitions, max_bytes=settings.max_record_bytes,
                    holds=held.__contains__)


def _values() -> list[bytes | None]:
    return [report(f"r{i}", url=f"https://x.com/acct{i}/status/{i}", text="Tehreek-e-Taliban Pakistan video",
                   signals={"phone": "+92 300 1234567"}) for i in range(20)] + [b"{broken", None]


def _messages(data: bytes) -> list[tuple]:
    """The messages of a stream of frames."""
    messages = []
    while data:
        n = LENGTH.unpack(data[:4])[0]
        messages.append(unframe(data[4:4 + n]))
        data = data[4 + n:]
    return messages


async def _ready(pool: IntakePool, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while pool.ready_helpers < pool.processes:
        assert asyncio.get_running_loop().time() < deadline, "the helpers did not start"
        await asyncio.sleep(0.05)


@pytest.fixture
def settings(tmp_path):
    return load_settings(broker="kafka://127.0.0.1:1", partitions=4, data_dir=tmp_path)


async def test_a_helper_prepares_exactly_what_the_worker_would(settings) -> None:
    held = {0, 1, 2}
    local = _local(settings, held, BannedIndex())
    pool = IntakePool(local, {name: getattr(settings, name) for name in SPEC_FIELDS}, 1, held=lambda: held)
    await pool.start()
    try:
        await _ready(pool)
        values = _values()
        helped = await pool.prepare(values, NOW)
        assert pool.batches_helped == 1 and pool.batches_local == 0
        assert helped == local.prepare(values, NOW)
        assert {type(x).__name__ for x in helped} == {"Ready", "Forward", "Rejected"}  # partition 3 is not held
        # what the worker tells it reaches it before the batches sent after: partitions, banned accounts
        held.add(3)
        pool.held(held)
        local.enricher.mirrors.add("x", "acct5")  # type: ignore[union-attr]
        pool.banned("x", "acct5")
        values = [report("m1", url="https://x.com/acct5_backup/status/1")]
        helped = await pool.prepare(values, NOW)
        assert helped == local.prepare(values, NOW)
        assert isinstance(helped[0], Ready) and json.loads(helped[0].routed)["mirror_of"]["account"] == "acct5"
    finally:
        await pool.stop()


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP])
async def test_a_helper_that_dies_or_hangs_is_replaced_and_its_batch_prepared_by_the_worker(settings, fault) -> None:
    local = _local(settings, {0, 1, 2, 3}, BannedIndex())
    pool = IntakePool(local, {name: getattr(settings, name) for name in SPEC_FIELDS}, 1, held=lambda: {0, 1, 2, 3})
    pool.batch_timeout_s = 1.0  # for the hung one
    await pool.start()
    try:
        await _ready(pool)
        first = pool._helpers[0]
        assert first is not None
        os.kill(first.process.pid, fault)
        values = _values()
        assert await pool.prepare(values, NOW) == local.prepare(values, NOW)  # prepared here meanwhile
        assert pool.batches_local == 1
        await _ready(pool)
        assert pool._helpers[0] is not first and pool.restarts == 1
        assert first.process.returncode is not None
        assert await pool.prepare(values, NOW) == local.prepare(values, NOW)
        assert pool.batches_helped == 1
    finally:
        await pool.stop()


def test_the_helper_loop_answers_in_order_and_ends_with_its_input(settings, tmp_path) -> None:
    source = tmp_path / "in"
    source.write_bytes(frame(("init", {name: getattr(settings, name) for name in SPEC_FIELDS}))
                       + frame(("held", [0, 1, 2, 3])) + frame(("batch", NOW, _values()))
                       + frame(("surprise",)))
    sink = tmp_path / "out"
    with source.open("rb") as src, sink.open("wb") as out:
        assert serve(src, out) == 0
    answers = _messages(sink.read_bytes())
    assert [a[0] for a in answers] == ["ready", "done", "note"]
    from router.prepare import unpack

    assert len(unpack(answers[1][1])) == len(_values())


def test_the_helper_reads_the_next_batch_while_it_prepares_one(monkeypatch) -> None:
    """The worker writes what the pipe cannot take only when its event loop is free: a helper that
    read its input only between batches left the next batch half-written, and waited for it."""
    import threading
    from types import SimpleNamespace

    from router import helper

    release = threading.Event()
    prepared: list[int] = []

    def prepare(values, now):
        assert release.wait(30)
        prepared.append(len(values))
        return []

    monkeypatch.setattr(helper, "_State", lambda spec: SimpleNamespace(preparer=SimpleNamespace(prepare=prepare)))
    monkeypatch.setattr(helper, "settle_memory", lambda: None)
    source_r, source_w = os.pipe()
    sink_r, sink_w = os.pipe()
    with os.fdopen(source_r, "rb") as source, os.fdopen(sink_w, "wb") as sink, os.fdopen(sink_r, "rb") as answers:
        loop = threading.Thread(target=helper.serve, args=(source, sink), daemon=True)
        loop.start()
        to_helper = os.fdopen(source_w, "wb")
        to_helper.write(frame(("init", {})) + frame(("batch", NOW, [b"{}"])))
        to_helper.flush()
        # while the first batch is being prepared, a next one 64 times the pipe's size (64 KiB) goes in
        big = frame(("batch", NOW, [i.to_bytes(4, "big") * 256 for i in range(4096)]))  # (distinct: 4 MiB)
        writer = threading.Thread(target=lambda: (to_helper.write(big), to_helper.flush()), daemon=True)
        writer.start()
        writer.join(5)
        written_meanwhile = not writer.is_alive()
        release.set()  # (either way the batch is read now: nothing is left blocked)
        writer.join(10)
        assert not writer.is_alive()
        to_helper.close()  # the end of its input: the helper answers what it has and stops
        loop.join(10)
        assert not loop.is_alive()
        sink.close()
        data = answers.read()
    assert written_meanwhile, "the helper read nothing while it prepared a batch"
    assert prepared == [1, 4096]
    assert [a[0] for a in _messages(data)] == ["ready", "done", "done"]


def test_auto_takes_one_helper_per_spare_cpu() -> None:
    assert helper_count("auto", cpus=1) == 0
    assert helper_count("auto", cpus=2) == 1
    assert helper_count("auto", cpus=64) == 4
    assert helper_count(3) == 3 and helper_count(0) == 0
    assert 1 <= available_cpus() <= (os.cpu_count() or 1)


def test_frames_carry_marshalled_builtins_and_pickle_the_rest(tmp_path: Path) -> None:
    batch = ("batch", 1.5, [b"{}", None, b"x" * 70_000])
    answer = ("done", (b"\x02\x00", [("r1", "x-1", "x", 0, 7, 8, ("TTP",), b"{}", b"{}", b"{}", 1.0, b""),
                                       ("validation", ["url: bad"], None)]))
    init = ("init", {"watchlist": tmp_path / "w.yaml", "partitions": 4})
    for message in (batch, answer, init, ("held", [0, 3]), ("ready",)):
        data = frame(message)
        assert LENGTH.unpack(data[:4])[0] == len(data) - 4
        assert unframe(data[4:]) == message
    assert frame(batch)[4:5] == b"M" and frame(answer)[4:5] == b"M"  # built-in types: marshalled
    assert frame(init)[4:5] == b"P"  # a path: pickled
    with pytest.raises(ValueError):
        unframe(b"Xanything")


def test_the_allocator_is_bounded_unless_the_environment_says_otherwise() -> None:
    import platform
    import subprocess
    import sys

    from router.helper import bound_malloc

    assert bound_malloc({"MALLOC_ARENA_MAX": "4"}) is False  # the operator's own setting wins
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        assert bound_malloc({}) is False
        return
    # in fresh processes (mallopt changes the allocator for good): eight threads that allocate get
    # an arena each, or share two; glibc's malloc_info lists the arenas
    code = ("import ctypes, sys, tempfile, threading\n"
            "from router.helper import bound_malloc\n"
            "applied = bound_malloc({}) if sys.argv[1] == 'bound' else False\n"
            "go = threading.Barrier(8)\n"
            "def work():\n"
            "    go.wait(); blocks = [bytearray(1000) for _ in range(1000)]; go.wait()\n"
            "threads = [threading.Thread(target=work) for _ in range(8)]\n"
            "[t.start() for t in threads]; [t.join() for t in threads]\n"
            "libc = ctypes.CDLL(None); libc.fopen.restype = ctypes.c_void_p\n"
            "path = tempfile.mktemp(); f = libc.fopen(path.encode(), b'w')\n"
            "libc.malloc_info(0, ctypes.c_void_p(f)); libc.fclose(ctypes.c_void_p(f))\n"
            "print(applied, open(path).read().count('<heap nr='))")
    bound = subprocess.run([sys.executable, "-c", code, "bound"], capture_output=True, text=True, check=True,
                           timeout=60).stdout.split()
    free = subprocess.run([sys.executable, "-c", code, "free"], capture_output=True, text=True, check=True,
                          timeout=60).stdout.split()
    assert bound[0] == "True" and int(bound[1]) <= 2
    assert free[0] == "False" and int(free[1]) > 2  # (the check above can tell)
