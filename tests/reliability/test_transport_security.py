"""Transport security end to end: the worker talks TLS, and mutual TLS with a client
certificate, to the broker (through a TLS proxy: the embedded broker has no working TLS); a worker
without the client certificate is refused. SASL settings are checked as client options."""

from __future__ import annotations

import ssl

import pytest

from router.embedded import free_port, start_broker
from router.kafka import client_kwargs
from router.settings import load_settings
from tests.support.processes import Worker
from tests.support.scenario import report, route
from tests.support.tlsproxy import TlsProxy, make_pki

pytestmark = pytest.mark.reliability


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    return make_pki(d)


async def test_worker_over_mutual_tls(tmp_path, pki) -> None:
    proxy_port = free_port()
    broker = start_broker(log=tmp_path / "broker.log", advertised_port=proxy_port)
    proxy = TlsProxy(pki, proxy_port, broker.port, require_client_cert=True).start()
    tls = {"ROUTER_SECURITY_PROTOCOL": "SSL", "ROUTER_SSL_CAFILE": str(pki.ca)}
    mtls = {**tls, "ROUTER_SSL_CERTFILE": str(pki.client_cert), "ROUTER_SSL_KEYFILE": str(pki.client_key)}
    url = f"kafka://127.0.0.1:{proxy_port}"
    good = Worker(url, tmp_path, name="mtls", **mtls)
    bad = Worker(url, tmp_path, name="nocert", **tls)
    try:
        good.start().wait_ready(90)
        # the test's own client goes through the same proxy with the same certificate
        settings = load_settings(broker=url, security_protocol="SSL", ssl_cafile=pki.ca, ssl_certfile=pki.client_cert,
                                 ssl_keyfile=pki.client_key)
        receipts = await route(f"127.0.0.1:{proxy_port}", [report("tls-1", "https://t.me/chan/1")],
                               client=client_kwargs(settings))
        assert receipts["tls-1"]["outcome"] == "routed"
        bad.start()
        import time

        time.sleep(8)
        assert not bad.ready(), "a client without the certificate must not get through"
        assert any(r.get("event") == "broker.unavailable" for r in bad.log_records())
    finally:
        good.kill()
        bad.kill()
        proxy.stop()
        broker.stop()


def test_sasl_and_tls_client_options(tmp_path, pki) -> None:
    secret = tmp_path / "sasl-password"
    secret.write_text("s3cret\n")
    settings = load_settings(broker="kafka://k1:9093;k2:9093", security_protocol="SASL_SSL",
                             sasl_mechanism="SCRAM-SHA-512", sasl_username="report-router", sasl_password_file=secret,
                             ssl_cafile=pki.ca, ssl_certfile=pki.client_cert, ssl_keyfile=pki.client_key)
    kwargs = client_kwargs(settings)
    assert kwargs["bootstrap_servers"] == ["k1:9093", "k2:9093"]
    assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "report-router" and kwargs["sasl_plain_password"] == "s3cret"
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext) and kwargs["ssl_context"].check_hostname
    # secrets never show in the settings' representation
    shown = load_settings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="u",
                          sasl_password="hunter2")
    assert "hunter2" not in repr(shown) and "hunter2" not in str(shown.model_dump())
    assert client_kwargs(shown)["sasl_plain_password"] == "hunter2"
    from router.app import build_app

    app = build_app(load_settings(broker="kafka://127.0.0.1:1", store="memory", data_dir=tmp_path,
                                  security_protocol="SASL_SSL", sasl_username="u", sasl_password_file=secret,
                                  ssl_cafile=pki.ca))
    credentials = app.conf.broker_credentials
    assert (credentials.username, credentials.password) == ("u", "s3cret")
    assert credentials.mechanism.value == "SCRAM-SHA-512"
