"""Scoring enrichment against labelled cases: precision and recall per field.

Fields: ``route`` (one label per case: a platform id, ``review`` or ``dlq``), ``groups`` and
``origins`` (sets per case, scored over (case, label) pairs, micro-averaged), and ``mirror_of``
(for the cases that state an expectation). Pure: the caller runs the router's decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the router decided for one case."""

    route: str
    groups: frozenset[str] = frozenset()
    origins: frozenset[str] = frozenset()
    mirror_of: str | None = None
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class Expectation:
    case_id: str
    route: str
    groups: frozenset[str]
    origins: frozenset[str]
    mirror_of: str | None = None
    checks_mirror: bool = False


@dataclass(slots=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add_sets(self, expected: Iterable[str], got: Iterable[str]) -> None:
        e, g = set(expected), set(got)
        self.tp += len(e & g)
        self.fp += len(g - e)
        self.fn += len(e - g)


@dataclass(slots=True)
class Report:
    cases: int = 0
    fields: dict[str, Score] = field(default_factory=lambda: {f: Score() for f in ("route", "groups", "origins",
                                                                                   "mirror_of")})
    misses: list[str] = field(default_factory=list)


def score(pairs: Sequence[tuple[Expectation, Outcome]]) -> Report:
    """Route: a case counts as a true positive of its predicted label when right, else as a false
    positive of the predicted label and a false negative of the expected one (so micro precision
    and recall both equal accuracy). Sets: over (case, label) pairs."""
    report = Report()
    for expect, got in pairs:
        report.cases += 1
        problems = []
        route = report.fields["route"]
        if expect.route == got.route:
            route.tp += 1
        else:
            route.fp += 1
            route.fn += 1
            problems.append(f"route {got.route!r}, expected {expect.route!r}")
        if expect.route != "dlq" and got.route != "dlq":
            for name, e, g in (("groups", expect.groups, got.groups), ("origins", expect.origins, got.origins)):
                report.fields[name].add_sets(e, g)
                if set(e) != set(g):
                    problems.append(f"{name} {sorted(g)}, expected {sorted(e)}")
            if expect.checks_mirror:
                m = report.fields["mirror_of"]
                m.add_sets([expect.mirror_of] if expect.mirror_of else [], [got.mirror_of] if got.mirror_of else [])
                if expect.mirror_of != got.mirror_of:
                    problems.append(f"mirror_of {got.mirror_of!r}, expected {expect.mirror_of!r}")
        if problems:
            detail = f" [evidence: {got.evidence}]" if got.evidence else ""
            report.misses.append(f"{expect.case_id}: " + "; ".join(problems) + detail)
    return report
