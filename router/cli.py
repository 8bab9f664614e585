"""``router``: the command line.

  router worker                 run the worker (settings from ROUTER_* variables)
  router dev                    embedded broker + topics + worker + demo feed, with a live summary
  router topics create          create the router's topics (idempotent)
  router send FILE.jsonl        publish reports (one JSON object per line, or dev.jsonl cases)
  router schemas export         write the JSON Schema files of the event contracts
  router eval FILE.jsonl        precision and recall of the enrichment on a labelled file
  router report                 compliance scorecard from the metrics topic
  router bench                  throughput and latency against the raw client baseline
  router native build|status    compile intake's pure modules with mypyc (make install does it)

Exit status: 0 on success, 2 for a configuration error (one line on stderr), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def _die(message: str, status: int = 2) -> int:
    print(f"router: {message}", file=sys.stderr)
    return status


def cmd_worker(args: argparse.Namespace) -> int:
    from router.worker import run_worker

    return run_worker()


def cmd_dev(args: argparse.Namespace) -> int:
    from router.dev import run_dev

    return run_dev(rate=args.rate, duration=args.duration, web_port=args.web_port, count=args.count)


def cmd_topics(args: argparse.Namespace) -> int:
    from router.config import ConfigError, load_registry
    from router.kafka import TopicLayoutError, ensure_topics
    from router.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        registry = load_registry(settings)
        result = asyncio.run(ensure_topics(settings, registry.ids))
    except (SettingsError, ConfigError, TopicLayoutError) as exc:
        return _die(str(exc))
    for name, state in sorted(result.items()):
        print(f"{state:8} {name}")
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from router.send import send_file
    from router.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        return _die(str(exc))
    try:
        n = asyncio.run(send_file(settings, Path(args.file), topic=args.topic, rate=args.rate))
    except FileNotFoundError:
        return _die(f"no such file: {args.file}", 1)
    except ValueError as exc:
        return _die(str(exc), 1)
    print(f"sent {n} record(s) to {args.topic or settings.topic_submitted}")
    return 0


def cmd_native(args: argparse.Namespace) -> int:
    from router.native import run

    return run(args.action, if_stale=args.if_stale, verbose=args.verbose)


def cmd_schemas(args: argparse.Namespace) -> int:
    from schemas.export import JSON_DIR, export

    for path in export(Path(args.dir) if args.dir else JSON_DIR):
        print(path)
    return 0


def _lazy(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), func)(args))

    return run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="router", description="Report router for terrorist content online.")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("worker", help="run the worker").set_defaults(func=cmd_worker)

    dev = sub.add_parser("dev", help="embedded broker, topics, worker and a demo feed")
    dev.add_argument("--rate", type=float, default=20.0, help="demo reports per second (default 20)")
    dev.add_argument("--count", type=int, default=None, help="stop the feed after this many reports")
    dev.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    dev.add_argument("--web-port", type=int, default=6066, help="worker web port (default 6066)")
    dev.set_defaults(func=cmd_dev)

    topics = sub.add_parser("topics", help="topic administration")
    tsub = topics.add_subparsers(dest="action", required=True)
    tsub.add_parser("create", help="create the router's topics (idempotent)").set_defaults(func=cmd_topics)

    send = sub.add_parser("send", help="publish reports from a JSON-lines file")
    send.add_argument("file")
    send.add_argument("--topic", default=None, help="topic (default ROUTER_TOPIC_SUBMITTED)")
    send.add_argument("--rate", type=float, default=None, help="records per second (default: as fast as possible)")
    send.set_defaults(func=cmd_send)

    ev = sub.add_parser("eval", help="precision and recall of the enrichment on labelled files")
    ev.add_argument("files", nargs="+", metavar="FILE.jsonl")
    ev.add_argument("--banned", default=None, help="CSV of platform,account known banned accounts (mirror cases)")
    ev.add_argument("--min-precision", type=float, default=0.0, help="exit 1 if groups/origins precision is lower")
    ev.add_argument("--min-recall", type=float, default=0.0, help="exit 1 if groups/origins recall is lower")
    ev.add_argument("--quiet", action="store_true", help="figures only, no list of misses")
    ev.set_defaults(func=_lazy("router.evaluate", "run_eval"))

    from router.bench import add_parser as add_bench
    from router.report import add_parser as add_report

    add_bench(sub)
    add_report(sub)

    native = sub.add_parser("native", help="intake's pure modules compiled with mypyc (router/native.py)")
    native.add_argument("action", choices=("build", "status", "clean"))
    native.add_argument("--if-stale", action="store_true", help="build only when the compiled modules are missing "
                        "or were built from other sources")
    native.add_argument("--verbose", action="store_true", help="show the compiler's commands")
    native.set_defaults(func=cmd_native)

    schemas = sub.add_parser("schemas", help="event contract schemas")
    ssub = schemas.add_subparsers(dest="action", required=True)
    export = ssub.add_parser("export", help="write the JSON Schema files")
    export.add_argument("--dir", default=None, help="directory (default: schemas/json in the source tree)")
    export.set_defaults(func=cmd_schemas)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
