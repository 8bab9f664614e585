"""The operators' page, ``/dashboard``, in a real headless browser (Debian's chromium over the
DevTools protocol): what it shows equals ``/metrics``, it updates itself without a reload, it
says when the worker cannot be reached and recovers, and a screenshot of it is a real picture.

The worker runs with an SLA policy of seconds so that, within a few seconds, at least two
platforms have cases routed, acknowledged, actioned and still open, and breaches of both stages.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import Browser, CDPError, find_chromium, png_colours, png_info
from tests.support.kafka import Reader, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # may install chromium first

REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1400, 1000
ACK_S, ACTION_S = 3, 6
POLICY = "\n".join(["priorities:", *(f"  {p}: {{ack: {ACK_S}s, action: {ACTION_S}s}}"
                                      for p in ("critical", "high", "normal"))]) + "\n"
#: the rows the page shows, in order ("unknown" is the review queue), then the total
KNOWN = ["x", "facebook", "instagram", "whatsapp", "youtube", "tiktok", "telegram", "unknown"]
COUNT_FIELDS = ("open_cases", "routed", "breaches_ack", "breaches_action")
RATE_FIELDS = ("ack_rate", "action_rate", "ack_in_time_rate", "action_in_time_rate")
TIME_FIELDS = {"time_to_action_p50": "0.5", "time_to_action_p90": "0.9"}

URLS = {
    "x": "https://x.com/dash_acct_{n}/status/17000000000000000{n:02d}",
    "facebook": "https://www.facebook.com/dashpage{n}/posts/{n}0001",
    "youtube": "https://www.youtube.com/watch?v=dashVideo{n:02d}",
    "telegram": "https://t.me/dash_channel_{n}/{n}01",
    "unknown": "https://forum.example.org/thread/{n}",
}


# --- Prometheus text ----------------------------------------------------------------------------

class Metrics:
    def __init__(self, text: str) -> None:
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)", line)
            assert m, f"unparseable metrics line {line!r}"
            labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m[2] or "")))
            self.values[(m[1], labels)] = float(m[3])

    def get(self, name: str, **labels: str) -> float | None:
        return self.values.get((name, tuple(sorted(labels.items()))))

    def v(self, name: str, **labels: str) -> float:
        value = self.get(name, **labels)
        assert value is not None, f"/metrics has no {name}{labels}"
        return value

    def platforms(self) -> list[str]:
        return [dict(labels)["platform"] for name, labels in self.values if name == "router_routed_total"]

    def stable_part(self) -> dict[Any, float]:
        return {k: v for k, v in self.values.items() if k[0] != "router_uptime_seconds"}

    def row(self, p: str) -> dict[str, Any]:
        """What the page must show for platform ``p``, from /metrics alone."""
        routed = self.v("router_routed_total", platform=p)
        row: dict[str, Any] = {
            "open_cases": self.v("router_open_cases", platform=p),
            "routed": routed,
            "acknowledged": self.v("router_acknowledged_total", platform=p),
            "actioned": self.v("router_actioned_total", platform=p),
            "acknowledged_in_time": self.v("router_in_time_total", platform=p, stage="ack"),
            "actioned_in_time": self.v("router_in_time_total", platform=p, stage="action"),
            "breaches_ack": self.v("router_breaches_total", platform=p, stage="ack"),
            "breaches_action": self.v("router_breaches_total", platform=p, stage="action"),
        }
        for field, q in TIME_FIELDS.items():
            row[field] = self.get("router_time_to_seconds", platform=p, stage="action", quantile=q)
        return _with_rates(row)


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    routed = row["routed"]
    for field, part in zip(RATE_FIELDS, ("acknowledged", "actioned", "acknowledged_in_time", "actioned_in_time"),
                           strict=True):
        row[field] = row[part] / routed if routed else None
    return row


# --- what the page shows ------------------------------------------------------------------------

READ_PAGE = """(() => {
  const root = document.getElementById("dashboard");
  const cells = {};
  for (const el of document.querySelectorAll("#platforms [data-platform][data-field]")) {
    const p = el.getAttribute("data-platform"), f = el.getAttribute("data-field");
    (cells[p] = cells[p] || {})[f] = {value: el.getAttribute("data-value"), text: el.textContent.trim()};
  }
  const chart = document.getElementById("chart");
  const points = [...chart.querySelectorAll("g.point")].map(g => ({
    t: Number(g.dataset.t), ack: Number(g.dataset.ack), action: Number(g.dataset.action),
    rects: [...g.querySelectorAll("rect")].map(r => ({series: r.dataset.series, height: r.getBBox().height}))}));
  const banner = document.getElementById("error");
  return {
    updatedAt: root.dataset.updatedAt, refreshes: Number(root.dataset.refreshes), state: root.dataset.state,
    cells, rows: [...document.querySelectorAll("#platform-rows tr")].map(tr => tr.dataset.platform),
    points, chartTitle: chart.querySelector("title").textContent, chartDesc: chart.querySelector("desc").textContent,
    chartRole: chart.getAttribute("role"),
    axisText: [...document.querySelectorAll("#chart-axes text")].map(t => t.textContent),
    bannerHidden: banner.hidden, bannerVisible: banner.offsetParent !== null, bannerText: banner.textContent,
    worker: document.getElementById("worker-id").textContent,
    ready: document.getElementById("ready").dataset.ready,
    partitions: document.getElementById("partitions").dataset.value,
    marker: window.__dashboardTestMarker || null,
  };
})()"""


def _duration_text_seconds(text: str) -> float:
    parts = re.findall(r"(\d+(?:\.\d+)?)([dhms])", text)
    assert parts and "".join(n + u for n, u in parts) == text.replace(" ", ""), f"not a duration: {text!r}"
    return sum(float(n) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _duration_resolution(seconds: float) -> float:
    return 0.05 if seconds < 10 else 0.5 if seconds < 3600 else 30 if seconds < 86400 else 1800


def _check_cell(where: str, cell: dict[str, str], field: str, expected: Any) -> None:
    value, text = cell["value"], cell["text"]
    if field in COUNT_FIELDS:
        assert value == str(int(expected)), f"{where}: data-value {value!r}, /metrics {expected}"
        assert text.replace(",", "") == str(int(expected)), f"{where}: shows {text!r}, /metrics {expected}"
    elif expected is None:
        assert (value, text) == ("", "—"), f"{where}: shows {text!r} ({value!r}); /metrics has no figure"
    elif field in RATE_FIELDS:
        assert abs(float(value) - expected) <= 5e-5, f"{where}: data-value {value!r}, /metrics ratio {expected}"
        assert text.endswith("%"), f"{where}: {text!r} is not a percentage"
        assert abs(float(text[:-1]) - 100 * expected) <= 0.05 + 1e-9, f"{where}: shows {text!r}, /metrics {expected}"
    else:
        assert abs(float(value) - expected) <= 1e-5 * max(1.0, expected), f"{where}: {value!r} != {expected}"
        shown = _duration_text_seconds(text)
        assert abs(shown - expected) <= _duration_resolution(expected), f"{where}: shows {text!r}, /metrics {expected}s"


def assert_page_matches(page: dict[str, Any], metrics: Metrics) -> None:
    platforms = metrics.platforms()
    assert set(page["cells"]) == {*platforms, "all"}, f"rows {sorted(page['cells'])}, /metrics {platforms}"
    order = [p for p in KNOWN if p in platforms]
    assert [p for p in page["rows"] if p in KNOWN] == order and page["rows"][-1] == "unknown", page["rows"]
    fields = [*COUNT_FIELDS, *RATE_FIELDS, *TIME_FIELDS]
    for p in platforms:
        expected = metrics.row(p)
        assert page["cells"][p]["platform"]["value"] == p
        for field in fields:
            assert field in page["cells"][p], f"the page has no {field} for {p}"
            _check_cell(f"{p}.{field}", page["cells"][p][field], field, expected[field])
    # the total row: sums of the counters, rates of the sums; a median of the merged distribution
    rows = [metrics.row(p) for p in platforms]
    total = _with_rates({k: sum(r[k] for r in rows) for k in
                         ("open_cases", "routed", "acknowledged", "actioned", "acknowledged_in_time",
                          "actioned_in_time", "breaches_ack", "breaches_action")})
    for field in (*COUNT_FIELDS, *RATE_FIELDS):
        _check_cell(f"all.{field}", page["cells"]["all"][field], field, total[field])
    medians = [r["time_to_action_p50"] for r in rows if r["time_to_action_p50"] is not None]
    shown = page["cells"]["all"]["time_to_action_p50"]
    if medians:
        assert min(medians) - 1e-6 <= float(shown["value"]) <= max(medians) + 1e-6, (shown, medians)
        _check_cell("all.time_to_action_p50", shown, "time_to_action_p50", float(shown["value"]))
    else:
        assert (shown["value"], shown["text"]) == ("", "—")
    # the chart: this worker raised every breach, all within the last hour
    points = page["points"]
    assert points, "the chart has no points"
    assert sum(pt["ack"] for pt in points) == total["breaches_ack"]
    assert sum(pt["action"] for pt in points) == total["breaches_action"]
    for pt in points:
        assert pt["t"] % 10 == 0 and pt["ack"] + pt["action"] > 0, pt
        assert len(pt["rects"]) == (pt["ack"] > 0) + (pt["action"] > 0), pt
        assert all(r["height"] > 0 for r in pt["rects"]), pt
    assert page["ready"] == "true" and page["state"] == "ok" and page["bannerHidden"]
    assert len(page["partitions"].split(",")) == metrics.v("router_held_partitions"), page["partitions"]


# --- the scenario -------------------------------------------------------------------------------

def _report(report_id: str, platform: str, n: int) -> tuple[bytes, bytes]:
    body = {"schema": "report.submitted/v1", "report_id": report_id, "submitted_at": "2026-11-01T12:30:00Z",
            "source": "dashboard-test", "url": URLS[platform].format(n=n), "text": "propaganda video, please review"}
    return report_id.encode(), json.dumps(body).encode()


def _response(case_id: str, platform: str, status: str) -> tuple[bytes, bytes]:
    body = {"schema": "platform.response/v1", "case_id": case_id, "platform": platform, "status": status,
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    return case_id.encode(), json.dumps(body).encode()


async def _case_ids(reader: Reader, report_ids: list[str]) -> dict[str, str]:
    def done(seen: dict[str, Any]) -> bool:
        return set(report_ids) <= {r.key.decode() for r in seen["reports.receipts"]}

    await reader.until(done, timeout=30, what=f"receipts of {report_ids}")
    receipts = {r.key.decode(): r.json() for r in reader.all("reports.receipts")}
    for rid in report_ids:
        assert receipts[rid]["outcome"] in ("routed", "review", "attached"), receipts[rid]
    return {rid: receipts[rid]["case_id"] for rid in report_ids}


async def _settled(worker: Any, not_before: float, received: int, responses: int,
                   timeout: float = 60.0) -> tuple[Metrics, float]:
    """/metrics once the worker has read every report and response sent, every deadline of the
    scenario has passed (``not_before``, epoch), and two reads a second apart agree (but uptime).
    Returns them and the time they were known to be final."""
    await asyncio.sleep(max(0.0, not_before - time.time()))
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        m = Metrics(worker.metrics())
        consumed = (m.v("router_reports_received_total") == received
                    and m.v("router_responses_total", outcome="all") == responses)
        if consumed and previous == m.stable_part():
            return m, time.time()
        previous = m.stable_part() if consumed else None
        await asyncio.sleep(1.0)
    raise AssertionError(f"/metrics did not settle within {timeout:.0f}s (sent {received} reports, "
                         f"{responses} responses):\n{worker.metrics()}")


async def _read_when_fresh(browser: Browser, worker: Any, metrics: Metrics, since: float) -> dict[str, Any]:
    """The page once it shows figures fetched after ``since``, checked still equal to /metrics."""
    await browser.wait_for(f"Number(document.getElementById('dashboard').dataset.updatedAt) > {since}",
                           timeout=20, what="a refresh of the page")
    page = await browser.evaluate(READ_PAGE)
    assert Metrics(worker.metrics()).stable_part() == metrics.stable_part(), "/metrics moved while reading the page"
    return page


HOSTILE = '<img src=x onerror="window.__xss=1">'


async def test_dashboard_shows_the_metrics_live(broker, workers, tmp_path: Path) -> None:
    chromium = find_chromium()  # first: no browser is a failure (with how to get one), not a skip
    policy = tmp_path / "sla.yaml"
    policy.write_text(POLICY)
    worker = workers(ROUTER_SLA_POLICY=str(policy)).start().wait_ready()
    topics = ["reports.receipts", "sla.breaches"]
    async with Reader(broker.bootstrap, topics) as reader:
        # x and facebook: A removed at once, B received at once (then its action deadline passes),
        # C unanswered (both deadlines pass), D removed only after both deadlines passed.
        # youtube: one received at once; review: one unanswered; and a repeat of x's C (attached).
        plan = {f"{p}-{c}": (p, n) for p in ("x", "facebook") for n, c in enumerate("ABCD", 1)}
        plan |= {"youtube-A": ("youtube", 1), "unknown-A": ("unknown", 1)}
        await produce(broker.bootstrap, "reports.submitted", [_report(rid, p, n) for rid, (p, n) in plan.items()])
        cases = await _case_ids(reader, list(plan))
        last_due = time.time() + ACTION_S + 1.5  # routed before their receipts: every deadline swept by then
        await produce(broker.bootstrap, "reports.submitted", [_report("x-C-again", "x", 3)])
        answers = [_response(cases[f"{p}-A"], p, "removed") for p in ("x", "facebook")]
        answers += [_response(cases[f"{p}-B"], p, "received") for p in ("x", "facebook")]
        answers += [_response(cases["youtube-A"], "youtube", "received")]
        await produce(broker.bootstrap, "platform.responses", answers)
        late = {f"{cases[f'{p}-D']}:action" for p in ("x", "facebook")}
        await reader.until(lambda s: late <= {r.key.decode() + ":" + r.json()["stage"] for r in s["sla.breaches"]},
                           timeout=40, what="the action breaches of the D cases")
        await produce(broker.bootstrap, "platform.responses",
                      [_response(cases[f"{p}-D"], p, "removed") for p in ("x", "facebook")])
        metrics, final_at = await _settled(worker, last_due, received=len(plan) + 1, responses=len(answers) + 2)

    # the scenario did what the page must show: every figure non-zero on at least two platforms
    for p in ("x", "facebook"):
        row = metrics.row(p)
        for field in ("routed", "acknowledged", "actioned", "open_cases", "breaches_ack", "breaches_action"):
            assert row[field] > 0, f"{p}: {field} is 0 in /metrics; the scenario did not run as planned"
        assert row["time_to_action_p50"] is not None

    # the page itself: HTML, self-contained (nothing fetched from elsewhere), locked down by its CSP
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/dashboard", timeout=5) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
        csp = response.headers["Content-Security-Policy"]
        html = response.read().decode()
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"], "external URLs in the page"
    assert not re.search(r"<(?:script|link|img|iframe)[^>]*\s(?:src|href)=", html), "the page loads other resources"

    async with Browser(tmp_path, WIDTH, HEIGHT, binary=chromium) as browser:
        started = time.monotonic()
        await browser.goto(f"http://127.0.0.1:{worker.port}/dashboard?interval=1")
        page = await _read_when_fresh(browser, worker, metrics, final_at)
        assert_page_matches(page, metrics)
        assert page["worker"] == "w1"
        assert page["chartRole"] == "img" and "breaches" in page["chartTitle"].lower()
        assert "Breaches per 10 s" in page["axisText"] and any(re.fullmatch(r"\d\d:\d\d", t) for t in page["axisText"])
        assert page["rows"][0] == "x" and page["cells"]["unknown"]["platform"]["text"] == "Review"

        # a screenshot: a real PNG of the requested size, not blank
        png = await browser.screenshot()
        shot = tmp_path / "dashboard.png"
        shot.write_bytes(png)
        (REPO / "var").mkdir(exist_ok=True)
        shutil.copyfile(shot, REPO / "var" / "dashboard.png")
        info = png_info(png)
        assert (info["width"], info["height"]) == (WIDTH, HEIGHT)
        colours = png_colours(info)
        assert len(colours) >= 8, f"the screenshot looks blank: {len(colours)} colours"
        # the chart's two series are drawn in their colours (Okabe-Ito blue and vermillion)
        rgb = {c[:3] for c in colours}
        assert bytes((0x00, 0x72, 0xB2)) in rgb and bytes((0xD5, 0x5E, 0x00)) in rgb, "chart bars not visible"

        # live: new reports appear without a reload (the marker survives; a reload would drop it)
        await browser.evaluate("window.__dashboardTestMarker = 'same page'")
        before = page
        await produce(broker.bootstrap, "reports.submitted",
                      [_report("x-E", "x", 5), _report("telegram-A", "telegram", 1)])
        x_routed = int(before["cells"]["x"]["routed"]["value"])
        await browser.wait_for(
            "document.querySelector('td[data-platform=\"x\"][data-field=\"routed\"]').dataset.value === "
            f"'{x_routed + 1}' && document.querySelector('td[data-platform=\"telegram\"][data-field=\"routed\"]')"
            ".dataset.value === '1'", timeout=30, what="the new cases on the page")
        last_due = time.time() + ACTION_S + 1.5
        # their deadlines pass too: the chart grows
        metrics2, final_at2 = await _settled(worker, last_due, received=len(plan) + 3, responses=len(answers) + 2)
        page2 = await _read_when_fresh(browser, worker, metrics2, final_at2)
        assert page2["marker"] == "same page", "the page was reloaded"
        assert float(page2["updatedAt"]) > float(before["updatedAt"]) and page2["refreshes"] > before["refreshes"]
        assert_page_matches(page2, metrics2)
        assert metrics2.v("router_breaches_total", platform="telegram", stage="action") == 1
        assert sum(p["action"] for p in page2["points"]) > sum(p["action"] for p in before["points"])

        # the worker unreachable: a banner, the last figures kept; then it recovers by itself
        await browser.send("Network.enable")
        await _block(browser, ["*/dashboard/data*"])
        await browser.wait_for("document.getElementById('dashboard').dataset.state === 'error'", timeout=15,
                               what="the error banner")
        down = await browser.evaluate(READ_PAGE)
        assert down["bannerVisible"] and "Cannot reach the worker" in down["bannerText"], down["bannerText"]
        assert down["cells"]["x"]["routed"] == page2["cells"]["x"]["routed"], "figures lost while unreachable"
        await _block(browser, [])
        await browser.wait_for("document.getElementById('dashboard').dataset.state === 'ok'", timeout=15,
                               what="recovery")
        up = await browser.evaluate(READ_PAGE)
        assert up["bannerHidden"] and not up["bannerVisible"] and up["refreshes"] > down["refreshes"]
        assert up["marker"] == "same page"

        # figures are data, never markup: a hostile platform id and worker id are shown as text
        hostile = json.loads(worker.get("/dashboard/data")[1])
        hostile["worker_id"] = HOSTILE
        hostile["platforms"].append({**hostile["platforms"][0], "platform": HOSTILE})
        mark = len(browser.events)
        await browser.send("Fetch.enable", patterns=[{"urlPattern": "*/dashboard/data*", "requestStage": "Request"}])
        paused = await browser.wait_event("Fetch.requestPaused", since=mark, timeout=15)
        await browser.send("Fetch.fulfillRequest", requestId=paused["params"]["requestId"], responseCode=200,
                           responseHeaders=[{"name": "Content-Type", "value": "application/json"}],
                           body=base64.b64encode(json.dumps(hostile).encode()).decode())
        await browser.send("Fetch.disable")
        shown = await browser.wait_for(
            f"(() => {{ const h = {json.dumps(HOSTILE)};"
            " const row = [...document.querySelectorAll('#platform-rows tr')].find(tr => tr.dataset.platform === h);"
            " return row && {label: row.querySelector('th').textContent, cells: row.querySelectorAll('td').length,"
            " worker: document.getElementById('worker-id').textContent,"
            " imgs: document.querySelectorAll('img').length, xss: window.__xss || null}; })()",
            timeout=15, what="the hostile row")
        assert shown == {"label": HOSTILE, "cells": 10, "worker": HOSTILE, "imgs": 0, "xss": None}, shown
        await browser.wait_for(  # the next refresh has real data again: the row goes away
            "![...document.querySelectorAll('#platform-rows tr')]"
            f".some(tr => tr.dataset.platform === {json.dumps(HOSTILE)})"
            " && document.getElementById('worker-id').textContent === 'w1'", timeout=15, what="the row to go")
        assert await browser.console_errors() == [], "the page threw or logged errors"
        elapsed = time.monotonic() - started
        print(f"browser part took {elapsed:.1f}s; screenshot {shot} ({len(png)} bytes, {len(colours)} colours)")


async def _block(browser: Browser, patterns: list[str]) -> None:
    try:
        await browser.send("Network.setBlockedURLs", urls=patterns)
    except CDPError:  # newer protocol: patterns with a block flag
        await browser.send("Network.setBlockedURLs", urlPatterns=[{"urlPattern": p, "block": True} for p in patterns])
