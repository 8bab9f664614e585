"""Web pages of the worker: ``/health`` (the process is up), ``/ready`` (200 only once
partitions are assigned and tables recovered), ``/metrics`` (Prometheus text), ``/dashboard``
(the operators' page, self-contained, reading ``/dashboard/data``)."""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.resources
import re
from typing import Any

from router.metrics import dashboard_data, prometheus, snapshot


def install_pages(app: Any, runtime: Any) -> None:
    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "worker_id": runtime.settings.worker_id})

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        body = {"ready": runtime.ready, "recovered": runtime.recovered, "partitions": sorted(runtime.held),
                "rebalancing": bool(app.rebalancing), "producer": runtime.producer_ready.is_set()}
        return web.json(body, status=200 if runtime.ready else 503)

    @app.page("/dashboard")
    async def dashboard(web: Any, request: Any) -> Any:
        try:
            html, headers = _dashboard_page()
        except OSError:
            return web.text("dashboard page not installed\n", status=404)
        return web.html(html, headers=dict(headers))

    @app.page("/dashboard/data")
    async def dashboard_json(web: Any, request: Any) -> Any:
        return web.json(dashboard_data(snapshot(runtime), list(runtime.breach_series)))

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.text(prometheus(snapshot(runtime)), content_type="text/plain; version=0.0.4")


@functools.cache
def _dashboard_page() -> tuple[str, tuple[tuple[str, str], ...]]:
    """The page (read once) and its headers: a Content-Security-Policy that allows only its own
    inline script and style (by hash) and requests to this worker, so nothing else can run."""
    html = importlib.resources.files("router").joinpath("data/dashboard.html").read_text(encoding="utf-8")

    def hashes(tag: str) -> str:
        found = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
        return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(x.encode()).digest()).decode()}'" for x in found)

    csp = (f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; "
           "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return html, (("Content-Security-Policy", csp), ("X-Content-Type-Options", "nosniff"),
                  ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-cache"))
