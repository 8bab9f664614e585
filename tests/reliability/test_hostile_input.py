"""Hostile input through the documented interface: every poison record goes to the dead-letter
topic with its exact bytes and a reason, gets a rejected receipt, and the next record is
processed; and no personal value of the input appears in any topic or in the worker's log."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.kafka import Reader, produce, topic_names

pytestmark = pytest.mark.reliability

GOOD = {"schema": "report.submitted/v1", "submitted_at": "2026-11-01T12:30:00+05:00", "source": "t"}


def _good(report_id: str, **fields) -> bytes:
    return json.dumps({**GOOD, "report_id": report_id, "url": f"https://t.me/{report_id}/1", **fields}).encode()


POISON: list[tuple[str, bytes]] = [
    ("non-utf8", b"\xff\xfe\xfd{\"schema\": 1}"),
    ("truncated", _good("trunc")[:-7]),
    ("deep", b'{"a":' * 20_000 + b"1" + b"}" * 20_000),
    ("too-big", _good("big", text="x" * 400_000)),
    ("text-over-limit", _good("text21k", text="x" * 20_001)),
    ("url-over-limit", json.dumps({**GOOD, "report_id": "u2049", "url": "https://x.com/" + "a" * 2040}).encode()),
    ("wrong-types", json.dumps({**GOOD, "report_id": 12345, "url": ["https://x.com/a"]}).encode()),
    ("unknown-version", _good("v9", schema="report.submitted/v9")),
    ("not-an-object", b'["report.submitted/v1"]'),
    ("empty", b""),
    ("nul-and-controls", b'{"schema":"report.submitted/v1","report_id":"c\x00\x1b[31m"}'),
    # passes the contract's URL shape, but the host cannot be parsed: enrichment raises on it
    ("crafted-url", json.dumps({**GOOD, "report_id": "crafted", "url": "https://[1:2:3]/x"}).encode()),
]
AT_LIMITS: list[tuple[str, bytes]] = [
    ("text-at-limit", _good("text20k", text="x" * 20_000)),
    ("url-at-limit", json.dumps({**GOOD, "report_id": "u2048", "url": "https://x.com/" + "a" * (2048 - 14)}).encode()),
    ("id-at-limit", _good("i" * 128)),
]


async def test_poison_is_dead_lettered_and_the_next_record_goes_on(broker, workers) -> None:
    worker = workers().start().wait_ready()
    records = []
    for name, raw in POISON:
        records.append((name.encode(), raw))
        records.append((f"after-{name}".encode(), _good(f"after-{name}")))
    records += [(name.encode(), raw) for name, raw in AT_LIMITS]
    sent = await produce(broker.bootstrap, "reports.submitted", records)
    async with Reader(broker.bootstrap, ["reports.receipts", "reports.deadletter"]) as reader:
        await reader.until(lambda s: len(s["reports.receipts"]) >= len(records), timeout=60, what="receipts")
        letters = {(d.json()["partition"], d.json()["offset"]): d for d in reader.all("reports.deadletter")}
        receipts = [r.json() for r in reader.all("reports.receipts")]
    assert len(receipts) == len(records), "exactly one receipt per record"
    for s, (name, raw) in zip(sent[0::2], POISON, strict=False):
        letter = letters[(s.partition, s.offset)].json()
        assert base64.b64decode(letter["value_b64"]) == raw, name
        assert letter["key"] == name and letter["error"]["detail"], name
        assert letter["error"]["kind"] in ("decode", "validation", "processing"), name
        for detail in letter["error"]["detail"]:
            assert "xxxxxxxx" not in detail and "\x1b" not in detail and "aaaaaaaa" not in detail, name
    outcomes = {r["report_id"]: r["outcome"] for r in receipts if r["report_id"]}
    for name, _ in POISON:
        assert outcomes[f"after-{name}"] == "routed", f"the record after {name} was processed"
    for rid in ("text20k", "u2048", "i" * 128):
        assert outcomes[rid] in ("routed", "review"), rid
    assert len(letters) == len(POISON)
    assert worker.process.poll() is None and worker.ready()


PERSONAL = {
    "phone": "+92 300 7654321",
    "ip": "39.32.123.45",
    "reporter_name": "Ayesha Reporter-Uniquename",
    "reporter_contact": "ayesha.unique@example.org",
    "reporter_id": "analyst-9f8e7d",
}


async def test_no_personal_value_in_any_topic_or_log(tmp_path, broker, workers) -> None:
    worker = workers().start().wait_ready()
    records = []
    for i in range(30):
        body = {**GOOD, "report_id": f"pii-{i}", "url": f"https://x.com/acct{i % 7}/status/{i}",
                "text": "TTP statement" if i % 2 else "news",
                "signals": {"phone": PERSONAL["phone"], "ip": PERSONAL["ip"], "country": "PK"},
                "reporter": {"id": PERSONAL["reporter_id"], "name": PERSONAL["reporter_name"],
                             "contact": PERSONAL["reporter_contact"]}}
        records.append((f"pii-{i}".encode(), json.dumps(body).encode()))
    # rejected input with personal data must not leak through the reason either
    records.append((b"pii-bad", json.dumps({**GOOD, "report_id": "pii-bad", "url": "ftp://x",
                                            "reporter": {"name": PERSONAL["reporter_name"]}}).encode()))
    sent_topics = {"reports.submitted"}
    await produce(broker.bootstrap, "reports.submitted", records)
    names = [t for t in await topic_names(broker.bootstrap) if t not in sent_topics]
    async with Reader(broker.bootstrap, names) as reader:
        await reader.until(lambda s: len(s["reports.receipts"]) >= len(records), timeout=60, what="receipts")
        routed = [r.json() for r in reader.all("outbound.x")]
        await reader.settle(3, at_most=8)  # the changelogs and a metrics snapshot too
        blobs = [(t, (r.key or b"") + (r.value or b"") + b"".join(v for _, v in r.headers))
                 for t in names for r in reader.all(t)]
    assert any(t == "outbound.x" for t, _ in blobs) and any(t.endswith("-changelog") for t, _ in blobs)
    deadletters = [t for t, _ in blobs if t == "reports.deadletter"]
    for label, value in PERSONAL.items():
        for topic, blob in blobs:
            if topic == "reports.deadletter":
                continue  # a dead letter keeps the rejected input's bytes (base64), by contract
            assert value.encode() not in blob, f"{label} found in {topic}"
        assert value not in worker.log_text(), f"{label} found in the worker's log"
    assert deadletters, "the rejected record is on the dead-letter topic"
    # what does leave the router: the derived country tags, with the kind of signal only
    assert routed and all(r["origins"] == [{"country": "PK", "signal": "declared"}, {"country": "PK", "signal": "ip"},
                                           {"country": "PK", "signal": "phone"}] for r in routed)
