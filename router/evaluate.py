"""``router eval FILE.jsonl``: run the router's decode and enrichment over labelled cases (the
format of tests/data/CORPUS.md) and print precision and recall per field, then every miss.

Uses the same data as the worker (``ROUTER_WATCHLIST``, ``ROUTER_PLATFORMS``); ``--banned`` names
a CSV of ``platform,account`` lines of known banned accounts for mirror cases.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from router.config import ConfigError, load_config
from router.core.enrich import Enricher
from router.core.evaluation import Expectation, Outcome, Report, score
from router.core.mirrors import BannedIndex, canonical_account
from router.core.platforms import UNKNOWN
from router.decode import Rejection, decode_report
from router.settings import SettingsError, load_settings


def load_cases(path: Path) -> list[tuple[Expectation, bytes]]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
            expect = data["expect"]
            raw = data["raw"].encode() if "raw" in data else json.dumps(data["event"], ensure_ascii=False).encode()
            cases.append((Expectation(
                case_id=str(data.get("id", f"line{number}")), route=expect["route"],
                groups=frozenset(expect.get("groups", ())), origins=frozenset(expect.get("origins", ())),
                mirror_of=expect.get("mirror_of"), checks_mirror="mirror_of" in expect), raw))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValueError(f"{path}:{number}: not a labelled case (needs id, event or raw, expect.route)") from None
    return cases


def decide(enricher: Enricher, raw: bytes, max_bytes: int) -> Outcome:
    try:
        report = decode_report(raw, max_bytes)
        item = enricher.enrich(report)
    except Rejection:
        return Outcome(route="dlq")
    except ValueError:
        return Outcome(route="dlq")
    evidence = "; ".join(f"{g['id']}<-{'|'.join(g['matched'])}" for g in item.groups)
    return Outcome(
        route="review" if item.platform == UNKNOWN else item.platform,
        groups=frozenset(g["id"] for g in item.groups),
        origins=frozenset(o["country"] for o in item.origins),
        mirror_of=item.mirror_of["account"] if item.mirror_of else None,
        evidence=evidence,
    )


def render(report: Report, name: str, show_misses: bool = True) -> str:
    header = f"{'field':10} {'precision':>9} {'recall':>7} {'tp':>6} {'fp':>5} {'fn':>5}"
    lines = [f"{name}: {report.cases} cases", header]
    for field_name, s in report.fields.items():
        if s.tp + s.fp + s.fn == 0:
            continue
        lines.append(f"{field_name:10} {s.precision:9.3f} {s.recall:7.3f} {s.tp:6} {s.fp:5} {s.fn:5}")
    if show_misses:
        lines.append(f"misses: {len(report.misses)}")
        lines.extend(f"  {m}" for m in report.misses)
    return "\n".join(lines)


def run_eval(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        config = load_config(settings)
    except (SettingsError, ConfigError) as exc:
        print(f"router: {exc}", file=sys.stderr)
        return 2
    banned = BannedIndex()
    if args.banned:
        for line in Path(args.banned).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#") and "," in line:
                platform, account = (part.strip() for part in line.split(",", 1))
                if platform != "platform":
                    banned.add(platform, canonical_account(account))
    enricher = Enricher(config.registry, config.matcher, config.ip_table, banned)
    status = 0
    for file in args.files:
        try:
            cases = load_cases(Path(file))
        except (OSError, ValueError) as exc:
            print(f"router: {exc}", file=sys.stderr)
            return 1
        report = score([(expect, decide(enricher, raw, settings.max_record_bytes)) for expect, raw in cases])
        print(render(report, file, show_misses=not args.quiet))
        for field_name in ("groups", "origins"):
            s = report.fields[field_name]
            if s.precision < args.min_precision or s.recall < args.min_recall:
                status = 1
    return status
