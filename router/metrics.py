"""The operator's figures, from one snapshot: the ``router.metrics/v1`` records, Prometheus text
and the dashboard all read ``snapshot()``, so they agree.

Metric names are a closed set (``METRICS``, with each one's kind); labels are low-cardinality:
``platform`` (the configured platforms and ``unknown``), ``stage`` (ack, action), ``outcome``,
``kind``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from router.core.stats import PartitionStats, merge_partitions

#: name -> (kind, help). The only metric names the router exports.
METRICS: dict[str, tuple[str, str]] = {
    "router_reports_received_total": ("counter", "Input records read by this worker process"),
    "router_records_done_total": ("counter", "Records fully processed (everything they produced stored), by lane"),
    "router_reports_rejected_total": ("counter", "Input records dead-lettered, by kind"),
    "router_reports_duplicate_total": ("counter", "Re-sent reports already in their case"),
    "router_routed_total": ("counter", "Cases routed (opened), by platform; partitions held"),
    "router_attached_total": ("counter", "Reports attached to open cases, by platform"),
    "router_acknowledged_total": ("counter", "Cases acknowledged by the platform"),
    "router_actioned_total": ("counter", "Cases actioned (removed, restricted or rejected)"),
    "router_in_time_total": ("counter", "Cases acknowledged / actioned before their deadline, by stage"),
    "router_breaches_total": ("counter", "SLA breaches raised, by platform and stage"),
    "router_open_cases": ("gauge", "Open cases, by platform"),
    "router_time_to_seconds": ("gauge", "Time to acknowledge / act, percentiles, by platform and stage"),
    "router_responses_total": ("counter", "Platform responses, by outcome"),
    "router_ready": ("gauge", "1 when partitions are assigned and tables recovered"),
    "router_reloads_total": ("counter", "Reloads of the watchlist and SLA policy (SIGHUP), by result"),
    "router_broker_up": ("gauge", "1 when the broker answers"),
    "router_broker_connect_attempts_total": ("counter", "Attempts to reach the broker (before the worker starts)"),
    "router_held_partitions": ("gauge", "Case partitions held by this worker"),
    "router_pending_deadlines": ("gauge", "Entries in the SLA deadline index"),
    "router_sla_sweep_waiting": ("gauge", "1 while deadlines wait for the answers pending at the last assignment"),
    "router_banned_accounts": ("gauge", "Known banned or actioned accounts (watchlist and platform actions)"),
    "router_uptime_seconds": ("gauge", "Seconds since this worker started"),
    "router_intake_helpers": ("gauge", "Intake helper processes running and ready, and configured (state)"),
    "router_intake_batches_total": ("counter", "Intake batches prepared, by where (helper process or worker)"),
    "router_intake_helper_restarts_total": ("counter", "Intake helper processes started again after exiting"),
}


@dataclass(frozen=True)
class Snapshot:
    at: float
    worker_id: str
    partitions: list[int]
    platforms: list[str]
    stats: PartitionStats
    worker: dict[str, int]
    routed_by_platform: dict[str, int]
    ready: bool
    broker_up: bool
    pending_deadlines: int
    sweep_waiting: bool
    banned_accounts: int
    uptime_s: float
    intake: dict[str, int]


def snapshot(runtime: Any) -> Snapshot:
    held = sorted(runtime.held)
    stats = merge_partitions(runtime.casework.partition_stats(p) for p in held)
    platforms = [*runtime.config.registry.ids, "unknown"]
    return Snapshot(
        at=time.time(),
        worker_id=runtime.settings.worker_id,
        partitions=held,
        platforms=platforms,
        stats=stats,
        worker=runtime.counters.as_dict(),
        routed_by_platform=dict(runtime.counters.routed_by_platform),
        ready=runtime.ready,
        broker_up=runtime.broker_up,
        pending_deadlines=len(runtime.index),
        sweep_waiting=not runtime.catch_up.done,
        banned_accounts=len(runtime.banned.index),
        uptime_s=time.time() - runtime.started_at,
        intake=_intake(runtime),
    )


def _intake(runtime: Any) -> dict[str, int]:
    pool = runtime.pool
    local = runtime.counters.intake_batches_worker
    if pool is None:
        return {"configured": 0, "ready": 0, "helper": 0, "worker": local, "restarts": 0}
    return {"configured": pool.processes, "ready": pool.ready_helpers, "helper": pool.batches_helped,
            "worker": local + pool.batches_local, "restarts": pool.restarts}


def _line(name: str, value: float, **labels: str) -> str:
    if labels:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return f"{name}{{{inner}}} {value:g}"
    return f"{name} {value:g}"


def family_lines(name: str, lines: list[str]) -> list[str]:
    """One metric family in the Prometheus text format: its HELP and TYPE from ``METRICS``, then ``lines``."""
    kind, text = METRICS[name]
    return [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *lines]


def waiting_for_broker(attempts: int) -> str:
    """``/metrics`` while the worker waits for the broker, before the app exists."""
    out = [*family_lines("router_ready", [_line("router_ready", 0)]),
           *family_lines("router_broker_up", [_line("router_broker_up", 0)]),
           *family_lines("router_broker_connect_attempts_total",
                         [_line("router_broker_connect_attempts_total", attempts)])]
    return "\n".join(out) + "\n"


def prometheus(snap: Snapshot) -> str:
    out: list[str] = []

    def family(name: str, lines: list[str]) -> None:
        out.extend(family_lines(name, lines))

    w = snap.worker
    family("router_reports_received_total", [_line("router_reports_received_total", w["received"])])
    family("router_records_done_total", [
        _line("router_records_done_total", w["acknowledged_intake"], lane="intake"),
        _line("router_records_done_total", w["acknowledged_cases"], lane="cases"),
    ])
    family("router_reports_rejected_total", [
        _line("router_reports_rejected_total", w[f"rejected_{k}"], kind=k)
        for k in ("decode", "validation", "processing")
    ])
    family("router_reports_duplicate_total", [_line("router_reports_duplicate_total", w["duplicates"])])
    per = {p: snap.stats.platforms.get(p) for p in snap.platforms}

    def counts(p: str, key: str) -> int:
        f = per.get(p)
        return f.counts.get(key, 0) if f is not None else 0

    family("router_routed_total", [_line("router_routed_total", counts(p, "routed"), platform=p)
                                   for p in snap.platforms])
    family("router_attached_total", [_line("router_attached_total", counts(p, "attached"), platform=p)
                                     for p in snap.platforms])
    family("router_acknowledged_total", [_line("router_acknowledged_total", counts(p, "acknowledged"), platform=p)
                                         for p in snap.platforms])
    family("router_actioned_total", [_line("router_actioned_total", counts(p, "actioned"), platform=p)
                                     for p in snap.platforms])
    family("router_in_time_total", [
        _line("router_in_time_total", counts(p, key), platform=p, stage=stage)
        for p in snap.platforms for stage, key in (("ack", "acknowledged_in_time"), ("action", "actioned_in_time"))
    ])
    family("router_breaches_total", [
        _line("router_breaches_total", counts(p, f"breached_{stage}"), platform=p, stage=stage)
        for p in snap.platforms for stage in ("ack", "action")
    ])
    family("router_open_cases", [_line("router_open_cases", counts(p, "open_cases"), platform=p)
                                 for p in snap.platforms])
    lines = []
    for p in snap.platforms:
        f = per.get(p)
        if f is None:
            continue
        for stage, hist in (("ack", f.time_to_ack), ("action", f.time_to_action)):
            for q in (0.5, 0.9, 0.99):
                value = hist.percentile(q)
                if value is not None:
                    lines.append(_line("router_time_to_seconds", value, platform=p, stage=stage, quantile=str(q)))
    family("router_time_to_seconds", lines)
    family("router_responses_total", [
        _line("router_responses_total", w["responses"], outcome="all"),
        _line("router_responses_total", w["responses_invalid"], outcome="invalid"),
        _line("router_responses_total", w["responses_unknown_case"], outcome="unknown_case"),
        _line("router_responses_total", w["responses_out_of_order"], outcome="out_of_order"),
        _line("router_responses_total", w["responses_after_close"], outcome="after_close"),
    ])
    family("router_ready", [_line("router_ready", 1 if snap.ready else 0)])
    family("router_reloads_total", [_line("router_reloads_total", w["reloads"], result="done"),
                                    _line("router_reloads_total", w["reloads_failed"], result="refused")])
    family("router_broker_up", [_line("router_broker_up", 1 if snap.broker_up else 0)])
    family("router_held_partitions", [_line("router_held_partitions", len(snap.partitions))])
    family("router_pending_deadlines", [_line("router_pending_deadlines", snap.pending_deadlines)])
    family("router_sla_sweep_waiting", [_line("router_sla_sweep_waiting", 1 if snap.sweep_waiting else 0)])
    family("router_banned_accounts", [_line("router_banned_accounts", snap.banned_accounts)])
    family("router_uptime_seconds", [_line("router_uptime_seconds", round(snap.uptime_s, 1))])
    i = snap.intake
    family("router_intake_helpers", [_line("router_intake_helpers", i["ready"], state="ready"),
                                     _line("router_intake_helpers", i["configured"], state="configured")])
    family("router_intake_batches_total", [_line("router_intake_batches_total", i["helper"], where="helper"),
                                           _line("router_intake_batches_total", i["worker"], where="worker")])
    family("router_intake_helper_restarts_total", [_line("router_intake_helper_restarts_total", i["restarts"])])
    return "\n".join(out) + "\n"


def _distribution(hist: Any) -> dict[str, Any]:
    from router.core.stats import BOUNDS

    return {
        "count": hist.count,
        "p50": hist.percentile(0.5),
        "p90": hist.percentile(0.9),
        "p99": hist.percentile(0.99),
        "buckets": {str(BOUNDS[min(i, len(BOUNDS) - 1)]): n for i, n in sorted(hist.buckets.items())},
    }


_WORKER_FIELDS = ("received", "rejected", "rejected_decode", "rejected_validation", "rejected_processing",
                  "duplicates", "responses", "responses_invalid", "responses_unknown_case", "responses_out_of_order",
                  "responses_after_close")


def records(snap: Snapshot) -> list[dict[str, Any]]:
    """The ``router.metrics/v1`` records of a snapshot: one per platform (``unknown`` included)."""
    from router.core.stats import Figures
    from router.events import rfc3339

    worker = {k: snap.worker.get(k, 0) for k in _WORKER_FIELDS}
    out = []
    for platform in snap.platforms:
        figures = snap.stats.platforms.get(platform) or Figures()
        groups = {
            group: {"counts": dict(f.counts), "time_to_action": _distribution(f.time_to_action)}
            for (p, group), f in sorted(snap.stats.groups.items()) if p == platform
        }
        out.append({
            "schema": "router.metrics/v1",
            "worker_id": snap.worker_id,
            "at": rfc3339(snap.at),
            "platform": platform,
            "partitions": snap.partitions,
            "counts": dict(figures.counts),
            "time_to_ack": _distribution(figures.time_to_ack),
            "time_to_action": _distribution(figures.time_to_action),
            "groups": groups,
            "worker": worker,
        })
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def dashboard_data(snap: Snapshot, series: list[dict[str, float]]) -> dict[str, Any]:
    """What ``/dashboard`` shows, from the same snapshot as ``/metrics`` and the metrics topic.

    Rates are shares of the cases routed: acknowledged, actioned, and of those, in time."""
    from router.core.stats import Figures

    rows = []
    total = Figures()
    for platform in snap.platforms:
        f = snap.stats.platforms.get(platform) or Figures()
        total.merge(f)
        rows.append(_dashboard_row(platform, f))
    return {
        "worker_id": snap.worker_id,
        "at": snap.at,
        "ready": snap.ready,
        "partitions": snap.partitions,
        "platforms": rows,
        "total": _dashboard_row("all", total),
        "rejected": snap.worker.get("rejected", 0),
        "breaches_series": series,
    }


def _dashboard_row(platform: str, f: Any) -> dict[str, Any]:
    c = f.counts
    return {
        "platform": platform,
        "routed": c["routed"],
        "attached": c["attached"],
        "open_cases": c["open_cases"],
        "acknowledged": c["acknowledged"],
        "actioned": c["actioned"],
        "ack_rate": _rate(c["acknowledged"], c["routed"]),
        "action_rate": _rate(c["actioned"], c["routed"]),
        "ack_in_time_rate": _rate(c["acknowledged_in_time"], c["routed"]),
        "action_in_time_rate": _rate(c["actioned_in_time"], c["routed"]),
        "breaches_ack": c["breached_ack"],
        "breaches_action": c["breached_action"],
        "time_to_action_p50": f.time_to_action.percentile(0.5),
        "time_to_action_p90": f.time_to_action.percentile(0.9),
    }
