"""Property-based tests of the decode and enrichment path: whatever the bytes, only clean
rejections, never a crash; exactly one receipt per record; no personal value in any output."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.config import load_config
from router.decode import Rejection, decode_report
from router.settings import load_settings
from tests.agents.fakes import Msg, rig

CONFIG = load_config(load_settings())

text = st.text(max_size=300)
urls = st.one_of(
    st.builds(lambda host, path: f"https://{host}/{path}",
              st.sampled_from(["x.com", "t.me", "youtu.be", "www.facebook.com", "wa.me", "xn--fcebook-8va.com",
                               "facebook.com@evil.example", "[1:2:3]", "x.com:99", "blog.example.com", "fаcebook.com"]),
              st.text(max_size=60)),
    st.text(max_size=100),
)
reports = st.fixed_dictionaries(
    {"schema": st.sampled_from(["report.submitted/v1", "report.submitted/v2", "x"]),
     "report_id": st.one_of(st.from_regex(r"[A-Za-z0-9._:-]{1,20}", fullmatch=True), text),
     "submitted_at": st.sampled_from(["2026-11-01T12:30:00+05:00", "2026-11-01", "yesterday"]),
     "source": text},
    optional={"url": urls, "platform": st.one_of(st.sampled_from(["x", "telegram", "myspace"]), text),
              "account": text, "text": text, "language": text,
              "signals": st.fixed_dictionaries({}, optional={"phone": text, "ip": text, "country": text}),
              "reporter": st.fixed_dictionaries({}, optional={"name": text, "contact": text}),
              "severity": st.sampled_from(["critical", "high", "normal", "urgent"]),
              "legal_basis": st.lists(text, max_size=3)},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_decode_or_reject_cleanly(raw: bytes) -> None:
    try:
        decode_report(raw, 65536)
    except Rejection as rejection:
        assert rejection.kind in ("decode", "validation") and rejection.detail


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports)
def test_any_report_is_routed_or_rejected_with_one_receipt(body: dict) -> None:
    r = rig(matcher=CONFIG.matcher)
    raw = json.dumps(body).encode()
    out = r.intake.process([Msg("reports.submitted", 0, 0, b"k", raw)])
    receipts = [json.loads(rec.value) for rec in out.first if rec.topic == "reports.receipts"]
    assert len(receipts) == 1
    outcome = receipts[0]["outcome"]
    letters = [rec for rec in out.first if rec.topic == "reports.deadletter"]
    assert (outcome == "rejected") == bool(letters)
    assert r.counters.rejected_processing == 0, "enrichment must not raise on any input"
    # personal values never leave except as country tags: a value that comes out with the personal
    # fields and not without them (words such as "reason" are in every receipt) would be a leak
    signals = body.get("signals") or {}
    reporter = body.get("reporter") or {}
    secrets = [v for k, v in {**signals, **reporter}.items() if k != "country" and isinstance(v, str) and len(v) >= 6]
    if not secrets:
        return
    kept = {k: v for k, v in body.items() if k not in ("signals", "reporter")}
    baseline = rig(matcher=CONFIG.matcher).intake.process(
        [Msg("reports.submitted", 0, 0, b"k", json.dumps(kept).encode())])
    vocabulary = b"".join(rec.value or b"" for rec in baseline.first + baseline.then)
    for rec in out.first + out.then:
        if rec.topic == "reports.deadletter":
            continue
        for value in secrets:
            if value not in raw.decode(errors="ignore").replace(value, "", 1) and value.encode() not in vocabulary:
                assert value.encode() not in (rec.value or b""), rec.topic


valid_reports = st.fixed_dictionaries(
    {"schema": st.just("report.submitted/v1"),
     "report_id": st.from_regex(r"[A-Za-z0-9]{8,20}", fullmatch=True),
     "submitted_at": st.just("2026-11-01T12:30:00+05:00"),
     "source": st.just("test"),
     "url": st.sampled_from(["https://t.me/chan/1", "https://x.com/acct/status/12", "https://wa.me/923001234567",
                             "https://blog.example.com/p", "https://www.youtube.com/watch?v=abc"]),
     "text": st.sampled_from(["TTP statement", "BLA video", "", "nothing here"]),
     "signals": st.fixed_dictionaries({"phone": st.from_regex(r"\+[1-9][0-9]{7,13}", fullmatch=True),
                                       "ip": st.ip_addresses().map(str)}),
     "reporter": st.fixed_dictionaries({"name": st.text(min_size=8, max_size=40),
                                        "contact": st.emails()})},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_reports)
def test_personal_values_of_valid_reports_never_come_out(body: dict) -> None:
    """Valid reports (so they are routed, not dead-lettered) with arbitrary personal values."""
    out = rig(matcher=CONFIG.matcher).intake.process([Msg("reports.submitted", 0, 0, b"k", json.dumps(body).encode())])
    assert [json.loads(r.value)["outcome"] for r in out.first if r.topic == "reports.receipts"] != ["rejected"]
    kept = {k: v for k, v in body.items() if k not in ("signals", "reporter")}
    baseline = rig(matcher=CONFIG.matcher).intake.process(
        [Msg("reports.submitted", 0, 0, b"k", json.dumps(kept).encode())])
    vocabulary = b"".join(rec.value or b"" for rec in baseline.first + baseline.then)
    produced = b"".join(rec.value or b"" for rec in out.first + out.then)
    for value in [*body["signals"].values(), *body["reporter"].values()]:
        for form in {value, json.dumps(value)[1:-1]}:  # as it is and as JSON escapes it
            if form.encode() not in vocabulary:
                assert form.encode() not in produced, "a personal value in an output record"
