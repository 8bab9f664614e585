"""Logging: structlog, one JSON object per line when not on a terminal, readable on a terminal.

Guarantees (style.md and the security issue):
- personal data never reaches a log in clear: values under personal keys (phone, ip, reporter,
  contact, email, name, signals) are replaced by a keyed hash (HMAC-SHA256 with
  ``ROUTER_LOG_HMAC_KEY``; a random per-process key when unset), which still lets an
  investigator correlate lines without revealing the value;
- tracebacks are rendered without local variables;
- control characters in strings are escaped (no log injection on a terminal);
- Faust's, aiokafka's and mode's own logs go through the same chain.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import logging.config
import os
import re
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, TextIO

import orjson
import structlog

PERSONAL_KEYS = frozenset({"phone", "ip", "reporter", "contact", "email", "name", "signals", "reporter_id"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The same characters as they come out of orjson in a JSON line: C0 controls as escapes (a literal
# backslash before n, t, ... also matches: harmless, it only sends a batch down the careful path),
# the others as raw UTF-8.
_CONTROL_IN_JSON = re.compile(rb"\\[nrtbf]|\\u00[01]|\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]")


def keyed_hash(key: bytes, value: object) -> str:
    digest = hmac.new(key, repr(value).encode(), hashlib.sha256).hexdigest()[:16]
    return f"hmac:{digest}"


class Redactor:
    """structlog processor: personal values become keyed hashes, nested mappings included."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _clean(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, Mapping) and depth < 4:
            return {k: (keyed_hash(self._key, v) if k in PERSONAL_KEYS and v is not None else self._clean(v, depth + 1))
                    for k, v in value.items()}
        return value

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for k in list(event):
            v = event[k]
            if k in PERSONAL_KEYS and v is not None:
                event[k] = keyed_hash(self._key, v)
            elif isinstance(v, Mapping):
                event[k] = self._clean(v)
        return event


def _escape(value: str) -> str:
    """``value`` with control and bidi characters as ``\\uXXXX`` (unchanged when it has none)."""
    if _CONTROL.search(value) is None:
        return value
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", value)


def escape_controls(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Escape control and bidi characters in values (no forged lines or terminal escapes); the
    rendered traceback keeps its own line breaks."""
    for k, v in event.items():
        if k != "exception" and isinstance(v, str):
            event[k] = _escape(v)
    return event


def _orjson_dumps(value: Any, **_: Any) -> bytes:
    return orjson.dumps(value, default=str)


def _shared(key: bytes) -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        Redactor(key),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
        escape_controls,
    ]


def json_output(fmt: str, stream: TextIO) -> bool:
    """Whether the logs are JSON lines: ``json``, or ``auto`` when not on a terminal."""
    return fmt == "json" or (fmt == "auto" and not stream.isatty())


class RecordLog:
    """The per-record log lines of the lanes (``record``, ``response``: ids and outcome).

    With ``stream=None`` each line goes through structlog as it happens (the console format, the
    agent tests). With the worker's binary standard output in JSON mode, the lines of a lane batch
    are collected and written at the end of the batch, in one write: the same JSON objects as
    structlog's (``event``, ``level``, ``timestamp`` and the fields), without the processor chain
    and the flush of every line, which cost a fifth of the worker's time at full speed. The same
    rules hold: control characters are escaped, and a line that would carry a personal key (never
    the case for these fields) goes through structlog, which hashes it.
    """

    __slots__ = ("_lines", "_log", "_stream", "enabled")
    _lines: list[dict[str, Any] | tuple[bytes, int, int]]

    def __init__(self, enabled: bool = True, stream: BinaryIO | None = None) -> None:
        self.enabled = enabled
        self._stream = stream
        self._lines = []
        self._log = structlog.get_logger("router.records")

    def __call__(self, event: str, **fields: Any) -> None:
        if self._stream is None or not PERSONAL_KEYS.isdisjoint(fields):
            self._log.info(event, **fields)
            return
        fields["event"] = event
        self._lines.append(fields)

    @property
    def batched(self) -> bool:
        """Whether lines are collected and written per batch (then ``add`` takes rendered lines)."""
        return self.enabled and self._stream is not None

    def add(self, fragment: bytes, partition: int, offset: int) -> None:
        """A ``record`` line whose fields were rendered beforehand (``record_fragment``, in the
        intake helper that prepared the report), with the record's place in its partition."""
        if self._stream is None:
            self("record", **orjson.loads(b"{" + fragment + b"}"), partition=partition, offset=offset)
            return
        self._lines.append((fragment, partition, offset))

    def flush(self) -> None:
        """Write the lines of the batch (a no-op when they go through structlog)."""
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        stamp_bytes = stamp.encode()
        out = []
        for line in lines:
            if type(line) is tuple:
                out.append(_RENDERED % (line[0], line[1], line[2], stamp_bytes))
            else:
                line["level"] = "info"
                line["timestamp"] = stamp
                out.append(_json_line(line))
        assert self._stream is not None
        self._stream.write(b"".join(out))
        self._stream.flush()


_RENDERED = b'{"event":"record",%b,"partition":%d,"offset":%d,"level":"info","timestamp":"%b"}\n'


def _json_line(fields: dict[str, Any]) -> bytes:
    blob = orjson.dumps(fields, default=str, option=orjson.OPT_APPEND_NEWLINE)
    # (the usual line, ASCII without a backslash or DEL, needs no pattern search: byte scans; an int
    # operand, as a bytes one raises and clears a TypeError inside ``in``)
    if (0x5C not in blob and 0x7F not in blob and blob.isascii()) or _CONTROL_IN_JSON.search(blob) is None:
        return blob
    # rare: escape value by value, as for structlog's lines
    return orjson.dumps({k: _escape(v) if isinstance(v, str) else v for k, v in fields.items()}, default=str,
                        option=orjson.OPT_APPEND_NEWLINE)


def record_fragment(**fields: str) -> bytes:
    """The fields of a ``record`` line as the members of a JSON object (no braces), control
    characters escaped: rendered where the record is prepared, written by ``RecordLog.add``."""
    return _json_line(fields)[1:-2]


def record_log(enabled: bool, level: str, fmt: str, stream: TextIO | None = None) -> RecordLog:
    """The worker's record log: batched JSON lines on ``stream`` (standard output) in JSON mode;
    off when ``ROUTER_LOG_RECORDS`` is off or the level is above INFO."""
    stream = stream or sys.stdout
    enabled = enabled and logging.getLevelName(level) <= logging.INFO
    return RecordLog(enabled, stream.buffer if json_output(fmt, stream) else None)


def configure_logging(level: str = "INFO", fmt: str = "auto", hmac_key: str | None = None,
                      stream: TextIO | None = None) -> dict[str, Any]:
    """Configure structlog and the standard library; returns the ``logging`` dictConfig used,
    so a Faust worker can be given the same configuration. ``stream``: a text file with a
    ``buffer`` (default standard output)."""
    stream = stream or sys.stdout
    key = hmac_key.encode() if hmac_key else os.urandom(32)
    json_out = json_output(fmt, stream)
    shared = _shared(key)
    renderer: Any = (structlog.processors.JSONRenderer(serializer=_orjson_dumps) if json_out
                     else structlog.dev.ConsoleRenderer(colors=False))
    numeric = logging.getLevelName(level)
    if json_out:
        structlog.configure(
            processors=[*shared, renderer],
            wrapper_class=structlog.make_filtering_bound_logger(numeric),
            logger_factory=structlog.BytesLoggerFactory(stream.buffer),
            cache_logger_on_first_use=True,
        )
    else:
        structlog.configure(
            processors=[*shared, renderer],
            wrapper_class=structlog.make_filtering_bound_logger(numeric),
            logger_factory=structlog.PrintLoggerFactory(stream),
            cache_logger_on_first_use=True,
        )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(serializer=lambda v, **kw: _orjson_dumps(v).decode())
                    if json_out else structlog.dev.ConsoleRenderer(colors=False)],
    )
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structlog": {"()": lambda: formatter}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structlog", "stream": stream}},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # chatty below WARNING and never useful to operators
            "aiokafka": {"level": "WARNING"},
            "faust.transport.drivers.aiokafka": {"level": "WARNING"},
            "mode": {"level": "WARNING" if level != "DEBUG" else level},
        },
    }
    logging.config.dictConfig(config)
    return config
