"""Kafka plumbing shared by the worker and the CLI: client options from the settings (TLS, SASL,
mTLS), idempotent topic creation with the right partition counts, and waiting for the broker."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from router.settings import Settings

log = structlog.get_logger("router.kafka")


class TopicLayoutError(RuntimeError):
    """Existing topics do not have the partition counts the router needs."""


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A client TLS context (server verification against ROUTER_SSL_CAFILE, client certificate for
    mTLS when ROUTER_SSL_CERTFILE/KEYFILE are given), or None for plaintext."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None)
    context.check_hostname = settings.ssl_check_hostname
    if settings.ssl_certfile is not None:
        password = settings.ssl_key_password.get_secret_value() if settings.ssl_key_password else None
        context.load_cert_chain(str(settings.ssl_certfile), str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
                                password=password)
    return context


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for aiokafka clients (producer, consumer, admin)."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    if settings.security_protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        kwargs["sasl_plain_username"] = settings.sasl_username
        kwargs["sasl_plain_password"] = settings.sasl_secret()
    return kwargs


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    #: co-partitioned topics must have exactly ``partitions``; others may have any count
    strict: bool
    config: Mapping[str, str]


def topic_specs(settings: Settings, platforms: Iterable[str]) -> list[TopicSpec]:
    """Every topic the router reads or writes. ``platform.responses`` and the internal cases topic
    are co-partitioned with the cases table, so their partition count must equal ROUTER_PARTITIONS."""
    n = settings.partitions
    plain: dict[str, str] = {}
    names = [settings.topic_submitted, settings.topic_receipts, settings.topic_deadletter, settings.topic_review,
             settings.topic_breaches, settings.topic_metrics]
    names += [settings.outbound_topic(p) for p in platforms]
    specs = [TopicSpec(name, n, False, plain) for name in names]
    specs.append(TopicSpec(settings.topic_responses, n, True, plain))
    specs.append(TopicSpec(settings.topic_cases, n, True, plain))
    return specs


def admin_client(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(request_timeout_ms=15000, **client_kwargs(settings))


async def partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partition counts of the existing topics among ``names``.

    Asks for all topics' metadata: a metadata request naming a missing topic would create it
    with the broker's default partition count wherever auto-creation is on (Kafka's default)."""
    wanted = set(names)
    counts = {}
    for topic in await admin.describe_topics(None):
        if topic["topic"] in wanted and topic.get("error_code", 0) == 0 and topic.get("partitions"):
            counts[topic["topic"]] = len(topic["partitions"])
    return counts


async def ensure_topics(settings: Settings, platforms: Iterable[str]) -> dict[str, str]:
    """Create missing topics; check the co-partitioned ones. Idempotent.

    Returns ``{topic: "created" | "exists"}``. Raises TopicLayoutError when an existing
    co-partitioned topic has the wrong partition count (Kafka cannot shrink a topic, and growing
    one moves keys between partitions: fix it by hand, see README).
    """
    specs = topic_specs(settings, platforms)
    admin = admin_client(settings)
    await admin.start()
    try:
        existing = await partition_counts(admin, [s.name for s in specs])
        result: dict[str, str] = {}
        missing = [s for s in specs if s.name not in existing]
        for spec in specs:
            if spec.name in existing:
                result[spec.name] = "exists"
                if spec.strict and existing[spec.name] != spec.partitions:
                    raise TopicLayoutError(
                        f"topic {spec.name!r} has {existing[spec.name]} partitions but must have "
                        f"ROUTER_PARTITIONS={spec.partitions} (it is co-partitioned with the cases table)")
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker created it meanwhile
                await admin.create_topics(
                    [NewTopic(s.name, s.partitions, settings.replication, topic_configs=dict(s.config))
                     for s in missing])
            for spec in missing:
                result[spec.name] = "created"
        return result
    finally:
        await admin.close()


async def wait_for_broker(settings: Settings, *, attempts: int | None = None, max_backoff: float = 10.0,
                          on_attempt: Callable[[int], None] | None = None) -> None:
    """Wait until the broker answers metadata requests, retrying with exponential backoff and
    saying so in the logs. ``attempts=None`` waits for ever."""
    delay = 0.5
    attempt = 0
    while True:
        attempt += 1
        if on_attempt is not None:
            on_attempt(attempt)
        admin = admin_client(settings)
        try:
            await admin.start()
            await admin.list_topics()
            if attempt > 1:
                log.info("broker.available", attempt=attempt)
            return
        except (KafkaError, OSError) as exc:
            if attempts is not None and attempt >= attempts:
                raise
            log.warning("broker.unavailable", attempt=attempt, retry_in_s=round(delay, 1), error=type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff)
        finally:
            await admin.close()


async def broker_cluster_id(settings: Settings) -> str | None:
    admin = admin_client(settings)
    await admin.start()
    try:
        described = await admin.describe_cluster()
        return described.get("cluster_id") if isinstance(described, dict) else None
    except KafkaError:
        return None
    finally:
        await admin.close()
