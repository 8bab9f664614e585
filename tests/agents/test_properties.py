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
    # personal values never leave except as country tags
    signals = body.get("signals") or {}
    reporter = body.get("reporter") or {}
    secrets = [v for k, v in {**signals, **reporter}.items() if k != "country" and isinstance(v, str) and len(v) >= 6]
    for rec in out.first + out.then:
        if rec.topic == "reports.deadletter":
            continue
        for value in secrets:
            if value not in raw.decode(errors="ignore").replace(value, "", 1):  # not also elsewhere in the report
                assert value.encode() not in (rec.value or b""), rec.topic
