"""``router worker``: validate everything, wait for the broker, create the topics, run Faust."""

from __future__ import annotations

import asyncio
import sys

import structlog
from aiohttp import web

from router import wire
from router.config import ConfigError, load_config
from router.helper import bound_malloc, settle_memory
from router.kafka import TopicLayoutError, broker_cluster_id, ensure_topics, wait_for_broker
from router.logs import configure_logging, record_log
from router.metrics import waiting_for_broker
from router.settings import Settings, SettingsError, load_settings

log = structlog.get_logger("router.worker")


async def _waiting_pages(settings: Settings, attempts: list[int]) -> web.AppRunner:
    """While the broker is awaited, the web port already answers: /health 200, /ready 503,
    /metrics with router_ready 0 and router_broker_up 0 (so an orchestrator and a dashboard see
    a live but not ready worker, and why)."""

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "worker_id": settings.worker_id, "phase": "waiting_for_broker"})

    async def ready(_: web.Request) -> web.Response:
        return web.json_response({"ready": False, "broker": False, "attempts": attempts[0]}, status=503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text=waiting_for_broker(attempts[0]), content_type="text/plain")

    app = web.Application()
    app.add_routes([web.get("/health", health), web.get("/ready", ready), web.get("/metrics", metrics)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.web_host, settings.web_port).start()
    return runner


async def preflight(settings: Settings, platforms: list[str]) -> Settings:
    """Wait for the broker, create the topics, and settle ``fix_end_offsets`` from what the
    broker is (the embedded broker reports wrong end offsets; Apache Kafka does not)."""
    attempts = [0]
    runner = await _waiting_pages(settings, attempts)
    try:
        await wait_for_broker(settings, on_attempt=lambda n: attempts.__setitem__(0, n))
    finally:
        await runner.cleanup()
    if settings.create_topics:
        created = [t for t, state in (await ensure_topics(settings, platforms)).items() if state == "created"]
        if created:
            log.info("topics.created", topics=sorted(created))
    if settings.fix_end_offsets == "auto":
        cluster = await broker_cluster_id(settings)
        embedded = "tansu" in (cluster or "").lower()
        settings = settings.model_copy(update={"fix_end_offsets": "on" if embedded else "off"})
        log.info("broker.detected", cluster_id=cluster, verify_end_offsets=embedded)
    return settings


def use_event_loop(kind: str) -> str:
    """Make ``kind`` the event loop of every loop created from now on in this process (the
    worker's and its consumer thread's); returns the one in use: ``asyncio`` when uvloop is asked
    for but not installed (a platform without its wheel)."""
    if kind != "uvloop":
        return "asyncio"
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it has wheels
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def run_worker() -> int:
    bound_malloc()
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"router: invalid settings: {exc}", file=sys.stderr)
        return 2
    event_loop = use_event_loop(settings.event_loop)
    produce_framing = "joined once" if wire.install() else "aiokafka's"  # (router.wire)
    logging_config = configure_logging(settings.log_level, settings.log_format,
                                       settings.log_hmac_key.get_secret_value() if settings.log_hmac_key else None)
    try:
        config = load_config(settings)
    except ConfigError as exc:
        print(f"router: {exc}", file=sys.stderr)
        log.error("config.invalid", error=str(exc))
        return 2
    try:
        settings = asyncio.run(preflight(settings, list(config.registry.ids)))
    except TopicLayoutError as exc:
        print(f"router: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    import faust

    from router.app import build_app

    app = build_app(settings, config, record_log(settings.log_records, settings.log_level, settings.log_format))
    log.info("worker.starting", worker_id=settings.worker_id, broker=settings.broker, partitions=settings.partitions,
             store=settings.store, web_port=settings.web_port, event_loop=event_loop, produce_framing=produce_framing)
    settle_memory()
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, logging_config=logging_config,
                          redirect_stdouts=False)
    worker.execute_from_commandline()
    return 0
