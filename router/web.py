"""Web pages of the worker: ``/health`` (the process is up), ``/ready`` (200 only once
partitions are assigned and tables recovered), ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from typing import Any

from router.metrics import prometheus, snapshot


def install_pages(app: Any, runtime: Any) -> None:
    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "worker_id": runtime.settings.worker_id})

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        body = {"ready": runtime.ready, "recovered": runtime.recovered, "partitions": sorted(runtime.held),
                "rebalancing": bool(app.rebalancing), "producer": runtime.producer_ready.is_set()}
        return web.json(body, status=200 if runtime.ready else 503)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.text(prometheus(snapshot(runtime)), content_type="text/plain; version=0.0.4")
