"""Group tagging: which groups a report names, with which evidence, and what must never tag."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core.groups import (
    MAX_EVIDENCE,
    MAX_EVIDENCE_CHARS,
    GroupMatcher,
    GroupTag,
    _bounds,
    _evidence,
    _evidence_of,
)
from router.core.watchlist import load_watchlist_dict

ROOT = Path(__file__).resolve().parents[2]
DEV_CORPUS = ROOT / "tests" / "data" / "dev.jsonl"  # a copy of shared/corpus/dev.jsonl
OWN_CASES = ROOT / "tests" / "data" / "enrichment_groups_dev.jsonl"


def real_document() -> dict[str, Any]:
    with (ROOT / "router" / "data" / "watchlist.yaml").open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


@cache
def matcher() -> GroupMatcher:
    return GroupMatcher(load_watchlist_dict(real_document()))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _dev_corpus() -> list[dict[str, Any]]:
    return [c for c in _jsonl(DEV_CORPUS) if "event" in c]


@pytest.mark.parametrize("case", _dev_corpus(), ids=lambda c: c["id"])
def test_dev_corpus_groups(case: dict[str, Any]) -> None:
    event = case["event"]
    tags = matcher().match(event.get("text"), event.get("account"), event.get("url"))
    assert [t.id for t in tags] == case["expect"]["groups"]


@pytest.mark.parametrize("case", _jsonl(OWN_CASES), ids=lambda c: c["id"])
def test_own_cases(case: dict[str, Any]) -> None:
    tags = matcher().match(case["text"], case["account"], case["url"])
    assert [t.id for t in tags] == case["groups"]
    if "matched" in case:
        assert {t.id: list(t.matched) for t in tags} == case["matched"]


@pytest.mark.parametrize(
    ("text", "account", "url", "expected"),
    [
        ("Tehrik-e-Taliban Pakistan claimed the ambush", None, None, {"TTP": ("Tehrik-e-Taliban Pakistan",)}),
        ("statement of the TTP spokesman", None, None, {"TTP": ("TTP",)}),
        ("Islamic State Khorasan (IS-K) video", None, None, {"ISKP": ("Islamic State Khorasan", "IS-K")}),
        ("BLA claims the convoy attack", None, None, {"BLA": ("BLA",)}),
        (None, "@tehreek_e_taliban_pk", None, {"TTP": ("@tehreek_e_taliban_pk",)}),
        ("#BLA and #BLA again, B.L.A", None, None, {"BLA": ("#BLA", "B.L.A")}),
        ("TTP TTP TTP", "ttp", "https://t.me/ttp/1", {"TTP": ("TTP", "ttp")}),
    ],
)
def test_evidence(text: str | None, account: str | None, url: str | None, expected: dict[str, tuple[str, ...]]) -> None:
    assert {t.id: t.matched for t in matcher().match(text, account, url)} == expected


def test_tags_carry_name_and_designations() -> None:
    (tag,) = matcher().match("TTP")
    assert tag == GroupTag("TTP", "Tehrik-i-Taliban Pakistan", ("TTP",), ("PK", "UK", "UN", "US"))
    (tag,) = matcher().match("ISKP")
    assert tag.designations == ("IN", "UN", "US")


def test_evidence_is_capped() -> None:
    text = " ".join(["TTP", "T.T.P", "T-T-P", "ttp_a", "ttp_b", "ttp_c", "#TTP"]) + " @ttp_" + "x" * 200
    (tag,) = matcher().match(text)
    assert len(tag.matched) == MAX_EVIDENCE
    assert tag.matched == ("TTP", "T.T.P", "T-T-P", "ttp_a", "ttp_b")
    (tag,) = matcher().match("@ttp_" + "x" * 200)
    assert len(tag.matched[0]) == MAX_EVIDENCE_CHARS


def test_nothing_in_nothing_out() -> None:
    assert matcher().match(None) == ()
    assert matcher().match("", "", "") == ()
    assert matcher().match("an ordinary report about cricket", "@cricket_fan", "https://x.com/a/status/1") == ()


def test_alias_count() -> None:
    # 239 distinct (group, matching form) names in the real watchlist: fewer than the 247 names of the
    # docs because spellings that fold together (LeT/LET, IS-K/ISK's forms...) count once.
    assert matcher().alias_count == 239


def _small_watchlist(**extra: Any) -> dict[str, Any]:
    designation = {"authority": "PK", "list": "x", "date": "2020", "source": "https://example.org",
                   "source_kind": "secondary"}
    groups = [
        {"id": "AAA", "name": "Alpha Front", "aliases": ["Alpha Front", "AAF"], "designations": [designation]},
        {"id": "BBB", "name": "Bravo Army", "aliases": ["Bravo Army"], "designations": [designation]},
    ]
    for g in groups:
        g.update(extra.get(g["id"], {}))
    return {"version": 1, "groups": groups, "umbrella_names": extra.get("umbrella_names", []),
            "ambiguous": extra.get("ambiguous", [])}


def test_an_ambiguous_phrase_blocks_a_name_inside_it() -> None:
    m = GroupMatcher(load_watchlist_dict(_small_watchlist(ambiguous=["Alpha Front Museum"])))
    assert m.match("the Alpha Front Museum opened") == ()
    assert [t.id for t in m.match("Alpha Front claimed it")] == ["AAA"]


def test_umbrella_names_only_add_evidence() -> None:
    doc = _small_watchlist(umbrella_names=[{"name": "Fitna Example", "covers": ["AAA", "BBB"]}])
    m = GroupMatcher(load_watchlist_dict(doc))
    assert m.match("Fitna Example strikes") == ()
    (tag,) = m.match("Fitna Example (Bravo Army) strikes")
    assert tag.matched == ("Bravo Army", "Fitna Example")


def test_context_rules() -> None:
    doc = _small_watchlist(AAA={"not_preceded_by": {"AAF": ["<number>", "Old"]}, "not_followed_by": {"AAF": ["Bank"]}})
    m = GroupMatcher(load_watchlist_dict(doc))
    assert m.match("500 AAF") == ()
    assert m.match("old AAF") == ()
    assert m.match("AAF bank") == ()
    assert m.match("AAF, bank") != ()  # a hard boundary ends the context
    assert [t.id for t in m.match("the AAF cell")] == ["AAA"]


def test_cost_does_not_depend_on_the_number_of_names() -> None:
    """Behaviour with many names: still exactly the named groups, found in one automaton pass."""
    doc = _small_watchlist()
    designation = doc["groups"][0]["designations"]
    for n in range(2000):
        doc["groups"].append({"id": f"G{n}", "name": f"Group {n}", "aliases": [f"Kilo{_letters(n)} Brigade"],
                              "designations": designation})
    m = GroupMatcher(load_watchlist_dict(doc))
    assert m.alias_count == 2003
    text = f"Kilo{_letters(42)} Brigade and #Kilo{_letters(1999)}Brigade and Bravo Army"
    assert [t.id for t in m.match(text)] == ["BBB", "G1999", "G42"]


def _letters(n: int) -> str:
    return "".join("abcdefghjkmnoqrsuvwxyz"[int(d)] for d in f"{n:04d}")


printable = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
anything = st.one_of(st.none(), st.text(max_size=300))
names = st.sampled_from(["TTP", "T.T.P", "#BLA", "ISKP", "لشکر طیبہ", "IS-K", "Tehrik-e-Taliban", "ТТР", "bla"])


@settings(max_examples=400, deadline=None)
@given(anything, anything, anything)
def test_match_never_raises_and_is_deterministic(text: str | None, account: str | None, url: str | None) -> None:
    first = matcher().match(text, account, url)
    assert first == matcher().match(text, account, url)
    assert [t.id for t in first] == sorted({t.id for t in first})
    _check_evidence(first, text, account, url)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(names, printable), max_size=8), anything)
def test_names_in_noise(parts: list[str], account: str | None) -> None:
    text = " ".join(parts)
    tags = matcher().match(text, account)
    assert [t.id for t in tags] == sorted({t.id for t in tags})
    _check_evidence(tags, text, account, None)


def _check_evidence(tags: tuple[GroupTag, ...], text: str | None, account: str | None, url: str | None) -> None:
    sources = [s for s in (text, account, url, unquote(url, errors="replace") if url else None) if s]
    for tag in tags:
        assert 1 <= len(tag.matched) <= MAX_EVIDENCE
        assert len(set(tag.matched)) == len(tag.matched)
        for evidence in tag.matched:
            assert 0 < len(evidence) <= MAX_EVIDENCE_CHARS
            assert any(evidence in s or evidence == s.strip()[:MAX_EVIDENCE_CHARS] for s in sources)
        assert tag.designations == tuple(sorted(set(tag.designations)))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.one_of(st.none(), st.text(max_size=10)), st.one_of(st.none(), st.text(max_size=20)),
       st.data())
def test_evidence_fast_path_equals_the_bounds_lookup(
    text: str, account: str | None, url: str | None, data: st.DataObject
) -> None:
    """``_evidence_of`` skips building the input bounds for a hit in the text; the result must not change."""
    source = "\n".join(filter(None, (text, account, url)))
    if not source:
        return
    a = data.draw(st.integers(0, len(source) - 1))
    end = source.find("\n", a)  # a hit never crosses the line break between two inputs
    end = len(source) if end < 0 else end
    if end == a:
        return
    b = data.draw(st.integers(a + 1, end))
    inputs = (text, account, url)
    assert _evidence_of(source, a, b, inputs) == _evidence(source, a, b, _bounds(*inputs))


def test_a_plus_in_a_query_string_is_a_space_and_hum_network_is_not_the_group() -> None:
    ids = lambda *a: [t.id for t in matcher().match(*a)]  # noqa: E731
    assert ids(None, None, "https://www.youtube.com/results?search_query=tehreek+e+taliban+pakistan") == ["TTP"]
    assert ids(None, None, "https://t.me/+tehreek") == []  # a path keeps its plus (an invite link)
    assert ids("HUM News reported a blast; watch the drama on HUM TV") == []
    assert ids("HUM Network Limited") == []
    assert ids("HUM claimed the attack") == ["HUM"]
