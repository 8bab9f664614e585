"""Batch lanes: Faust keeps the consumer group, offsets and commits; the router takes the records
of its busy topics in batches instead of one ``Event`` at a time.

Why: a plain Faust agent spends most of its time in per-event machinery (an Event object, a
task in ``wait_first`` and a stream step per record) and moves about 3,000 records/s here, where
the same work in batches runs at the speed of the raw client. ``LaneConsumer`` replaces only
Faust's drain loop: records of lane topics are appended to their ``Lane`` in bulk, as the client
fetched them (no Faust ``Message`` each); Faust's rebalance and shutdown wait for the lanes to be
empty (``wait_empty``) as they wait for unacknowledged messages. Records of every other topic
(table changelogs during recovery, Faust's own topics) still go to Faust's conductor unchanged.

Delivery: a lane's runner acknowledges a record only after everything it produced is stored by
the broker (``Outbox`` phases), in order, so a commit never passes an unfinished record
(at-least-once). Offsets are committed by Faust's commit timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

log = structlog.get_logger("router.lanes")


class Lane:
    """A bounded buffer of raw messages of some topics, drained in batches by one runner."""

    def __init__(self, name: str, topics: Iterable[str], maxsize: int = 20_000) -> None:
        self.name = name
        self.topics = frozenset(topics)
        self.maxsize = maxsize
        self._buf: list[Any] = []
        self._ready = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()

    def __len__(self) -> int:
        return len(self._buf)

    async def put_many(self, messages: Sequence[Any]) -> None:
        """Called by the consumer's drain loop; blocks (and so stops fetching) while full."""
        while len(self._buf) >= self.maxsize:
            self._space.clear()
            await self._space.wait()
        self._buf.extend(messages)
        self._ready.set()

    async def take(self, limit: int) -> list[Any]:
        """The next batch: everything buffered up to ``limit``; waits while empty."""
        while not self._buf:
            self._ready.clear()
            await self._ready.wait()
        batch = self._buf[:limit]
        del self._buf[:limit]
        if len(self._buf) < self.maxsize:
            self._space.set()
        return batch

    def discard(self, partitions: set[TP]) -> list[Any]:
        """Remove buffered messages of revoked partitions (they will be redelivered)."""
        kept, dropped = [], []
        for message in self._buf:  # a TP is a (topic, partition) tuple
            (dropped if (message.topic, message.partition) in partitions else kept).append(message)
        self._buf = kept
        self._space.set()
        return dropped


class LaneConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, with the fetch wait and size of the router's settings.

    Faust hard-codes ``fetch_max_wait_ms=1500``: a fetch that finds no new record waits that long
    on the broker, and the embedded broker waits out the whole time even when records arrive
    meanwhile, so records were picked up in bursts seconds apart. Faust leaves ``fetch_max_bytes``
    at aiokafka's 50 MB, a loose bound on fetched records not yet processed when a worker holds
    many partitions or the broker ignores the per-partition limit (the embedded one does)."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.app.router_fetch_wait_ms  # type: ignore[attr-defined]
        consumer._fetch_max_bytes = self.app.router_fetch_max_bytes  # type: ignore[attr-defined]
        return consumer


class LaneConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with a batch drain loop for lane topics (see module docstring)
    and, where the broker reports wrong end offsets, verified highwaters for table recovery."""

    def _new_consumer_thread(self) -> LaneConsumerThread:
        return LaneConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _fetch(self, timeout: float) -> list[tuple[TP, list[Any]]]:
        """Faust's ``Consumer.getmany`` (0.15), with its per-record work done once per partition: the
        fetched records as messages, grouped by partition, in offset order. The same checks: none
        while the flow is stopped (a rebalance: seek back to the committed offsets instead), none
        of a partition no longer active, none after the consumer generation changed."""
        records, active_partitions = await self._wait_next_records(timeout)
        generation_id = self.app.consumer_generation_id
        if records is None or self.should_stop:
            return []
        if not self.flow_active:
            try:
                await self.perform_seek()
            except Exception as exc:  # as Faust: logged, the next fetch tries again
                self.log.warning(f"exception performing seek when flow not active {exc}")
            return []
        to_message = self._to_message
        buffered = self._buffered_partitions
        track = self.app.monitor.track_tp_end_offset
        lanes = self.app.router_lanes  # type: ignore[attr-defined]
        out: list[tuple[TP, list[Any]]] = []
        for tp, tp_records in records.items():
            if not self.flow_active or self.app.consumer_generation_id != generation_id:
                break
            if active_partitions is None or tp in active_partitions or tp in buffered:
                track(tp, self.highwater(tp))
                if tp.topic in lanes:  # the client's records as they are (see ack_many)
                    out.append((tp, tp_records))
                else:
                    out.append((tp, [to_message(tp, record) for record in tp_records]))
        return out

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - exercised end to end
        lanes: dict[str, Lane] = self.app.router_lanes  # type: ignore[attr-defined]
        callback = self.callback
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                for tp, messages in await self._fetch(timeout=1.0):
                    lane = lanes.get(tp.topic)
                    r_offset = read_offset[tp]
                    taken: list[Any] = []
                    for message in messages:
                        offset = message.offset
                        if r_offset is not None:
                            if offset < r_offset:
                                continue  # already seen (a seek back after rebalance)
                            if offset - r_offset > 1 and acks_enabled_for(message.topic):
                                # records skipped by the broker (compaction, control records): let
                                # the commit advance over the gap
                                await self._add_gap(tp, r_offset + 1, offset)
                        if lane is None:  # Faust's own topics: its conductor, record by record
                            await self.wait_first(callback(message), self.suspend_flow.wait())
                        else:
                            taken.append(message)
                        read_offset[tp] = r_offset = offset
                    if taken:
                        await lane.put_many(taken)  # type: ignore[union-attr]
                await asyncio.sleep(0)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise

    def ack_many(self, records: Iterable[Any]) -> None:
        """Mark lane records done, for the commit: Faust's books of acknowledged offsets (``_acked``,
        ``_acked_index``, ``_n_acked``), kept as ``Consumer.ack`` keeps them (Faust 0.15), once per
        batch. Lane records are the client's own records, not Faust ``Message``s: a Message per
        record, its reference count and its place in the set of unacknowledged messages cost more
        than the rest of the consumer's work on it. Each lane record is acknowledged once, by its
        lane's runner, after everything it produced is stored; ``wait_empty`` waits for the lanes."""
        acks_enabled_for = self.app.topics.acks_enabled_for
        committed_offset = self._committed_offset
        acked_index = self._acked_index
        acked = self._acked
        n = 0
        where: tuple[str, int] | None = None
        enabled = False
        committed: int | None = None
        index: set[int] = set()
        offsets: list[int] = []
        with ack_lock:
            for record in records:
                if (record.topic, record.partition) != where:
                    where = (record.topic, record.partition)
                    tp = TP(*where)
                    enabled = acks_enabled_for(record.topic)
                    committed, index, offsets = committed_offset[tp], acked_index[tp], acked[tp]
                if not enabled:
                    continue
                offset = record.offset
                if (committed is None or offset >= committed) and offset not in index:
                    index.add(offset)
                    offsets.append(offset)
                    n += 1
            self._n_acked += n
            notify(self._waiting_for_ack)

    async def wait_empty(self) -> None:
        """Faust waits for its unacknowledged messages before a rebalance and at a stop; lane records
        are not among them, so first wait for the lanes to be empty and their runners idle."""
        runtime = getattr(self.app, "router", None)
        while not self.should_stop and runtime is not None and runtime.lanes_busy():
            await asyncio.sleep(0.05)
        await super().wait_empty()

    async def highwaters(self, *partitions: TP) -> Any:
        highwaters = dict(await super().highwaters(*partitions))
        if getattr(self.app, "router_fix_end_offsets", False):
            highwaters = await verified_end_offsets(self.app.router_client_kwargs, highwaters)  # type: ignore[attr-defined]
        return highwaters


async def verified_end_offsets(client_kwargs: dict[str, Any], reported: dict[TP, int | None]) -> dict[TP, int | None]:
    """End offsets read from the records themselves, never lower than reported.

    The embedded broker answers ListOffsets("latest") with the first offset of the last batch + 1,
    so Faust's recovery stopped short of the last records of every multi-record batch. Reading
    from the reported end to the true end costs one fetch per changelog partition at recovery,
    nothing while processing; on Apache Kafka it confirms the reported offsets.
    """
    todo = {tp: hw for tp, hw in reported.items() if hw}
    if not todo:
        return dict(reported)
    consumer = AIOKafkaConsumer(enable_auto_commit=False, group_id=None, **client_kwargs)
    await consumer.start()
    result = dict(reported)
    try:
        tps = [TopicPartition(tp.topic, tp.partition) for tp in todo]
        consumer.assign(tps)
        for tp, hw in todo.items():
            consumer.seek(TopicPartition(tp.topic, tp.partition), max(hw - 1, 0))
        remaining = set(tps)
        while remaining:
            records = await consumer.getmany(*remaining, timeout_ms=500)
            if not records:
                break
            for ktp, messages in records.items():
                if messages:
                    tp = TP(ktp.topic, ktp.partition)
                    result[tp] = max(result[tp] or 0, messages[-1].offset + 1)
                else:
                    remaining.discard(ktp)
        for tp in todo:
            if result[tp] != reported[tp]:
                log.info("recovery.end_offset_corrected", topic=tp.topic, partition=tp.partition,
                         reported=reported[tp], actual=result[tp])
    finally:
        await consumer.stop()
    return result


class LaneTransport(faust_aiokafka.Transport):
    Consumer = LaneConsumer


Handler = Callable[..., Any]  # (batch) or (batch, prepared) -> an Outbox
Preparation = Callable[[list[Any]], Awaitable[Any]]


class LaneRunner:
    """Runs one lane: take a batch, hand it to the processor (synchronous: decode, decide,
    fill an Outbox), publish the outbox's first phase, and pass it on to the acknowledger, which
    publishes the second phase once the first is stored and then acknowledges the records.

    With ``prepare`` (the stateless half of the work, done elsewhere: ``router.pool``), batches
    are taken and handed to it as they come, up to ``max_preparing`` at a time, and processed in
    the order they were taken as their preparation completes: the processor gets
    ``(batch, prepared)``. Several batches can be in flight; acknowledgements stay in order.
    """

    def __init__(self, lane: Lane, process: Handler, publisher: Any, ack: Callable[[list[Any]], None],
                 batch_max: int, max_in_flight: int = 8,
                 on_batch: Callable[[int], None] | None = None, prepare: Preparation | None = None,
                 max_preparing: int = 2) -> None:
        self.lane = lane
        self._process = process
        self._publisher = publisher
        self._ack = ack
        self._batch_max = batch_max
        self._queue: asyncio.Queue[tuple[list[Any], Any, list[Any]]] = asyncio.Queue(max_in_flight)
        self._prepare = prepare
        self._preparing: asyncio.Queue[tuple[list[Any], asyncio.Future[Any]]] = asyncio.Queue(max_preparing)
        self._idle = asyncio.Event()
        self._idle.set()
        self._in_flight = 0
        self._on_batch = on_batch

    async def run(self) -> None:
        loops = [self._take_loop(), self._ack_loop()]
        if self._prepare is not None:
            loops.append(self._prepared_loop())
        await asyncio.gather(*loops)

    async def _take_loop(self) -> None:
        prepare = self._prepare
        while True:
            batch = await self.lane.take(self._batch_max)
            self._in_flight += 1
            self._idle.clear()
            if prepare is None:
                await self._publish(batch, self._process(batch))
            else:
                await self._preparing.put((batch, asyncio.ensure_future(prepare(batch))))

    async def _prepared_loop(self) -> None:
        while True:
            batch, preparation = await self._preparing.get()
            await self._publish(batch, self._process(batch, await preparation))

    async def _publish(self, batch: list[Any], outbox: Any) -> None:
        futures = await self._publisher.publish(outbox.first) if outbox.first else []
        await self._queue.put((batch, outbox, futures))

    async def _ack_loop(self) -> None:
        while True:
            entries = [await self._queue.get()]
            while not self._queue.empty():
                entries.append(self._queue.get_nowait())
            for _, outbox, futures in entries:
                await self._settle(futures, outbox.first, "events")
            then = [r for _, outbox, _ in entries for r in outbox.then]
            if then:
                await self._publisher.publish_and_wait(then, what="state")
            for batch, _, _ in entries:
                self._ack(batch)
                if self._on_batch is not None:
                    self._on_batch(len(batch))
            self._in_flight -= len(entries)
            if self._in_flight == 0:
                self._idle.set()

    async def _settle(self, futures: list[Any], records: list[Any], what: str) -> None:
        try:
            await asyncio.gather(*futures)
        except Exception as exc:  # the broker refused or timed out: send again until stored
            log.warning("publish.retry", what=what, error=type(exc).__name__, records=len(records))
            await self._publisher.publish_and_wait(records, what=what)

    @property
    def idle(self) -> bool:
        """No batch taken and not yet acknowledged."""
        return self._idle.is_set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until every taken batch is acknowledged (used before partitions are revoked)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False


async def run_forever(coro_factory: Callable[[], Awaitable[None]], name: str) -> None:
    """Run a lane loop; an unexpected error is logged and crashes the worker (it must not die
    silently while the consumer keeps fetching)."""
    try:
        await coro_factory()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("lane.crashed", lane=name)
        raise
