"""Print what the router produces, one line per record: receipts, routed cases, breaches.

Run by the `watch` service of deploy/compose.yaml (the router image has aiokafka):
    python /demo/watch.py            (ROUTER_BROKER=kafka://kafka:9092)
It reads from the beginning, commits nothing and needs no consumer group.
"""

from __future__ import annotations

import asyncio
import json
import os

from aiokafka import AIOKafkaConsumer

BROKER = os.environ.get("ROUTER_BROKER", "kafka://127.0.0.1:9092").split("://", 1)[-1].rstrip("/")
FIXED = ("reports.receipts", "sla.breaches", "reports.deadletter")


def line(topic: str, value: bytes) -> str:
    try:
        v = json.loads(value)
    except ValueError:
        return f"{topic:22} (not JSON)"
    if topic == "reports.receipts":
        where = v.get("topic") or v.get("reason") or ""
        return f"{topic:22} {v.get('outcome', '?'):9} {v.get('report_id')!s:22} case={v.get('case_id')} {where}"
    if topic == "sla.breaches":
        return (f"{topic:22} BREACH    {v.get('platform')}/{v.get('stage')} case={v.get('case_id')} "
                f"overdue={v.get('overdue_s')}s priority={v.get('priority')}")
    if topic == "reports.deadletter":
        return f"{topic:22} {v.get('error', {}).get('kind', '?'):9} offset={v.get('offset')}"
    groups = ",".join(g.get("id", "?") for g in v.get("groups", [])) or "-"
    origins = ",".join(o.get("country", "?") for o in v.get("origins", [])) or "-"
    return (f"{topic:22} {v.get('priority', '?'):9} case={v.get('case_id')} reports={len(v.get('report_ids', []))} "
            f"groups={groups} origins={origins} action_due={v.get('action_due_at')}")


async def main() -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=BROKER.replace(";", ","), group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        while True:  # wait until the router (or `router topics create`) has made the topics
            topics = await consumer.topics()
            wanted = sorted(t for t in topics if t in FIXED or t.startswith("outbound."))
            if "reports.receipts" in wanted:
                break
            await asyncio.sleep(2)
        consumer.subscribe(wanted)
        print(f"watching {', '.join(wanted)}", flush=True)
        async for record in consumer:
            print(line(record.topic, record.value or b""), flush=True)
    finally:
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main())
