"""Watchlist models and validation: the real file loads; every problem is reported with its location."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from router.core.watchlist import Watchlist, WatchlistError, load_watchlist_dict

WATCHLIST = Path(__file__).resolve().parents[2] / "router" / "data" / "watchlist.yaml"
Doc = dict[str, Any]


def real_document() -> Doc:
    with WATCHLIST.open(encoding="utf-8") as f:
        data: Doc = yaml.safe_load(f)
    return data


def group(doc: Doc, gid: str) -> Doc:
    found: Doc = next(g for g in doc["groups"] if g["id"] == gid)
    return found


def index(doc: Doc, gid: str) -> int:
    return next(i for i, g in enumerate(doc["groups"]) if g["id"] == gid)


def test_the_real_watchlist_loads() -> None:
    watchlist = load_watchlist_dict(real_document())
    ids = [g.id for g in watchlist.groups]
    assert len(ids) == 20 and len(set(ids)) == 20
    ttp = next(g for g in watchlist.groups if g.id == "TTP")
    assert ttp.authorities == ("PK", "UK", "UN", "US")
    assert ttp.designations[0].date == "2011-07-29"  # YAML date object -> ISO string
    assert ttp.designations[3].date == "2011-01"
    assert ttp.not_followed_by["Tehrik-e-Taliban"] == ("Afghanistan",)
    assert watchlist.umbrella_names[0].covers == ("BLA", "BLF", "BRA", "BRAS")


def test_the_model_is_frozen_all_the_way_down() -> None:
    watchlist = load_watchlist_dict(real_document())
    ttp = watchlist.groups[0]
    with pytest.raises(pydantic.ValidationError):
        ttp.id = "X"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ttp.scripts["xx"] = ("y",)  # type: ignore[index]
    assert isinstance(ttp.aliases, tuple)


def test_dump_and_reload_round_trip() -> None:
    watchlist = load_watchlist_dict(real_document())
    dumped = watchlist.model_dump(by_alias=True)
    assert dumped["groups"][0]["designations"][0]["list"].startswith("UN Security Council")
    assert load_watchlist_dict(dumped) == watchlist
    assert isinstance(Watchlist.model_json_schema(), dict)


def _set(gid: str, path: tuple[Any, ...], value: Any) -> Callable[[Doc], None]:
    """Set ``path`` inside group ``gid`` to ``value``."""

    def edit(doc: Doc) -> None:
        target: Any = group(doc, gid)
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _append(gid: str, field: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: group(doc, gid)[field].append(value)


# Each case: an edit of the real document and the problem line it must produce ({i} is the group's index).
CASES: list[tuple[str, Callable[[Doc], None], str, str]] = [
    ("unknown authority", _set("BLF", ("designations", 0, "authority"), "XX"), "BLF",
     "groups[{i}].designations[0].authority: unknown authority 'XX'"),
    ("bad month", _set("BRA", ("designations", 0, "date"), "2019-13"), "BRA",
     "groups[{i}].designations[0].date: not a calendar date: '2019-13'"),
    ("unquoted year", _set("BRA", ("designations", 0, "date"), 2019), "BRA",
     "groups[{i}].designations[0].date: expected YYYY-MM-DD, or a quoted 'YYYY-MM' / 'YYYY' string, got 2019"),
    ("datetime is not a date", _set("BRA", ("designations", 0, "date"), dt.datetime(2019, 1, 1)), "BRA",
     "groups[{i}].designations[0].date: expected YYYY-MM-DD"),
    ("source not http", _set("LET", ("designations", 0, "source"), "ftp://example.org/x"), "LET",
     "groups[{i}].designations[0].source: not an http(s) URL: 'ftp://example.org/x'"),
    ("source kind", _set("LET", ("designations", 0, "source_kind"), "blog"), "LET",
     "groups[{i}].designations[0].source_kind: Input should be 'official' or 'secondary'"),
    ("id pattern", _set("HM", ("id",), "hm"), "HM", "groups[{i}].id: String should match pattern"),
    ("missing name", lambda d: group(d, "JEM").pop("name"), "JEM", "groups[{i}].name: field required"),
    ("unknown field", _set("JEM", ("colour",), "red"), "JEM",
     "groups[{i}].colour: extra inputs are not permitted"),
    ("empty aliases", _set("TRF", ("aliases",), []), "TRF", "groups[{i}].aliases: must not be empty"),
    ("empty designations", _set("TRF", ("designations",), []), "TRF",
     "groups[{i}].designations: must not be empty"),
    ("exact_case not an alias", _append("BLA", "exact_case", "BLAH"), "BLA",
     "groups[{i}].exact_case[1]: 'BLAH' is not in aliases"),
    ("exact_case shadowed", _append("LET", "aliases", "Let"), "LET",
     "groups[{i}].exact_case[0]: 'LeT' matches like an alias that is not exact_case"),
    ("ambiguous alias", _append("TTP", "aliases", "Taleban"), "TTP",
     "groups[{i}].aliases[18]: 'Taleban' is listed as ambiguous (ambiguous[1])"),
    ("ambiguous after folding", _append("ISKP", "aliases", "I.S.I.S"), "ISKP",
     "groups[{i}].aliases[32]: 'I.S.I.S' is listed as ambiguous (ambiguous[6])"),
    ("shared alias", _append("BRA", "aliases", "Baloch Liberation Front"), "BRA",
     "groups[{i}].aliases[5]: 'Baloch Liberation Front' is also a name of group 'BLF'"),
    ("umbrella name as alias", _append("BLA", "aliases", "Fitna-e-Hindustan"), "BLA",
     "groups[{i}].aliases[10]: 'Fitna-e-Hindustan' is also an umbrella name (umbrella_names[0].variants[1])"),
    ("no letters", _append("HM", "aliases", "--"), "HM", "groups[{i}].aliases[4]: '--' has no letters or digits"),
    ("hard punctuation", _append("HM", "aliases", "Hizb, ul"), "HM",
     "groups[{i}].aliases[4]: 'Hizb, ul' contains punctuation that the matcher treats as a boundary"),
    ("context of a non-name", _set("HM", ("not_followed_by",), {"Nope": ["x"]}), "HM",
     "groups[{i}].not_followed_by: 'Nope' is not a name of this group"),
    ("script key", _set("HM", ("scripts", "Urdu"), ["x"]), "HM",
     "groups[{i}].scripts.Urdu (key): String should match pattern"),
    ("hashtag with #", _append("TLP", "hashtags", "#TLP"), "TLP", "groups[{i}].hashtags[1]: String should match"),
    ("duplicate id", _set("BLF", ("id",), "BLA"), "BLF", "groups[{i}].id: duplicate id 'BLA' (first at groups[2])"),
]


@pytest.mark.parametrize(("edit", "gid", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_reported_with_its_location(edit: Callable[[Doc], None], gid: str, expected: str) -> None:
    doc = real_document()
    i = index(doc, gid)
    edit(doc)
    with pytest.raises(WatchlistError) as caught:
        load_watchlist_dict(doc)
    assert any(p.startswith(expected.format(i=i)) for p in caught.value.problems), caught.value.problems
    assert isinstance(caught.value, ValueError)


def test_every_problem_is_reported_at_once() -> None:
    doc = real_document()
    chosen = [c for c in CASES if c[0] in ("unknown authority", "bad month", "source not http", "id pattern",
                                            "exact_case not an alias", "ambiguous alias")]
    for _, edit, _, _ in chosen:
        edit(doc)
    doc["umbrella_names"][0]["covers"].append("ZZZ")
    with pytest.raises(WatchlistError) as caught:
        load_watchlist_dict(doc)
    problems = caught.value.problems
    assert len(problems) == len(chosen) + 1, problems
    assert "umbrella_names[0].covers[4]: unknown group id 'ZZZ'" in problems
    assert str(caught.value).count("\n") == len(problems)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "(document): expected a mapping, got list"),
        ({}, "version: field required"),
        ({"version": 2, "groups": []}, "version: Input should be 1"),
        ({"version": 1, "groups": []}, "groups: must not be empty"),
    ],
)
def test_document_level_problems(document: Any, expected: str) -> None:
    with pytest.raises(WatchlistError) as caught:
        load_watchlist_dict(document)
    assert expected in caught.value.problems


@pytest.mark.parametrize("date", ["2019", "2019-08", "2019-08-23", dt.date(2019, 8, 23)])
def test_partial_dates_are_accepted(date: Any) -> None:
    doc = real_document()
    group(doc, "BRAS")["designations"][0]["date"] = date
    loaded = load_watchlist_dict(doc)
    assert next(g for g in loaded.groups if g.id == "BRAS").designations[0].date == str(date)


def test_a_shared_alias_declared_as_umbrella_is_allowed() -> None:
    doc = real_document()
    group(doc, "BLA")["aliases"].append("Baloch Sarmachar")
    group(doc, "BLF")["aliases"].append("Baloch Sarmachar")
    doc["umbrella_names"].append({"name": "Baloch Sarmachar", "covers": ["BLA", "BLF"]})
    assert load_watchlist_dict(copy.deepcopy(doc)).umbrella_names[-1].all_names == ("Baloch Sarmachar",)
