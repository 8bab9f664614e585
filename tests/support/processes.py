"""The router's worker as a real process, driven only through its documented interface:
``router worker``, ``ROUTER_*`` settings, the topics, and ``/ready``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from router.embedded import _die_with_parent, free_port

#: Settings the tests use unless a test overrides them: small, fast, memory-only.
TEST_ENV = {
    "ROUTER_STORE": "memory",
    "ROUTER_PARTITIONS": "4",
    "ROUTER_SESSION_TIMEOUT_S": "6",
    "ROUTER_HEARTBEAT_INTERVAL_S": "0.5",
    "ROUTER_REBALANCE_TIMEOUT_S": "6",
    "ROUTER_LOG_FORMAT": "json",
    "ROUTER_SLA_TICK_S": "0.5",
    "ROUTER_METRICS_INTERVAL_S": "2",
}


class Worker:
    def __init__(self, broker_url: str, workdir: Path, name: str = "w1", **env: str) -> None:
        self.name = name
        self.port = free_port()
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.env = {**os.environ, **TEST_ENV, "ROUTER_BROKER": broker_url, "ROUTER_WEB_PORT": str(self.port),
                    "ROUTER_DATA_DIR": str(workdir / f"data-{name}"), "ROUTER_WORKER_ID": name, **env}
        self.env.pop("ROUTER_FAUST_BROKER", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Worker:
        self.starts += 1
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the process
        self.process = subprocess.Popen([sys.executable, "-m", "router", "worker"], env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True,
                                        preexec_fn=_die_with_parent)
        log.close()
        return self

    def get(self, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def ready(self) -> bool:
        try:
            status, _ = self.get("/ready", timeout=1.0)
        except (OSError, urllib.error.URLError):
            return False
        return status == 200

    def wait_ready(self, timeout: float = 60.0) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n{self.tail()}")
            if self.ready():
                return self
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name} not ready within {timeout:.0f}s:\n{self.tail()}")

    def metrics(self) -> str:
        return self.get("/metrics")[1].decode()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send a signal to the worker; wait for it to end unless the signal is SIGHUP."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            if sig != signal.SIGHUP:
                self.process.wait(30)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def log_records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


def run_router(*args: str, env: dict[str, str], timeout: float = 60.0, cwd: Path | None = None
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "router", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)
