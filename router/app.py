"""The app factory: ``build_app(settings)`` makes a Faust app with the router's topics, tables,
lanes, timers and web pages. No module-level app: each caller (the CLI, each test) builds its own.

Faust does here what it is for: the consumer group and its rebalancing, offsets and commits, the
changelog-backed tables and their recovery and standbys, timers, and the web server. The records
themselves go through batch lanes (``router.lanes``), not through Faust's per-event streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections import deque
from typing import Any

import faust
import structlog
from aiokafka import AIOKafkaProducer
from faust.types import TP

from router.banned import BannedAccounts
from router.casework import CaseWork, Topics, WorkerCounters
from router.config import RouterConfig, load_config
from router.core.catchup import CatchUp
from router.core.deadlines import DeadlineIndex
from router.core.enrich import Enricher
from router.events import ce_headers, dumps
from router.intake import CaseLane, Intake
from router.kafka import client_kwargs, ssl_context
from router.lanes import Lane, LaneRunner, LaneTransport
from router.logs import RecordLog
from router.metrics import records as metric_records
from router.metrics import snapshot
from router.output import Outbox
from router.pool import SPEC_FIELDS, IntakePool, helper_count
from router.prepare import Preparer
from router.publisher import Publisher
from router.settings import Settings
from router.state import TableState, case_state, stats_state

log = structlog.get_logger("router.app")

#: The producer's batch limit: large records (a dead letter holds its input, base64) must fit.
MAX_BATCH_BYTES = 1_000_000


def _exit_after(seconds: float) -> threading.Timer:
    """Bound the graceful stop: if the process still runs ``seconds`` from now, it exits. What it
    had not published is read again by the next owner of its partitions (at-least-once)."""

    def force() -> None:
        log.error("shutdown.forced", after_s=seconds)
        os._exit(0)

    timer = threading.Timer(seconds, force)
    timer.daemon = True
    timer.start()
    return timer


class RouterApp(faust.App):
    """Faust app with the router's transport (batch lanes) and rebalance hooks."""

    router: Runtime
    router_lanes: dict[str, Lane]
    router_fix_end_offsets: bool
    router_client_kwargs: dict[str, Any]
    router_fetch_wait_ms: int
    router_fetch_max_bytes: int

    def _new_transport(self) -> Any:
        return LaneTransport(self.conf.broker_consumer, self)

    async def _on_partitions_revoked(self, revoked: set[Any]) -> None:
        await self.router.before_revoke(revoked)
        await super()._on_partitions_revoked(revoked)

    async def on_stop(self) -> None:
        _exit_after(self.router.settings.shutdown_timeout_s)
        await super().on_stop()

    def on_rebalance_start(self) -> None:
        super().on_rebalance_start()
        self.router.recovered = False

    def on_rebalance_end(self) -> None:
        super().on_rebalance_end()
        self.router.after_recovery()


class Runtime:
    """Everything the worker holds besides Faust's own objects, wired once per app."""

    def __init__(self, app: RouterApp, settings: Settings, config: RouterConfig,
                 records: RecordLog | None = None) -> None:
        self.app = app
        self.settings = settings
        self.config = config
        self.started_at = time.time()
        self.counters = WorkerCounters()
        self.index = DeadlineIndex()
        self.held: set[int] = set()
        self.recovered = False
        self.catch_up = CatchUp()
        self._waits_logged = 0.0
        self.broker_up = False
        self.producer_ready = asyncio.Event()
        self.publisher: Publisher | None = None
        self.runners: list[LaneRunner] = []
        self.pool: IntakePool | None = None
        # breaches raised by this worker per 10-second bucket, for the dashboard's chart (last hour)
        self.breach_series: deque[dict[str, float]] = deque(maxlen=360)
        s = settings
        n = s.partitions
        # bytes keys and values: the changelog holds our own JSON (see router.state)
        raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
        if s.store == "rocksdb":  # bounded memory per partition database (see the settings)
            raw["options"] = {"write_buffer_size": s.rocksdb_write_buffer_mb << 20, "max_write_buffer_number": 2,
                              # 10 bits a key: 1 % false positives (Faust's 3: 15 %), as most reads
                              # look for a case that does not exist yet
                              "bloom_filter_size": 10,
                              "block_cache_size": s.rocksdb_block_cache_mb << 20,
                              "block_cache_compressed_size": s.rocksdb_block_cache_mb << 20}
        self.cases_table = app.Table("cases", partitions=n, **raw)
        self.stats_table = app.Table("stats", partitions=n, **raw)
        # Accounts the platforms have actioned, known to every worker (a global table: each worker
        # reads every partition of its changelog) so that the next mirror is caught anywhere.
        self.banned_table = app.GlobalTable("banned", partitions=n, on_changelog_event=self._on_banned, **raw)
        self.banned = BannedAccounts(TableState(self.banned_table, dict, dict), n)
        self.banned.seed(config.watchlist)
        self.topics = Topics.from_settings(s)
        self.source = self.topics.source
        self.casework = CaseWork(
            cases=case_state(self.cases_table), stats=stats_state(self.stats_table), policy=config.policy,
            topics=self.topics, counters=self.counters, index=self.index, retention_s=s.case_retention_s,
            on_actioned_account=self.banned.record,
        )
        self.enricher = Enricher(config.registry, config.matcher, config.ip_table, self.banned.index)
        records = records or RecordLog(s.log_records)  # both lanes: each flushes its batch's lines
        self.preparer = Preparer(enricher=self.enricher, policy=config.policy, topics=self.topics, partitions=n,
                                 max_bytes=s.max_record_bytes, holds=self.held.__contains__, lines=records.batched)
        clock = time.time
        self.intake = Intake(
            preparer=self.preparer, casework=self.casework, counters=self.counters,
            receipts_topic=s.topic_receipts, deadletter_topic=s.topic_deadletter, cases_topic=s.topic_cases,
            holds=self.held.__contains__, source=self.source, clock=clock, records=records,
        )
        self.caselane = CaseLane(
            casework=self.casework, counters=self.counters, cases_topic=s.topic_cases,
            responses_topic=s.topic_responses, deadletter_topic=s.topic_deadletter, receipts_topic=s.topic_receipts,
            max_bytes=s.max_record_bytes, source=self.source, clock=clock, records=records,
        )
        self.intake_lane = Lane("intake", [s.topic_submitted], maxsize=4 * s.batch_max)
        self.case_lane = Lane("cases", [s.topic_cases, s.topic_responses], maxsize=4 * s.batch_max)
        app.router_lanes = {t: lane for lane in (self.intake_lane, self.case_lane) for t in lane.topics}
        for name in (s.topic_submitted, s.topic_cases, s.topic_responses):
            app.topics.add(app.topic(name, key_serializer="raw", value_serializer="raw"))

    async def _on_banned(self, event: Any) -> None:
        """A banned-account changelog record, from this or another worker (recovery and updates)."""
        self.banned.learn(event.key)

    # --- data reload ---------------------------------------------------------------------------
    async def reload(self) -> bool:
        """Re-read the watchlist and the SLA policy (``kill -HUP`` the worker): both are data, so
        they change without code or restart. A bad file is refused with a log line and the data
        in use stays; new deadlines apply to cases opened from then on."""
        from router.config import ConfigError, load_sla_policy, load_watchlist

        loop = asyncio.get_running_loop()
        try:
            watchlist, matcher = await loop.run_in_executor(None, load_watchlist, self.settings)
            policy = load_sla_policy(self.settings, self.config.registry)
        except ConfigError as exc:
            self.counters.reloads_failed += 1
            log.error("reload.refused", error=str(exc))
            return False
        self.enricher.matcher = matcher
        self.casework.policy = policy
        self.preparer.policy = policy
        if self.pool is not None:
            self.pool.reload()
        self.banned.seed(watchlist)
        self.counters.reloads += 1
        log.info("reload.done", groups=len(watchlist.groups), names=matcher.alias_count)
        return True

    # --- readiness ---------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.recovered and self.broker_up and self.producer_ready.is_set() and not self.app.rebalancing

    async def watch_broker(self, every: float = 2.0) -> None:
        """Ask the broker for metadata every ``every`` seconds: while it does not answer the worker
        is not ready (/ready 503, router_broker_up 0), and the logs say so once per change. The
        clients reconnect by themselves; publications are retried with backoff meanwhile."""
        assert self.publisher is not None
        client = self.publisher.producer.client
        down_since: float | None = None
        while True:
            await asyncio.sleep(every)
            try:
                await asyncio.wait_for(client.fetch_all_metadata(), timeout=max(every, 3.0))
                if down_since is not None:
                    log.info("broker.available", down_s=round(time.time() - down_since, 1))
                    down_since = None
                self.broker_up = True
            except Exception as exc:  # any failure to answer: timeout, connection refused, ...
                if down_since is None:
                    down_since = time.time()
                    log.warning("broker.unavailable", error=type(exc).__name__)
                self.broker_up = False

    # --- lifecycle ---------------------------------------------------------------------------
    async def start_io(self) -> None:
        """Start the producer and the lane runners (a task of the app)."""
        s = self.settings
        producer = AIOKafkaProducer(
            acks="all", linger_ms=s.linger_ms, max_batch_size=MAX_BATCH_BYTES, max_request_size=4 * MAX_BATCH_BYTES,
            enable_idempotence=False, request_timeout_ms=30000, client_id=f"{s.app_id}-{s.worker_id}",
            **client_kwargs(s),
        )
        while True:
            try:
                await producer.start()
                break
            except Exception as exc:  # broker not reachable yet: keep trying, say so
                log.warning("producer.unavailable", error=type(exc).__name__, retry_in_s=2)
                await asyncio.sleep(2)
        self.publisher = Publisher(producer, {s.topic_cases: s.partitions})
        self.broker_up = True
        self.producer_ready.set()
        consumer = self.app.consumer
        counters = self.counters

        def intake_done(n: int) -> None:
            counters.acknowledged_intake += n

        def cases_done(n: int) -> None:
            counters.acknowledged_cases += n

        catch_up = self.catch_up

        def cases_acked(records: list[Any]) -> None:
            consumer.ack_many(records)
            catch_up.acknowledged(records)

        helpers = helper_count(s.intake_processes)
        if helpers:
            spec = {**{name: getattr(s, name) for name in SPEC_FIELDS}, "record_lines": self.preparer.lines}
            self.pool = IntakePool(self.preparer, spec, helpers, known_accounts=self.banned.index.accounts,
                                   held=lambda: self.held)
            self.banned.on_new = self.pool.banned
            await self.pool.start()
            self.intake.pool = self.pool
        self.runners = [
            LaneRunner(self.intake_lane, self.intake.process, self.publisher, consumer.ack_many,
                       batch_max=s.batch_max, max_in_flight=s.batches_in_flight, on_batch=intake_done,
                       prepare=self.intake.prepare if self.pool else None, max_preparing=helpers + 1),
            LaneRunner(self.case_lane, self.caselane.process, self.publisher, cases_acked,
                       batch_max=s.batch_max, max_in_flight=s.batches_in_flight, on_batch=cases_done),
        ]
        log.info("worker.lanes_started", worker_id=s.worker_id)
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        try:
            await asyncio.gather(*(runner.run() for runner in self.runners), self.watch_broker())
        finally:
            if self.pool is not None:
                await self.pool.stop()
            await producer.stop()

    def lanes_busy(self) -> bool:
        """Records buffered in a lane, or a batch not yet acknowledged (stop and rebalance wait)."""
        return any(len(runner.lane) or not runner.idle for runner in self.runners)

    async def before_revoke(self, revoked: set[Any]) -> None:
        """Before Faust revokes partitions: stop doing case work for them, drop their buffered
        records (unacknowledged, so the new owner gets them again) and let batches in flight
        finish, so every change to a revoked partition is in its changelog first."""
        cases_topic = self.settings.topic_cases
        lost = {tp.partition for tp in revoked if tp.topic == cases_topic}
        self.held.difference_update(lost)
        for lane in (self.intake_lane, self.case_lane):
            lane.discard(set(revoked))
        for runner in self.runners:
            if not await runner.wait_idle(timeout=self.settings.session_timeout_s * 0.5):
                log.warning("rebalance.lane_busy", lane=runner.lane.name)
        self.casework.forget_partitions(lost)
        if self.pool is not None:
            self.pool.held(self.held)
        self.recovered = False

    def after_recovery(self) -> None:
        """After Faust has recovered the tables of the new assignment: hold the cases partitions
        assigned, and index their pending deadlines."""
        cases_topic = self.settings.topic_cases
        now_held = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == cases_topic}
        gone = self.held - now_held
        if gone:
            self.casework.forget_partitions(gone)
        new = now_held - self.held
        indexed = sum(self.casework.index_partition(p) for p in sorted(new))
        self.held.clear()
        self.held.update(now_held)
        if self.pool is not None:
            self.pool.held(self.held)
        self.catch_up.restart()  # no sweep before the answers waiting for these partitions are read
        self.recovered = True
        log.info("worker.recovered", partitions=sorted(now_held), deadlines_indexed=indexed)

    async def caught_up(self) -> bool:
        """Whether the cases lane has read what was waiting in its partitions when they were
        assigned (``router.core.catchup``): the end offsets are read at the first sweep after an
        assignment, then each sweep checks the progress until they are reached."""
        catch_up = self.catch_up
        if catch_up.done:
            return True
        consumer = self.app.consumer
        if not catch_up.known:
            generation = catch_up.generation
            tps = [tp for tp in consumer.assignment() if tp.topic in self.case_lane.topics]
            try:
                ends = await consumer.highwaters(*tps) if tps else {}
            except Exception as exc:  # the broker did not answer: the next tick asks again
                log.warning("sla.catch_up_unknown", error=type(exc).__name__)
                return False
            if not catch_up.set_targets(ends, generation):
                return False
            self._waits_logged = 0.0
        waiting = catch_up.waiting()
        if waiting and time.monotonic() - self._waits_logged >= 10.0:  # progress on a long backlog
            self._waits_logged = time.monotonic()
            log.info("sla.sweep_waits", partitions=[f"{t}:{p}" for t, p in waiting])
        lane_idle = not len(self.case_lane) and all(r.idle for r in self.runners if r.lane is self.case_lane)
        if waiting and lane_idle:
            for topic, partition in waiting:  # read up to the end, with nothing delivered left
                with contextlib.suppress(Exception):
                    position = await asyncio.wait_for(consumer.position(TP(topic, partition)), 1.0)
                    catch_up.passed((topic, partition), position)
        if catch_up.done:
            log.info("sla.sweep_caught_up")
        return catch_up.done

    # --- timers ------------------------------------------------------------------------------
    async def sweep(self) -> list[str]:
        if not self.ready or self.publisher is None or not await self.caught_up():
            return []
        out = Outbox()
        now = time.time()
        raised = self.casework.sweep(now, set(self.held), out)
        self.casework.flush_stats(out)
        if raised:
            self._chart(now, raised)
        if out:
            await self.publisher.publish_and_wait(out.first, what="breaches")
            await self.publisher.publish_and_wait(out.then, what="state")
        return raised


    def _chart(self, now: float, stages: list[str]) -> None:
        bucket = now - now % 10
        if not self.breach_series or self.breach_series[-1]["t"] != bucket:
            self.breach_series.append({"t": bucket, "ack": 0, "action": 0})
        point = self.breach_series[-1]
        for stage in stages:
            point[stage] += 1

    async def publish_metrics(self) -> None:
        """One ``router.metrics/v1`` record per platform, from the same snapshot as /metrics."""
        if not self.ready or self.publisher is None:
            return
        snap = snapshot(self)
        topic = self.settings.topic_metrics
        out = Outbox()
        for record in metric_records(snap):
            out.emit(topic, record["platform"].encode(), dumps(record),
                     ce_headers("router.metrics/v1", f"metrics:{snap.worker_id}:{record['platform']}:{snap.at:.3f}",
                                self.source, snap.at))
        await self.publisher.publish_and_wait(out.first, what="metrics")


def _credentials(settings: Settings) -> Any:
    if settings.security_protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if settings.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(username=settings.sasl_username, password=settings.sasl_secret(),
                                     mechanism=settings.sasl_mechanism, ssl_context=context)
    return faust.SSLCredentials(context)


def build_app(settings: Settings, config: RouterConfig | None = None, records: RecordLog | None = None) -> RouterApp:
    """Make the worker's Faust app. Raises ``router.config.ConfigError`` for unusable data files."""
    config = config or load_config(settings)
    store = "rocksdb://" if settings.store == "rocksdb" else "memory://"
    app = RouterApp(
        settings.app_id,
        broker=settings.broker,
        broker_credentials=_credentials(settings),
        store=store,
        datadir=str(settings.data_dir),
        env_prefix="ROUTER_FAUST_",
        autodiscover=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        # static group membership: a worker that restarts within the session timeout gets its
        # partitions back without a rebalance of the whole group (a StatefulSet's stable names)
        consumer_group_instance_id=settings.worker_id if settings.static_membership else None,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_commit_interval=1.0,
        producer_acks=-1,
        producer_linger_ms=settings.linger_ms,
        consumer_max_fetch_size=1024 * 1024,  # per partition; prefetched records are memory
        stream_wait_empty=True,
        web_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        table_standby_replicas=1,
    )
    app.router_fix_end_offsets = settings.fix_end_offsets == "on"
    app.router_fetch_wait_ms = settings.fetch_wait_ms
    app.router_fetch_max_bytes = settings.fetch_max_mb << 20
    app.router_client_kwargs = client_kwargs(settings)
    runtime = Runtime(app, settings, config, records)
    app.router = runtime

    @app.task
    async def lanes() -> None:
        await runtime.start_io()

    @app.timer(settings.sla_tick_s)
    async def sla_sweep() -> None:
        await runtime.sweep()

    @app.timer(settings.metrics_interval_s)
    async def publish_metrics() -> None:
        await runtime.publish_metrics()

    from router.web import install_pages

    install_pages(app, runtime)
    return app
