"""Logs: JSON lines, personal values as keyed hashes, control characters escaped, tracebacks
without local variables, one line per processed record."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import structlog

from router.logs import RecordLog, Redactor, configure_logging, escape_controls, keyed_hash


def test_personal_values_become_keyed_hashes() -> None:
    redact = Redactor(b"k1")
    event = redact(None, "info", {"event": "x", "phone": "+92 300 1234567", "reporter": {"name": "A", "id": 7},
                                  "nested": {"ip": "1.2.3.4", "other": "kept"}, "case_id": "x-1"})
    assert event["phone"] == keyed_hash(b"k1", "+92 300 1234567") and event["phone"].startswith("hmac:")
    assert event["reporter"].startswith("hmac:") and event["nested"]["ip"].startswith("hmac:")
    assert event["nested"]["other"] == "kept" and event["case_id"] == "x-1"
    # keyed: another key gives another hash, so a bare-hash dictionary attack does not work
    assert keyed_hash(b"k2", "+92 300 1234567") != event["phone"]


def test_control_characters_are_escaped() -> None:
    event = escape_controls(None, "info", {"event": "line\x1b[31mred\nnext\u202e", "n": 3})
    assert event["event"] == "line\\u001b[31mred\\u000anext\\u202e" and event["n"] == 3


@pytest.fixture(scope="module")
def sink(tmp_path_factory):
    """A log file that stays open for the rest of the session (loggers cache their sink)."""
    path: Path = tmp_path_factory.mktemp("logs") / "router.log"
    handle = path.open("w", encoding="utf-8")
    configure_logging("INFO", "json", "secret", stream=handle)

    def read_new() -> list[str]:
        handle.flush()
        text = path.read_text(encoding="utf-8")
        new = text[read_new.seen:]
        read_new.seen = len(text)
        return new.strip().splitlines()

    read_new.seen = 0
    return read_new


def test_json_lines_and_tracebacks_without_locals(sink) -> None:
    sink()
    log = structlog.get_logger("test")
    secret_local = "do-not-print-me"  # noqa: F841 - must not appear in the traceback
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", phone="+44 20 7946 0958")
    logging.getLogger("faust.test").warning("from the standard library %s", "ok")
    out = sink()
    records = [json.loads(line) for line in out]
    assert records[0]["event"] == "failed" and records[0]["phone"].startswith("hmac:")
    assert "do-not-print-me" not in out[0] and "+44 20 7946 0958" not in out[0]
    assert records[0]["exception"][0]["exc_type"] == "ValueError"
    assert records[1]["event"] == "from the standard library ok" and records[1]["logger"] == "faust.test"


def test_one_line_per_processed_record(sink) -> None:
    from tests.agents.fakes import Msg, report, rig

    sink()
    r = rig()
    r.intake.process([Msg("reports.submitted", 0, i, b"k", report(f"r{i}", url=f"https://t.me/c/{i}",
                                                                   reporter={"name": "Secret Person"}))
                      for i in range(5)] + [Msg("reports.submitted", 0, 9, None, b"{bad")])
    lines = [json.loads(line) for line in sink()]
    records = [line for line in lines if line["event"] == "record"]
    assert len(records) == 6
    assert [x["outcome"] for x in records] == ["routed"] * 5 + ["rejected"]
    assert all("Secret Person" not in json.dumps(x) for x in lines)


class CountingSink(io.BytesIO):
    writes = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes += 1
        return super().write(data)


def test_worker_record_lines_are_written_once_per_batch(sink) -> None:
    """The worker's JSON mode: the lines of a batch in one write, at its end, shaped like structlog's."""
    from tests.agents.fakes import Msg, report, rig

    sink()
    out = CountingSink()
    r = rig()
    r.intake.records = RecordLog(stream=out)
    r.intake.process([Msg("reports.submitted", 0, i, b"k", report(f"r{i}", url=f"https://t.me/c/{i}",
                                                                   reporter={"name": "Secret Person"}))
                      for i in range(5)] + [Msg("reports.submitted", 0, 9, None, b"{bad")])
    assert out.writes == 1
    lines = [json.loads(line) for line in out.getvalue().decode().splitlines()]
    assert [x["outcome"] for x in lines] == ["routed"] * 5 + ["rejected"]
    assert all(x["event"] == "record" and x["level"] == "info" and x["timestamp"].endswith("Z") for x in lines)
    assert [x["offset"] for x in lines] == [0, 1, 2, 3, 4, 9] and lines[0]["report_id"] == "r0"
    assert "Secret Person" not in out.getvalue().decode() and sink() == []  # nothing went through structlog
    r.intake.process([])
    assert out.writes == 1  # an empty batch writes nothing


def test_record_lines_escape_controls_and_hash_personal_keys(sink) -> None:
    sink()
    out = CountingSink()
    records = RecordLog(stream=out)
    records("record", outcome="rejected", reason="bad\x1b[31m\nline")
    records("record", outcome="odd", phone="+92 300 1234567")  # never done by the lanes; still safe
    records.flush()
    line = json.loads(out.getvalue())
    assert line["reason"] == "bad\\u001b[31m\\u000aline"
    hashed = [json.loads(x) for x in sink()]
    assert hashed[0]["phone"].startswith("hmac:") and "+92 300 1234567" not in out.getvalue().decode()


def test_record_lines_rendered_by_the_preparation_read_as_those_rendered_here(sink) -> None:
    """A new case's line is rendered where the report is prepared (a helper) and only placed by the
    worker: the same objects as the lines the worker renders itself, in the same order."""
    from tests.agents.fakes import Msg, report, rig

    def lines(rendered_there: bool) -> list[dict[str, object]]:
        out = CountingSink()
        r = rig()
        r.intake.records = RecordLog(stream=out)
        r.intake.preparer.lines = rendered_there
        batch = [Msg("reports.submitted", 1, i, b"k", report(f"r{i}", url=f"https://t.me/c/{i % 3}"))
                 for i in range(5)]
        batch += [Msg("reports.submitted", 1, 5, b"k", report("r0", url="https://t.me/c/0")),  # a replay
                  Msg("reports.submitted", 1, 6, b"k", report("u1", url="https://unknown.example/x")),
                  Msg("reports.submitted", 1, 7, None, b"{bad")]
        r.intake.process(batch)
        assert out.writes == 1
        found = [json.loads(line) for line in out.getvalue().decode().splitlines()]
        for line in found:
            assert line.pop("timestamp").endswith("Z")
        return found

    here, there = lines(False), lines(True)
    assert there == here
    assert [x["outcome"] for x in here] == ["routed"] * 3 + ["attached"] * 2 + ["routed", "review", "rejected"]


def test_a_rendered_record_line_escapes_controls_and_falls_back_to_structlog(sink) -> None:
    from router.logs import record_fragment

    sink()
    fragment = record_fragment(report_id="r\x1b[31m1", case_id="c1", outcome="routed")
    out = CountingSink()
    records = RecordLog(stream=out)
    records.add(fragment, 2, 40)
    records.flush()
    line = json.loads(out.getvalue())
    assert line["report_id"] == "r\\u001b[31m1" and (line["partition"], line["offset"]) == (2, 40)
    assert line["event"] == "record" and line["level"] == "info"
    plain = RecordLog()  # console mode: through structlog
    assert not plain.batched and records.batched
    plain.add(record_fragment(report_id="r2", case_id="c2", outcome="routed"), 0, 1)
    logged = [json.loads(x) for x in sink()]
    assert logged[-1]["report_id"] == "r2" and logged[-1]["offset"] == 1
