"""The watchlist and the SLA policy are data: a change takes effect on SIGHUP without a restart,
and a bad file is refused while the data in use stays."""

from __future__ import annotations

import asyncio
import signal

import pytest
import yaml

from tests.conftest import DATA
from tests.support.scenario import metric, report, route, wait_metric

pytestmark = pytest.mark.integration


async def test_sighup_reloads_the_watchlist(tmp_path, broker, workers) -> None:
    source = yaml.safe_load((DATA.parent.parent / "router/data/watchlist.yaml").read_text())
    path = tmp_path / "watchlist.yaml"
    path.write_text(yaml.safe_dump(source, allow_unicode=True))
    worker = workers(ROUTER_WATCHLIST=str(path)).start().wait_ready()
    before = await route(broker.bootstrap, [report("w1", "https://t.me/a/1", text="Zyxwv Brigade statement")])
    assert before["w1"]["outcome"] == "routed"
    # an analyst adds a new alias to TTP's entry
    ttp = next(g for g in source["groups"] if g["id"] == "TTP")
    ttp["aliases"].append("Zyxwv Brigade")
    path.write_text(yaml.safe_dump(source, allow_unicode=True))
    worker.kill(signal.SIGHUP)
    await wait_metric(worker, "router_reloads_total", 1, result="done")
    from tests.support.kafka import Reader

    async with Reader(broker.bootstrap, ["outbound.telegram"]) as reader:
        await route(broker.bootstrap, [report("w2", "https://t.me/b/2", text="Zyxwv Brigade statement")])
        await reader.until(lambda s: len(s["outbound.telegram"]) == 2, timeout=30, what="two cases")
        routed = [r.json() for r in reader.all("outbound.telegram")]
        groups = {r["target"]["url"]: [g["id"] for g in r["groups"]] for r in routed}
    assert groups == {"https://t.me/a/1": [], "https://t.me/b/2": ["TTP"]}
    # a broken file is refused; the worker goes on with what it had
    path.write_text("groups: [{id: 'bad id'}]\n")
    worker.kill(signal.SIGHUP)
    await wait_metric(worker, "router_reloads_total", 1, result="refused")
    assert worker.ready() and metric(worker.metrics(), "router_reloads_total", result="done") == 1
    assert any(r.get("event") == "reload.refused" for r in worker.log_records())
    await asyncio.sleep(0)
