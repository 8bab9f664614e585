"""Shared fixtures. The integration and reliability tiers start what they need themselves: an
embedded broker per test (memory-only, starts in well under a second) and worker processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from router.embedded import EmbeddedBroker, start_broker

DATA = Path(__file__).parent / "data"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    b = start_broker(log=tmp_path / "broker.log")
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def workers(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[Any]:
    """A factory of worker processes on the test's broker; all are stopped at the end."""
    from tests.support.processes import Worker

    started: list[Worker] = []

    def make(name: str = "w1", **env: str) -> Worker:
        worker = Worker(broker.url, tmp_path, name=name, **env)
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.kill()


def load_cases(name: str = "dev.jsonl") -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
