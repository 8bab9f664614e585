from __future__ import annotations

from router.core.evaluation import Expectation, Outcome, score


def expect(case_id, route, groups=(), origins=(), **kw):
    return Expectation(case_id, route, frozenset(groups), frozenset(origins), **kw)


def got(route, groups=(), origins=(), **kw):
    return Outcome(route, frozenset(groups), frozenset(origins), **kw)


def test_scores_and_misses() -> None:
    report = score([
        (expect("a", "x", ["TTP"], ["PK"]), got("x", ["TTP"], ["PK"])),
        (expect("b", "x", ["TTP", "BLA"]), got("x", ["TTP"])),                 # one missed group
        (expect("c", "x", []), got("x", ["LET"], evidence="LET<-LET")),          # one false group
        (expect("d", "review"), got("x")),                                       # wrong route
        (expect("e", "dlq"), got("dlq")),
        (expect("f", "x", mirror_of="ttp_media", checks_mirror=True), got("x", mirror_of="ttp_media")),
    ])
    g = report.fields["groups"]
    assert (g.tp, g.fp, g.fn) == (2, 1, 1)
    assert g.precision == 2 / 3 and g.recall == 2 / 3
    r = report.fields["route"]
    assert (r.tp, r.fp, r.fn) == (5, 1, 1)
    assert report.fields["mirror_of"].tp == 1
    assert len(report.misses) == 3
    assert "c: groups ['LET'], expected [] [evidence: LET<-LET]" in report.misses


def test_empty_fields_are_perfect_not_undefined() -> None:
    report = score([(expect("a", "x"), got("x"))])
    assert report.fields["origins"].precision == 1.0 and report.fields["origins"].recall == 1.0
