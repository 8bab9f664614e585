"""Tag the watchlist groups a report names, with the evidence.

``GroupMatcher(watchlist)`` compiles every name of every group (aliases, script names, state names, media
wings and publications, hashtags, handles) into one Aho-Corasick automaton, in their matching form
(``textnorm``). ``match(text, account, url)`` folds the three inputs as one string (joined by line breaks,
which are hard boundaries) and runs the automaton once over it, so its cost grows with the input, not with
the number of names; the Python work after that is proportional to the number of candidate hits.

Rules, in the order they apply to a hit:

* Boundaries. A name matches between separators (``TTP`` is not in ``HTTP``/``TTPS``, ``ISK`` is not in
  ``risk``). Keys end with a separator in the automaton, so a name followed by more letters is never even a
  hit; the separator before is checked on the hit. Arabic-script names may also follow an attached
  ``و ف ب ل ال`` prefix. A *long* Latin name (10 letters or more once spaces are removed) is also
  registered squashed and matches anywhere, even inside a longer word: ``#TehreekeTalibanPakistan``,
  ``@tehreeketalibanpk``, ``islamicstatekhorasan``. Short names never match inside words.
* ``exact_case`` acronyms count only when the original letters (after homoglyph folding) have exactly that
  case: ``BLA``, ``#BLA``, ``B.L.A`` tag; ``bla``, ``Bla``, ``B1A`` do not. An acronym repeated right
  after itself (``BLA BLA``) is filler, not a name.
* ``not_followed_by`` / ``not_preceded_by`` of the group drop the hit (``Tehrik-e-Taliban Afghanistan``).
* ``ambiguous`` phrases never tag (they are not names). Where a name occurs inside an ambiguous phrase,
  that phrase is registered too and the name is ignored inside it.
* Umbrella names (``Fitna al-Hindustan``) never tag a group on their own: they add evidence to a covered
  group that the report also names otherwise.

Evidence is the original substring (mapped back through normalisation), widened to the whole hashtag or
handle in text (``#BLA``, ``@BLF_media``), the whole account, or the URL path segment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple
from urllib.parse import unquote

import ahocorasick

from router.core.textnorm import HARD, SOFT, Folded, case_signature, fold_text, is_arabic_script, match_key
from router.core.watchlist import Group, Watchlist

MAX_EVIDENCE: Final = 5
MAX_EVIDENCE_CHARS: Final = 80
LONG_NAME: Final = 10  # squashed length from which a Latin name also matches inside longer words
NUMBER: Final = "<number>"  # context value standing for any number
_BOUNDARIES: Final = SOFT + HARD
_PAD: Final = (SOFT, HARD)
_ARABIC_PREFIXES: Final = frozenset({"و", "ف", "ب", "ل", "ال", "وال", "فال", "بال", "لل", "ولل"})
_BLOCKER: Final = -(10**9)  # entry group index of an ambiguous phrase that contains a name
_JOINERS: Final = frozenset("#@_.-")  # characters that make a name part of a longer token
_UP_TO_URL_DELIMITER: Final = re.compile(r".*[/?#&=]", re.DOTALL)  # greedy: up to the last delimiter
_URL_SEGMENT: Final = re.compile(r"[^/?#&=]*")
_UP_TO_NON_WORD: Final = re.compile(r".*\W", re.DOTALL)
_WORD: Final = re.compile(r"\w*")
_HANDLE_TAIL: Final = re.compile(r"(?:[.\-]\w+)*")


@dataclass(frozen=True, slots=True)
class GroupTag:
    """One group a report names."""

    id: str
    name: str
    matched: tuple[str, ...]  # evidence: the substrings as they appear in the input, e.g. "T.T.P", "#BLA",
    # "@tehreek_e_taliban_pk"; deduplicated, at most 5, each at most 80 chars
    designations: tuple[str, ...]  # sorted unique authority codes, e.g. ("PK", "UK", "UN", "US")


class _Entry(NamedTuple):
    """One group's (or umbrella's, or blocker's) claim on one automaton key."""

    group: int  # index in the matcher's groups (sorted by id); -1 - i for umbrella i; _BLOCKER
    exact: frozenset[str] | None  # accepted case signatures; None: any case
    not_followed_by: tuple[str, ...]  # matching forms, spaced and squashed
    not_preceded_by: tuple[str, ...]
    plain: bool  # no check beyond the boundary rule (precomputed: the hot path reads it per hit)


def _entry(
    group: int, exact: frozenset[str] | None = None, after: tuple[str, ...] = (), before: tuple[str, ...] = ()
) -> _Entry:
    return _Entry(group, exact, after, before, exact is None and not after and not before)


def _forms(phrases: Iterable[str]) -> tuple[str, ...]:
    out: set[str] = set()
    for phrase in phrases:
        key = NUMBER if phrase == NUMBER else match_key(phrase)
        out.update((key, key.replace(SOFT, "")))
    return tuple(sorted(out - {""}))


def _context(group: Group, field: str, key: str) -> tuple[str, ...]:
    phrases = [p for name, ps in getattr(group, field).items() if match_key(name) == key for p in ps]
    return _forms(phrases)


def _variants(name: str) -> list[tuple[str, bool]]:
    """Automaton keys of one name, each with whether it may match inside a longer word."""
    spaced = match_key(name)
    squashed = spaced.replace(SOFT, "")
    long_latin = len(squashed) >= LONG_NAME and not is_arabic_script(spaced)
    keys = [(squashed, True)] if long_latin else []
    if spaced != squashed or not long_latin:
        keys.append((spaced, False))
    if spaced != squashed and not long_latin:
        keys.append((squashed, False))
    return keys


def _merge(a: _Entry, b: _Entry) -> _Entry:
    exact = None if a.exact is None or b.exact is None else a.exact | b.exact
    after = tuple(sorted({*a.not_followed_by, *b.not_followed_by}))
    return _entry(a.group, exact, after, tuple(sorted({*a.not_preceded_by, *b.not_preceded_by})))


class _KeyTable:
    """Automaton words and their entries, merged per (word, claimant) while the matcher is built."""

    def __init__(self) -> None:
        self.words: dict[str, tuple[int, bool, dict[int, _Entry]]] = {}

    def add(self, name: str, entry: _Entry) -> None:
        for key, anywhere in _variants(name):
            for word in [key] if anywhere else [key + SOFT, key + HARD]:
                _, _, claims = self.words.setdefault(word, (0 if anywhere else 1, anywhere, {}))
                old = claims.get(entry.group)
                claims[entry.group] = entry if old is None else _merge(old, entry)

    def automaton(self) -> Any:
        automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY)
        for word, (trail, anywhere, claims) in self.words.items():
            value = (len(word), trail, anywhere, is_arabic_script(word), tuple(claims.values()))
            automaton.add_word(word, value)
        automaton.make_automaton()
        return automaton


class GroupMatcher:
    """Matches reports against a watchlist. Built once (about 25 ms per thousand names); read-only after."""

    __slots__ = ("_alias_count", "_automaton", "_blocking", "_designations", "_groups", "_umbrellas_of")

    def __init__(self, watchlist: Watchlist) -> None:
        self._groups: tuple[Group, ...] = tuple(sorted(watchlist.groups, key=lambda g: g.id))
        self._designations = tuple(g.authorities for g in self._groups)
        table = _KeyTable()
        seen: set[tuple[int, str]] = set()
        umbrella_keys = {match_key(n) for u in watchlist.umbrella_names for n in u.all_names}
        for i, group in enumerate(self._groups):
            for _, name in group.names():
                key = match_key(name)
                if key in umbrella_keys:
                    continue  # a name shared by the groups of an umbrella acts as the umbrella name
                seen.add((i, key))
                exact = frozenset({case_signature(name)}) if name in group.exact_case else None
                after = _context(group, "not_followed_by", key)
                table.add(name, _entry(i, exact, after, _context(group, "not_preceded_by", key)))
        self._alias_count = len(seen)
        self._umbrellas_of = tuple(
            tuple(-1 - u for u, um in enumerate(watchlist.umbrella_names) if group.id in um.covers)
            for group in self._groups
        )
        for u, umbrella in enumerate(watchlist.umbrella_names):
            for name in umbrella.all_names:
                table.add(name, _entry(-1 - u))
        self._automaton = table.automaton()
        self._blocking = False
        blockers = [a for a in watchlist.ambiguous if self._hits_inside(a)]
        for phrase in blockers:
            table.add(phrase, _entry(_BLOCKER))
        if blockers:
            self._automaton, self._blocking = table.automaton(), True

    @property
    def alias_count(self) -> int:
        """Distinct names indexed, per group (names that fold to the same matching form count once)."""
        return self._alias_count

    def _hits_inside(self, phrase: str) -> bool:
        """Whether a name matches strictly inside ``phrase`` (then ``phrase`` must block it)."""
        whole = len(match_key(phrase))
        hits = self._candidates(fold_text(phrase).text)
        return any(entry.group >= 0 and end - start < whole for entry, start, end, _ in hits)

    def _candidates(self, text: str) -> list[tuple[_Entry, int, int, bool]]:
        """Automaton hits that pass the boundary rule: (entry, start, end, anywhere) in ``text``."""
        found = []
        for end, (length, trail, anywhere, arabic, entries) in self._automaton.iter(text):
            start = end + 1 - length
            if anywhere or text[start - 1] in _BOUNDARIES or (arabic and _prefix_ok(text, start)):
                stop = end + 1 - trail
                for entry in entries:
                    found.append((entry, start, stop, anywhere))
        return found

    def match(
        self, text: str | None, account: str | None = None, url: str | None = None
    ) -> tuple[GroupTag, ...]:
        """The groups named in a report, sorted by id; deterministic; never raises on ``str`` inputs.

        The three inputs are folded and scanned as one string (parts joined by a hard boundary).
        """
        if url:
            query = url.find("?")
            if query >= 0 and "+" in url[query:]:  # in a query string "+" is a space (search?q=tehreek+e+taliban)
                url = url[:query] + url[query:].replace("+", " ")
            if "%" in url:
                url = unquote(url, errors="replace")
        source = "\n".join(filter(None, (text, account, url)))
        if not source:
            return ()
        folded = fold_text(source)
        candidates = self._candidates(folded.text)
        if not candidates:
            return ()
        return self._tags(folded, candidates, (text, account, url))

    def _tags(
        self, folded: Folded, candidates: list[tuple[_Entry, int, int, bool]], inputs: tuple[str | None, ...]
    ) -> tuple[GroupTag, ...]:
        """Apply the per-hit rules, then build one tag per group with its evidence (sorted by id)."""
        if len(candidates) == 1 and candidates[0][0].group >= 0:  # the commonest case, without the bookkeeping
            entry, start, end, anywhere = candidates[0]
            a, b = span = folded.source_span(start, end)
            if not (entry.plain or _entry_accepts(entry, folded, start, end, span, anywhere)):
                return ()
            group = self._groups[entry.group]
            first = (_evidence_of(folded.source, a, b, inputs),)
            return (GroupTag(group.id, group.name, first, self._designations[entry.group]),)
        blocked = [(s, e) for entry, s, e, _ in candidates if entry.group == _BLOCKER] if self._blocking else []
        spans: dict[int, list[tuple[int, int]]] = {}  # group -> spans in the source
        for entry, start, end, anywhere in candidates:
            if entry.group == _BLOCKER or (blocked and _inside(start, end, blocked)):
                continue
            span = folded.source_span(start, end)
            if entry.plain or _entry_accepts(entry, folded, start, end, span, anywhere):
                spans.setdefault(entry.group, []).append(span)
        tags = []
        source = folded.source
        for g in sorted(spans):
            if g < 0:
                continue  # umbrella names: evidence for the covered groups named otherwise
            hits = spans[g] if len(spans[g]) == 1 else _outermost(spans[g])
            for u in self._umbrellas_of[g]:
                hits = hits + spans.get(u, [])
            if len(hits) == 1:
                matched: tuple[str, ...] = (_evidence_of(source, hits[0][0], hits[0][1], inputs),)
            else:
                unique: dict[str, None] = {}
                for a, b in hits:  # in order of appearance, until the cap
                    unique[_evidence_of(source, a, b, inputs)] = None
                    if len(unique) == MAX_EVIDENCE:
                        break
                matched = tuple(unique)
            group = self._groups[g]
            tags.append(GroupTag(group.id, group.name, matched, self._designations[g]))
        return tuple(tags)


def _bounds(text: str | None, account: str | None, url: str | None) -> list[tuple[str, int, int]]:
    """Where each input sits in the joined source (kind, start, end), to widen evidence by kind."""
    bounds = []
    offset = 0
    if text:
        offset = len(text) + 1
        bounds.append(("text", 0, offset - 1))
    if account:
        bounds.append(("account", offset, offset + len(account)))
        offset += len(account) + 1
    if url:
        bounds.append(("url", offset, offset + len(url)))
    return bounds


def _evidence_of(source: str, a: int, b: int, inputs: tuple[str | None, ...]) -> str:
    """``_evidence`` of a hit, with the input it falls in found from ``inputs`` (text, account, url)."""
    text = inputs[0]
    if text and a < len(text):  # in the text: the usual case, without building the bounds
        return _evidence(source, a, b, (("text", 0, len(text)),))
    return _evidence(source, a, b, _bounds(inputs[0], inputs[1], inputs[2]))


def _inside(start: int, end: int, blocked: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e and e - s > end - start for s, e in blocked)


def _outermost(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop hits inside a longer hit of the same group ("Tehrik-e-Taliban" inside "... Pakistan").

    Works on source spans: a longer matching-form hit always maps to a longer source span."""
    kept: list[tuple[int, int]] = []
    for span in sorted(spans):
        if kept and span[0] == kept[-1][0]:
            kept[-1] = span  # same start, sorted by end: this one is longer
        elif not kept or span[1] > kept[-1][1]:
            kept.append(span)
    return kept


def _prefix_ok(text: str, start: int) -> bool:
    """An Arabic-script name may follow an attached conjunction, preposition or article."""
    word_start = max(text.rfind(SOFT, 0, start), text.rfind(HARD, 0, start)) + 1
    return text[word_start:start] in _ARABIC_PREFIXES


def _entry_accepts(
    entry: _Entry, folded: Folded, start: int, end: int, span: tuple[int, int], anywhere: bool
) -> bool:
    """The exact-case and context rules of a hit (``span``: the hit in the source)."""
    text = folded.text
    if entry.exact is not None and (
        case_signature(folded.source[span[0] : span[1]]) not in entry.exact or _repeated(text, start, end)
    ):
        return False
    if entry.not_followed_by:
        after = end + 1 if text[end] == SOFT else end
        if (anywhere or text[end] == SOFT) and _starts_with_any(text, after, entry.not_followed_by):
            return False
    if entry.not_preceded_by:
        before = start - 1 if text[start - 1] == SOFT else start
        if (anywhere or text[start - 1] == SOFT) and _ends_with_any(text, before, entry.not_preceded_by):
            return False
    return True


def _starts_with_any(text: str, pos: int, forms: tuple[str, ...]) -> bool:
    return any(text[pos : pos + 1].isdigit() if f == NUMBER else text.startswith(f, pos) for f in forms)


def _ends_with_any(text: str, pos: int, forms: tuple[str, ...]) -> bool:
    return any(text[pos - 1 : pos].isdigit() if f == NUMBER else text.endswith(f, 0, pos) for f in forms)


def _repeated(text: str, start: int, end: int) -> bool:
    """``BLA BLA``: the same word right before or right after, soft-separated (filler, not an acronym)."""
    word, n = text[start:end], end - start
    after = text[end] == SOFT and text.startswith(word, end + 1) and text[end + 1 + n : end + 2 + n] in _PAD
    before = (
        text[start - 1] == SOFT
        and start - 2 - n >= 0
        and text[start - 1 - n : start - 1] == word
        and text[start - 2 - n] in _BOUNDARIES
    )
    return after or before


def _evidence(source: str, a: int, b: int, bounds: Sequence[tuple[str, int, int]]) -> str:
    """The original text of a hit, widened to its hashtag/handle, the whole account or the URL segment.

    The widening regexes are anchored (``match`` with bounds), so each costs at most the widened length.
    """
    for kind, lo, hi in bounds:  # noqa: B007 (the kind found is used after the loop)
        if lo <= a < hi:
            break
    else:
        kind, lo, hi = "text", 0, len(source)
    if kind == "account":
        return source[lo:hi].strip()[:MAX_EVIDENCE_CHARS]
    if kind == "url":
        before = _UP_TO_URL_DELIMITER.match(source, lo, a)
        start = before.end() if before else lo
        return source[start : _URL_SEGMENT.match(source, b, hi).end()][:MAX_EVIDENCE_CHARS]  # type: ignore[union-attr]
    window = max(lo, a - MAX_EVIDENCE_CHARS)
    before_char, after_char = source[a - 1 : a] if a > window else "", source[b : b + 1] if b < hi else ""
    if not (before_char.isalnum() or before_char in _JOINERS or after_char.isalnum() or after_char in _JOINERS):
        return source[a:b][:MAX_EVIDENCE_CHARS]  # a name standing alone: the usual case
    # The whole word when the name sits inside one ("ttp_official", "#JoinTehreekeTaliban", "وداعش").
    before = _UP_TO_NON_WORD.match(source, window, a)
    start = before.end() if before else window
    end = _WORD.match(source, b, hi).end()  # type: ignore[union-attr]
    if start > lo and source[start - 1] in "#@":  # a hashtag or handle, which may contain . and -
        start -= 1
        end = _HANDLE_TAIL.match(source, end, hi).end()  # type: ignore[union-attr]
    return source[start:end][:MAX_EVIDENCE_CHARS]
