"""``router report``: the compliance scorecard from the metrics topic.

Per platform and per group: cases routed, the share acknowledged and the share actioned within
their deadlines, the median time to action, the breaches, the cases still open. It reads
``metrics.router`` from the beginning to its end, and combines the latest snapshot of every worker
(``router.core.scorecard``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from router.core.scorecard import Row, Scorecard, scorecard
from router.kafka import client_kwargs
from router.settings import Settings, SettingsError, load_settings


async def read_metrics(settings: Settings, timeout_s: float) -> list[dict[str, Any]]:
    """Every ``router.metrics/v1`` record on the topic, up to its end when the command started.

    Reads until each partition's position reaches the end offset taken at the start: a fetch
    returns whole record batches, so this holds even where a broker reports the end as the start
    of its last batch (the embedded one)."""
    consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **client_kwargs(settings))
    await consumer.start()
    records: list[dict[str, Any]] = []
    try:
        partitions = consumer.partitions_for_topic(settings.topic_metrics) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(settings.topic_metrics) or set()
        tps = [TopicPartition(settings.topic_metrics, p) for p in sorted(partitions)]
        if not tps:
            return records
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                break
            batch = await consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                for message in messages:
                    try:
                        value = json.loads(message.value)
                    except (TypeError, ValueError):
                        continue
                    if isinstance(value, dict) and value.get("schema") == "router.metrics/v1":
                        records.append(value)
    finally:
        await consumer.stop()
    return records


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:5.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def _table(title: str, rows: list[Row]) -> list[str]:
    head = (f"{title:14} {'cases':>7} {'ack in time':>12} {'acted in time':>14} {'median to act':>14} "
            f"{'ack breaches':>13} {'action breaches':>16} {'open':>6}")
    lines = [head, "-" * len(head)]
    for row in rows:
        c = row.counts
        lines.append(f"{row.name:14} {c['routed']:7} {_pct(row.share('acknowledged_in_time')):>12} "
                     f"{_pct(row.share('actioned_in_time')):>14} {_duration(row.time_to_action.percentile(0.5)):>14} "
                     f"{c['breached_ack']:13} {c['breached_action']:16} {c['open_cases']:6}")
    return lines


def render(card: Scorecard) -> str:
    names = {"unknown": "review"}
    platform_rows = [card.platforms[p] for p in sorted(card.platforms) if card.platforms[p].counts["routed"]]
    for row in platform_rows:
        row.name = names.get(row.name, row.name)
    out = [f"Compliance scorecard as of {card.as_of or '—'} (workers: {', '.join(card.workers) or '—'}; "
           f"partitions {card.partitions})", ""]
    out += _table("platform", [*platform_rows, card.total])
    out.append("")
    out += _table("group", [card.groups[g] for g in sorted(card.groups) if card.groups[g].counts["routed"]])
    return "\n".join(out)


def run_report(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"router: {exc}", file=sys.stderr)
        return 2
    records = asyncio.run(read_metrics(settings, args.timeout_s))
    if not records:
        print(f"router: no router.metrics/v1 record on {settings.topic_metrics} within {args.timeout_s:.0f}s",
              file=sys.stderr)
        return 1
    card = scorecard(records)
    if args.json:
        print(json.dumps({
            "as_of": card.as_of, "workers": card.workers, "partitions": card.partitions,
            "platforms": {name: row.as_dict() for name, row in sorted(card.platforms.items())},
            "groups": {name: row.as_dict() for name, row in sorted(card.groups.items())},
            "total": card.total.as_dict(),
        }, indent=2))
    else:
        print(render(card))
    return 0


def add_parser(sub: Any) -> None:
    report = sub.add_parser("report", help="compliance scorecard per platform and group, from the metrics topic")
    report.add_argument("--json", action="store_true", help="machine-readable output")
    report.add_argument("--timeout-s", type=float, default=30.0, help="give up after this long")
    report.set_defaults(func=run_report)
