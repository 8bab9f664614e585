"""build_app wires Faust (tables, topics, lanes, timers, pages) without touching a broker, and
two apps never share state (no module-level app)."""

from __future__ import annotations

import pytest

from router.app import RouterApp, build_app
from router.config import ConfigError, load_config
from router.settings import Settings, SettingsError, load_settings


def _settings(tmp_path, **kw) -> Settings:
    return load_settings(broker="kafka://127.0.0.1:1", store="memory", data_dir=tmp_path, **kw)


def test_build_app_wires_the_router(tmp_path) -> None:
    app = build_app(_settings(tmp_path, partitions=6, app_id="wiring"))
    assert isinstance(app, RouterApp)
    assert set(app.tables.keys()) >= {"cases", "stats"}
    assert app.tables["cases"].partitions == 6
    subscribed = {t for topic in app.topics for t in topic.topics}
    assert {"reports.submitted", "router.cases", "platform.responses"} <= subscribed
    assert set(app.router_lanes) == {"reports.submitted", "router.cases", "platform.responses"}
    assert app.conf.broker_consumer[0].host == "127.0.0.1"
    assert app.router.ready is False  # not before partitions are assigned and recovered
    other = build_app(_settings(tmp_path, app_id="other"))
    assert other.router is not app.router and other.router.index is not app.router.index


async def test_the_consumer_takes_the_fetch_settings(tmp_path) -> None:
    app = build_app(_settings(tmp_path, fetch_max_mb=7, fetch_wait_ms=123))
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    assert consumer._fetch_max_bytes == 7 << 20, "Faust would leave aiokafka's 50 MB"
    assert consumer._fetch_max_wait_ms == 123, "Faust would hard-code 1,500 ms"
    assert consumer._max_partition_fetch_bytes == 1 << 20


def test_stray_faust_variables_cannot_override_settings(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BROKER_URL", "kafka://stray:9092")
    monkeypatch.setenv("WEB_PORT", "1")
    app = build_app(_settings(tmp_path, web_port=6099))
    assert app.conf.broker_consumer[0].host == "127.0.0.1"
    assert app.conf.web_port == 6099


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"ROUTER_BROKER": "localhost:9092"}, "ROUTER_BROKER"),
        ({"ROUTER_BROKER": "kafka://"}, "ROUTER_BROKER"),
        ({"ROUTER_WEB_PORT": "http"}, "ROUTER_WEB_PORT"),
        ({"ROUTER_PARTITIONS": "0"}, "ROUTER_PARTITIONS"),
        ({"ROUTER_SECURITY_PROTOCOL": "SASL_SSL"}, "SASL"),
    ],
)
def test_bad_settings_are_named(monkeypatch, env, fragment) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError, match=fragment):
        load_settings()


def test_bad_data_files_are_named(tmp_path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="ROUTER_SLA_POLICY: cannot read"):
        load_config(_settings(tmp_path, sla_policy=missing))
    bad = tmp_path / "policy.yaml"
    bad.write_text("platforms:\n  myspace:\n    normal: {ack: 1m}\n")
    with pytest.raises(ConfigError, match="unknown platform"):
        load_config(_settings(tmp_path, sla_policy=bad))
    bad.write_text("priorities: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(_settings(tmp_path, sla_policy=bad))
    wl = tmp_path / "watchlist.yaml"
    wl.write_text("version: 1\ngroups: [{id: bad id}]\n")
    with pytest.raises(ConfigError, match="ROUTER_WATCHLIST"):
        load_config(_settings(tmp_path, watchlist=wl))


def test_the_event_loop_setting_picks_the_loop_of_the_worker() -> None:
    import asyncio

    import uvloop

    from router.worker import use_event_loop

    before = asyncio.get_event_loop_policy()
    try:
        assert use_event_loop("asyncio") == "asyncio"
        assert asyncio.get_event_loop_policy() is before
        assert use_event_loop("uvloop") == "uvloop"
        loop = asyncio.new_event_loop()
        try:
            assert isinstance(loop, uvloop.Loop)
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(before)
    assert load_settings(event_loop="asyncio").event_loop == "asyncio"
    assert load_settings().event_loop == "uvloop"
    with pytest.raises(SettingsError):
        load_settings(event_loop="trio")
