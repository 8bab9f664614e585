"""From a validated report to everything the router needs to route it: target and case id,
groups with evidence, origins, mirror evidence, priority and requested actions.

Pure: the watchlist matcher, the IP table and the banned-account index come in as arguments.
The result holds no personal data: the reporter is dropped and signals become country tags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from router.core.origins import IpCountryLookup, tag_origins
from router.core.platforms import UNKNOWN, PlatformRegistry
from router.core.policy import Priority
from router.core.priority import priority_for, requested_actions
from router.core.targets import Target, resolve_target, url_for_names


class GroupMatcherLike(Protocol):
    def match(self, text: str | None, account: str | None = None, url: str | None = None) -> tuple[Any, ...]: ...


class MirrorIndexLike(Protocol):
    def find(self, platform: str, account: str) -> Any: ...


class ReportLike(Protocol):
    report_id: str
    url: str | None
    platform: str | None
    account: str | None
    text: str | None
    severity: str
    legal_basis: list[str]
    signals: Any


class Enriched(NamedTuple):
    """A report ready for its case: what goes into ``report.routed/v1`` plus the ids.

    Immutable; a named tuple because one is made per report (a frozen dataclass costs four
    times as much to build)."""

    report_id: str
    case_id: str
    platform: str
    url: str | None
    account: str | None
    kind: str
    groups: tuple[dict[str, Any], ...]
    origins: tuple[dict[str, str], ...]
    mirror_of: dict[str, Any] | None
    priority: Priority
    requested_actions: tuple[str, ...]
    legal_basis: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Enriched:
        return cls(
            report_id=data["report_id"], case_id=data["case_id"], platform=data["platform"], url=data["url"],
            account=data["account"], kind=data["kind"], groups=tuple(data["groups"]),
            origins=tuple(data["origins"]), mirror_of=data["mirror_of"], priority=data["priority"],
            requested_actions=tuple(data["requested_actions"]), legal_basis=tuple(data["legal_basis"]),
        )


class Enricher:
    """Holds the data the enrichment needs; ``enrich`` is a pure function of the report."""

    def __init__(self, registry: PlatformRegistry, matcher: GroupMatcherLike, ip_lookup: IpCountryLookup,
                 mirrors: MirrorIndexLike | None = None) -> None:
        self.registry = registry
        self.matcher = matcher
        self.ip_lookup = ip_lookup
        self.mirrors = mirrors
        # requested actions depend on three categorical values only (kind, review or not, mirror):
        # each combination is computed once, on first use
        self._actions: dict[tuple[str, bool, bool], tuple[str, ...]] = {}

    def _requested_actions(self, kind: str, platform: str, mirror: bool) -> tuple[str, ...]:
        key = (kind, platform == UNKNOWN, mirror)
        actions = self._actions.get(key)
        if actions is None:
            actions = self._actions[key] = tuple(requested_actions(kind, platform, mirror))
        return actions

    def enrich(self, report: ReportLike) -> Enriched:
        """Raises ``router.core.urls.UrlError`` when the target cannot be resolved."""
        result = self.enrich_many((report,))[0]
        if isinstance(result, Exception):
            raise result
        return result

    def enrich_many(self, reports: Sequence[ReportLike]) -> list[Enriched | Exception]:
        """``enrich`` of each report, in order; an exception raised for a report is returned in its place.

        The work runs stage by stage over the whole batch (every target, then every group match, the
        origins, the mirrors, then the results) rather than report by report: each stage's code and data
        stay hot in the CPU caches, which makes a batch of a few hundred reports about a third cheaper
        than the same reports one at a time (``bench/bench_enrichment.py``). The results are the same.
        """
        registry = self.registry
        targets: list[Target | Exception] = []
        for report in reports:
            try:
                targets.append(resolve_target(report.url, report.platform, report.account, registry))
            except Exception as exc:  # returned in the report's place
                targets.append(exc)
        match = self.matcher.match
        tagged: list[tuple[Any, ...] | Exception] = []
        for report, target in zip(reports, targets, strict=True):
            if isinstance(target, Exception):
                tagged.append(target)
                continue
            try:
                tagged.append(match(report.text, report.account, url_for_names(report.url, target)))
            except Exception as exc:
                tagged.append(exc)
        origins = [self._origins(report.signals) for report in reports]
        mirrors = self.mirrors
        found: list[Any] = []
        for target in targets:
            if mirrors is None or isinstance(target, Exception) or not target.account or target.platform == UNKNOWN:
                found.append(None)
                continue
            try:
                found.append(mirrors.find(target.platform, target.account))
            except Exception as exc:
                found.append(exc)
        results: list[Enriched | Exception] = []
        for report, target, tags, origin, mirror in zip(reports, targets, tagged, origins, found, strict=True):
            # the first failure of a report, in stage order, is its result
            failed = (target if isinstance(target, Exception) else tags if isinstance(tags, Exception)
                      else origin if isinstance(origin, Exception) else mirror if isinstance(mirror, Exception)
                      else None)
            if failed is None:
                try:
                    results.append(self._result(report, target, tags, origin, mirror))  # type: ignore[arg-type]
                except Exception as exc:
                    results.append(exc)
            else:
                results.append(failed)
        return results

    def _origins(self, signals: Any) -> tuple[dict[str, str], ...] | Exception:
        if signals is None:
            return ()
        try:
            return tuple([
                {"country": o.country, "signal": o.signal}
                for o in tag_origins({"phone": signals.phone, "ip": signals.ip, "country": signals.country},
                                     self.ip_lookup)
            ])
        except Exception as exc:
            return exc

    def _result(self, report: ReportLike, target: Target, tags: tuple[Any, ...],
                origins: tuple[dict[str, str], ...], found: Any) -> Enriched:
        groups = tuple([
            {"id": t.id, "name": t.name, "matched": list(t.matched), "designations": list(t.designations)}
            for t in tags
        ]) if tags else ()
        mirror = {"account": found.account, "evidence": list(found.evidence)} if found is not None else None
        mirrored = mirror is not None
        legal_basis = report.legal_basis
        priority = priority_for(report.severity, legal_basis, [t.designations for t in tags] if tags else (), mirrored)
        kind, platform = target.kind, target.platform
        return Enriched(  # positional, in field order: report_id, case_id, platform, url, account, kind, groups,
            # origins, mirror_of, priority, requested_actions, legal_basis
            report.report_id, target.case_id, platform, target.url, target.account, kind, groups, origins, mirror,
            priority, self._requested_actions(kind, platform, mirrored), tuple(legal_basis) if legal_basis else (),
        )
