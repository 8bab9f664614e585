"""A real headless browser for tests: Debian's chromium, driven over the DevTools protocol (CDP).

``find_chromium()`` finds the binary (``CHROMIUM``, ``/usr/bin/chromium``, ``chromium``,
``chromium-browser`` on the PATH) and, when there is none and the suite runs as root on a machine
with apt-get (CI), installs Debian's ``chromium`` package. A test that needs a browser and cannot
have one fails with an assertion saying why: it never skips.

``Browser`` starts one headless chromium process with its own profile, connects to its first page
over a websocket (aiohttp's client) and keeps that one session open, so a test can read the same
page several times and see it change without a reload.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import itertools
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import aiohttp

#: Flags for a quiet, deterministic headless browser in a container (root: no sandbox possible).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-color-profile=srgb",
    "--lang=en-GB",
)

INSTALL_TIMEOUT_S = 900


def _candidates() -> list[str]:
    out = []
    if os.environ.get("CHROMIUM"):
        out.append(os.environ["CHROMIUM"])
    out.append("/usr/bin/chromium")
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            out.append(found)
    return out


def _usable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _install() -> str:
    """``apt-get install chromium``, once per machine even with parallel test processes."""
    lock_path = Path(tempfile.gettempdir()) / "report-router-chromium-install.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if any(_usable(c) for c in _candidates()):
                return "already installed by another process"
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            done = subprocess.run(["sh", "-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
                                   "chromium fonts-dejavu-core fonts-liberation"],
                                  env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
            return f"apt-get exited with {done.returncode}: {(done.stdout + done.stderr)[-2000:]}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def find_chromium() -> str:
    """The chromium binary to use; installs Debian's package when missing (as root with apt-get)."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        assert _usable(explicit), f"CHROMIUM={explicit!r} is not an executable file"
        return explicit
    for candidate in _candidates():
        if _usable(candidate):
            return candidate
    attempt = "not attempted: "
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        attempt += "not running as root"
    elif not shutil.which("apt-get"):
        attempt += "no apt-get on this machine"
    else:
        try:
            attempt = _install()
        except subprocess.TimeoutExpired:
            attempt = f"apt-get did not finish within {INSTALL_TIMEOUT_S}s"
        for candidate in _candidates():
            if _usable(candidate):
                return candidate
    raise AssertionError(
        "This test needs a headless chromium and none was found (looked at $CHROMIUM, /usr/bin/chromium, "
        "`chromium` and `chromium-browser` on the PATH). Install it (Debian/Ubuntu: "
        "`apt-get install chromium`) or set CHROMIUM=/path/to/chromium. Automatic installation: " + attempt)


class CDPError(AssertionError):
    pass


class Browser:
    """One headless chromium process and a DevTools session with its page.

    Use as ``async with Browser(tmp_path) as browser: await browser.goto(url)``."""

    def __init__(self, workdir: Path, width: int = 1400, height: int = 1000, binary: str | None = None) -> None:
        self.binary = binary or find_chromium()
        self.width = width
        self.height = height
        self.profile = workdir / "chromium-profile"
        self.log_path = workdir / "chromium.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._event_added = asyncio.Event()

    async def __aenter__(self) -> Browser:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, timeout: float = 60.0) -> None:
        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the process
        self.process = subprocess.Popen(
            [self.binary, *FLAGS, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        port = None
        while port is None:
            if self.process.poll() is not None:
                raise AssertionError(f"chromium exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"chromium did not open its DevTools port within {timeout:.0f}s:\n"
                                     f"{self.log_tail()}")
            with contextlib.suppress(OSError, ValueError, IndexError):
                port = int(port_file.read_text().splitlines()[0])
            if port is None:
                await asyncio.sleep(0.1)
        self._http = aiohttp.ClientSession()
        page_ws = None
        while page_ws is None:
            with contextlib.suppress(aiohttp.ClientError, json.JSONDecodeError):
                async with self._http.get(f"http://127.0.0.1:{port}/json/list") as response:
                    targets = await response.json(content_type=None)
                page_ws = next((t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"), None)
            if page_ws is None:
                if time.monotonic() > deadline:
                    raise AssertionError(f"chromium has no page target:\n{self.log_tail()}")
                await asyncio.sleep(0.1)
        self._ws = await self._http.ws_connect(page_ws, max_msg_size=0, heartbeat=None)
        self._reader = asyncio.create_task(self._read())
        await self.send("Page.enable")
        await self.send("Runtime.enable")
        await self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                        deviceScaleFactor=1, mobile=False)

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            else:
                self.events.append(data)
                self._event_added.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(CDPError(f"DevTools connection closed:\n{self.log_tail()}"))

    async def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """One CDP command; returns its result, raises ``CDPError`` on a protocol error."""
        assert self._ws is not None, "browser not started"
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        try:
            answer = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(ident, None)
        if "error" in answer:
            raise CDPError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    async def wait_event(self, method: str, since: int = 0, timeout: float = 30.0) -> dict[str, Any]:
        """The first event ``method`` at index ``since`` or later of ``self.events``."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[since:]:
                if event.get("method") == method:
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {method} event within {timeout:.0f}s")
            self._event_added.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._event_added.wait(), remaining)

    async def goto(self, url: str, timeout: float = 30.0) -> None:
        mark = len(self.events)
        result = await self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise AssertionError(f"navigation to {url} failed: {result['errorText']}")
        await self.wait_event("Page.loadEventFired", since=mark, timeout=timeout)

    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = await self.send("Runtime.evaluate", timeout=timeout, expression=expression, returnByValue=True,
                                 awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"JavaScript error: {text}")
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = 30.0, what: str | None = None) -> Any:
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or expression} (last value {value!r})")

    async def console_errors(self) -> list[str]:
        """Exceptions thrown in the page and console errors seen so far."""
        out = []
        for event in self.events:
            if event.get("method") == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                out.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif event.get("method") == "Runtime.consoleAPICalled" and event["params"].get("type") == "error":
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in event["params"]["args"]))
        return out

    async def screenshot(self) -> bytes:
        """A PNG of the viewport (``width`` x ``height`` CSS pixels at scale 1)."""
        result = await self.send("Page.captureScreenshot", format="png", fromSurface=True)
        return base64.b64decode(result["data"])

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self.send("Browser.close", timeout=5)
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._http is not None:
            await self._http.close()
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def log_tail(self, n: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


# --- PNG checks without an imaging library -------------------------------------------------------

def png_info(data: bytes) -> dict[str, Any]:
    """Parse a PNG strictly (signature, chunk CRCs, IHDR, complete IDAT stream) and decode its
    pixels (8-bit RGB or RGBA, non-interlaced: what chromium writes). Returns width, height and
    ``pixels``: one bytes object per row, ``channels`` bytes per pixel."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG (bad signature)"
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"PNG chunk {kind!r} has a bad CRC"
        chunks.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    assert chunks and chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND", "PNG without IHDR/IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG format {depth=} {colour=}"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    assert len(raw) == height * (stride + 1), "PNG image data has the wrong size"
    rows: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1:start + 1 + stride]
        rows.append(prev := _unfilter(kind, line, prev, channels))
    return {"width": width, "height": height, "channels": channels, "pixels": rows}


def _unfilter(kind: int, line: bytes, prev: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    if kind == 2:
        return bytes((a + b) & 255 for a, b in zip(line, prev, strict=True))
    out = bytearray(line)
    n = len(out)
    if kind == 1:
        for i in range(bpp, n):
            out[i] = (out[i] + out[i - bpp]) & 255
    elif kind == 3:
        for i in range(n):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(n):
            a = out[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    else:
        raise AssertionError(f"bad PNG filter type {kind}")
    return bytes(out)


def png_colours(info: dict[str, Any], step: int = 2) -> set[bytes]:
    """Distinct pixel colours, sampling every ``step``-th pixel of every ``step``-th row."""
    ch = info["channels"]
    out: set[bytes] = set()
    for row in info["pixels"][::step]:
        for x in range(0, len(row), ch * step):
            out.add(row[x:x + ch])
    return out
