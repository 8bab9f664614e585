"""``router send FILE.jsonl``: publish reports to the input topic.

Each line is one of: a ``report.submitted/v1`` object; a labelled case in the format of the
corpus (``{"event": {...}}`` is published as JSON keyed by its report_id, ``{"raw": "..."}`` as
the exact string with no key). Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

from aiokafka import AIOKafkaProducer

from router.kafka import client_kwargs
from router.settings import Settings


def records_from_file(path: Path) -> Iterator[tuple[bytes | None, bytes]]:
    """(key, value) pairs for each line; raises ValueError naming the line on bad JSON."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(f"{path}:{number}: not a JSON object") from None
            if isinstance(data, dict) and "raw" in data and isinstance(data["raw"], str):
                yield None, data["raw"].encode()
                continue
            event = data.get("event", data) if isinstance(data, dict) else data
            key = event.get("report_id") if isinstance(event, dict) else None
            yield (key.encode() if isinstance(key, str) else None), json.dumps(event, ensure_ascii=False).encode()


async def send_file(settings: Settings, path: Path, topic: str | None = None, rate: float | None = None) -> int:
    topic = topic or settings.topic_submitted
    producer = AIOKafkaProducer(acks="all", linger_ms=5, **client_kwargs(settings))
    await producer.start()
    sent = 0
    started = time.monotonic()
    try:
        futures = []
        for key, value in records_from_file(path):
            futures.append(await producer.send(topic, value, key=key))
            sent += 1
            if rate:
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent
