"""A stand-in platform connector for the Docker Compose demo.

It reads every platform queue (outbound.<platform>, not outbound.review) as consumer group
`demo-connector` and answers on platform.responses like a platform would: `received` for every
case after a few seconds, then `removed` for two cases in three. The third case is never
actioned, so its action deadline passes and the router raises an SLA breach (sla.breaches).

    python /demo/connector.py        (ROUTER_BROKER=kafka://kafka:9092)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

BROKER = os.environ.get("ROUTER_BROKER", "kafka://127.0.0.1:9092").split("://", 1)[-1].rstrip("/")
RESPONSES = os.environ.get("ROUTER_TOPIC_RESPONSES", "platform.responses")
ACK_AFTER_S = float(os.environ.get("DEMO_ACK_AFTER_S", "5"))
ACT_AFTER_S = float(os.environ.get("DEMO_ACT_AFTER_S", "15"))


def now() -> str:
    return datetime.now(UTC).isoformat()


async def answer(producer: AIOKafkaProducer, case: dict) -> None:
    case_id, platform = case["case_id"], case["platform"]

    async def send(status: str) -> None:
        value = {"schema": "platform.response/v1", "case_id": case_id, "platform": platform, "status": status,
                 "at": now(), "reference": f"DEMO-{case_id[-8:]}"}
        await producer.send_and_wait(RESPONSES, json.dumps(value).encode(), key=case_id.encode())
        print(f"{platform:10} {status:9} case={case_id}", flush=True)

    await asyncio.sleep(ACK_AFTER_S)
    await send("received")
    if int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % 3:  # two cases in three
        await asyncio.sleep(ACT_AFTER_S)
        await send("removed")


async def main() -> None:
    servers = BROKER.replace(";", ",")
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id="demo-connector", auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
    await consumer.start()
    await producer.start()
    consumer.subscribe(pattern=re.compile(r"^outbound\.(?!review$).+"))
    answered: set[str] = set()
    tasks: set[asyncio.Task] = set()
    try:
        async for record in consumer:
            try:
                case = json.loads(record.value or b"")
            except ValueError:
                continue
            if not isinstance(case, dict) or case.get("case_id") in answered or not case.get("platform"):
                continue  # a case is re-published when a report is attached: answer once
            answered.add(case["case_id"])
            task = asyncio.create_task(answer(producer, case))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main())
