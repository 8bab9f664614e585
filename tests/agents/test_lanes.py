"""Lanes: batches are taken in order, records are acknowledged only after what they produced
is stored (events first, then state), and a failed publication is retried, never dropped."""

from __future__ import annotations

import asyncio

from faust.types import TP

from router.lanes import Lane, LaneRunner
from router.output import Outbox, Record
from tests.agents.fakes import Msg, RecordingPublisher


def _process(batch: list[Msg]) -> Outbox:
    out = Outbox()
    for m in batch:
        out.emit("events", m.key, m.value or b"")
        out.persist("state", m.key or b"k", m.value, m.partition)
    return out


async def _run_until(runner: LaneRunner, done, timeout: float = 5.0) -> None:
    task = asyncio.ensure_future(runner.run())
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not done():
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()


async def test_records_are_acknowledged_in_order_after_publication() -> None:
    lane = Lane("t", ["in"], maxsize=100)
    publisher = RecordingPublisher()
    acked: list[int] = []

    def ack(batch: list[Msg]) -> None:
        for m in batch:
            # when a record is acknowledged, its event and its state were published before
            assert Record("events", m.key, m.value) in publisher.published
            assert any(r.topic == "state" and r.key == m.key for r in publisher.published)
            acked.append(m.offset)

    runner = LaneRunner(lane, _process, publisher, ack, batch_max=7)
    msgs = [Msg("in", 0, i, str(i).encode(), b"v") for i in range(50)]
    await lane.put_many(msgs[:20])
    await lane.put_many(msgs[20:])
    await _run_until(runner, lambda: len(acked) == 50)
    assert acked == list(range(50))
    events = [r for r in publisher.published if r.topic == "events"]
    assert [r.key for r in events] == [m.key for m in msgs]


async def test_a_failed_publication_is_retried_before_acknowledging() -> None:
    lane = Lane("t", ["in"])
    publisher = RecordingPublisher(fail_times=1)
    acked: list[int] = []
    runner = LaneRunner(lane, _process, publisher, lambda batch: acked.extend(m.offset for m in batch), batch_max=10)
    await lane.put_many([Msg("in", 0, i, b"k", b"v") for i in range(3)])
    await _run_until(runner, lambda: len(acked) == 3)
    assert len([r for r in publisher.published if r.topic == "events"]) == 3


async def test_revoked_partitions_are_dropped_from_the_buffer() -> None:
    lane = Lane("t", ["in"])
    await lane.put_many([Msg("in", p, i, b"k", b"v") for i in range(3) for p in (0, 1)])
    dropped = lane.discard({TP("in", 1)})
    assert {m.partition for m in dropped} == {1} and len(dropped) == 3
    batch = await lane.take(100)
    assert {m.partition for m in batch} == {0}


async def test_a_full_lane_applies_backpressure() -> None:
    lane = Lane("t", ["in"], maxsize=5)
    await lane.put_many([Msg("in", 0, i, b"k", b"v") for i in range(5)])
    blocked = asyncio.ensure_future(lane.put_many([Msg("in", 0, 5, b"k", b"v")]))
    await asyncio.sleep(0.05)
    assert not blocked.done(), "the drain loop waits while the lane is full"
    assert len(await lane.take(3)) == 3
    await asyncio.wait_for(blocked, 1)
    assert len(lane) == 3


async def test_prepared_batches_are_processed_in_the_order_taken() -> None:
    """With a preparation stage (helper processes) a later batch may be prepared first; it is
    still processed, published and acknowledged after the earlier ones."""
    lane = Lane("t", ["in"], maxsize=100)
    publisher = RecordingPublisher()
    acked: list[int] = []
    delays = iter([0.05, 0.0, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0])

    async def prepare(batch: list[Msg]) -> list[int]:
        await asyncio.sleep(next(delays))
        return [m.offset * 10 for m in batch]

    def process(batch: list[Msg], prepared: list[int]) -> Outbox:
        assert prepared == [m.offset * 10 for m in batch]
        return _process(batch)

    runner = LaneRunner(lane, process, publisher, lambda batch: acked.extend(m.offset for m in batch), batch_max=5,
                        prepare=prepare, max_preparing=3)
    for i in range(0, 30, 5):  # one batch at a time, so that several are being prepared at once
        await lane.put_many([Msg("in", 0, j, str(j).encode(), b"v") for j in range(i, i + 5)])
    await _run_until(runner, lambda: len(acked) == 30)
    assert acked == list(range(30))
    assert [r.key for r in publisher.published if r.topic == "events"] == [str(i).encode() for i in range(30)]


def test_acknowledging_a_batch_of_records_keeps_faust_books_as_message_ack(tmp_path) -> None:
    """LaneConsumer.ack_many, on the client's records, keeps Faust's books of acknowledged offsets
    exactly as Message.ack does for the same records as Faust messages, record by record."""
    from aiokafka.structs import ConsumerRecord
    from faust.types import TP
    from faust.types.tuples import ConsumerMessage

    from router.app import build_app
    from router.settings import load_settings

    def consumer(app_id: str):
        app = build_app(load_settings(broker="kafka://127.0.0.1:1", store="memory", data_dir=tmp_path, app_id=app_id))
        app.topics._acking_topics.add("reports.submitted")  # as once the app runs
        for partition in (1, 2):
            app.consumer._committed_offset[TP("reports.submitted", partition)] = 3  # before 3: committed already
        return app.consumer

    where = [(1, offset) for offset in range(10)] + [(2, offset) for offset in (2, 5, 6)] + [(1, 4)]  # 4: twice
    one = consumer("one")
    for partition, offset in where:
        tp = TP("reports.submitted", partition)
        message = ConsumerMessage("reports.submitted", partition, offset, 0.0, 0, [], b"k", b"v", None, 1, 1, tp)
        message.refcount = 1
        one._unacked_messages.add(message)
        message.ack(one)
    many = consumer("many")
    many.ack_many([ConsumerRecord("reports.submitted", p, o, 0, 0, b"k", b"v", None, 1, 1, ()) for p, o in where])
    for partition, expected in ((1, [3, 4, 5, 6, 7, 8, 9]), (2, [5, 6])):
        tp = TP("reports.submitted", partition)
        assert one._acked[tp] == many._acked[tp] == expected
        assert one._acked_index[tp] == many._acked_index[tp]
    assert one._n_acked == many._n_acked == 9
    assert not many._unacked_messages  # lane records never enter Faust's set


async def test_faust_waits_for_the_lanes_before_a_rebalance_or_a_stop(tmp_path) -> None:
    """Lane records are not Faust messages: wait_empty waits until the lanes are empty and every
    batch taken is acknowledged."""
    from router.app import build_app
    from router.settings import load_settings

    app = build_app(load_settings(broker="kafka://127.0.0.1:1", store="memory", data_dir=tmp_path, app_id="w"))
    lane = Lane("t", ["in"])
    await lane.put_many([Msg("in", 0, 0, b"k", b"v")])
    acked: list[int] = []
    gate = asyncio.Event()

    class SlowPublisher(RecordingPublisher):
        async def publish(self, records: list[Record]) -> list[asyncio.Future[object]]:
            await gate.wait()
            return await super().publish(records)

    runner = LaneRunner(lane, _process, SlowPublisher(), lambda batch: acked.extend(m.offset for m in batch),
                        batch_max=10)
    app.router.runners = [runner]
    waiting = asyncio.ensure_future(app.consumer.wait_empty())
    await asyncio.sleep(0.2)
    assert not waiting.done() and app.router.lanes_busy()  # one record buffered
    running = asyncio.ensure_future(runner.run())
    await asyncio.sleep(0.2)
    assert not waiting.done() and len(lane) == 0 and not runner.idle  # taken, its output not yet stored
    gate.set()
    await asyncio.wait_for(waiting, 2)
    assert acked == [0] and not app.router.lanes_busy()
    running.cancel()
