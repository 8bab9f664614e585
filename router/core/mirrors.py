"""Mirror accounts: an account that imitates a known banned (or actioned) account on the same platform.

``BannedIndex.find(platform, account)`` compares a handle with the banned handles of that platform through
its *skeleton*: canonical form (``canonical_account``), homoglyphs folded to Latin, lookalike digits folded
(``0→o``, ``1/l/i→i``, ``3→e``, ``4→a``, ``5→s``, ``7→t``, ``8→b``), separators ``_ . -`` removed, doubled
letters squeezed. A candidate is a mirror of a banned account when

1. the skeletons are equal (after stripping the candidate's mirror affixes such as ``_backup``, ``_2``,
   ``real_``, ``_official``), provided the candidate only *adds* doubled letters (``tttp_media`` imitates
   ``ttp_media``; ``tp_media`` drops a letter and is left to rule 2); or
2. the unsqueezed skeletons are within a small edit distance (optimal string alignment, a transposition
   counting one): 1 for skeletons shorter than 10 characters, 2 from 10 on; only for banned accounts whose
   base (affixes stripped) has at least 4 characters, so ``tt_media`` is not a mirror of ``ttp_media``.

Handles of 3 characters or fewer are never mirrors, nor mirrored. The account itself is not its own mirror.

Complexity: ``add`` is O(L) for a handle of length L (three dictionary inserts at most). ``find`` is
independent of the number of banned accounts N: a constant number of dictionary lookups (the candidate's
affix-stripping levels; for the edit distance a PassJoin-style partition index: a banned skeleton is split
into tau+1 segments, and any string within distance tau contains one of them at a shift of at most tau,
so a query looks up at most 5 lengths x 3 segments x 5 shifts), then an O(L * tau) check of each banned
account sharing a segment. Memory is O(N * L).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from router.core.textnorm import fold_confusables

MIN_LENGTH: Final = 4  # shorter handles (and banned bases) take no part in similarity
_INVISIBLE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_AFFIX_WORDS: Final = "official|backup|media|news|channel|archive|alt|new|real|tv"
_SUFFIX: Final = re.compile(f"[._-]*(?:{_AFFIX_WORDS}|[0-9]{{1,4}})\\Z")
_PREFIX: Final = re.compile(r"\A(?:real|the|official|backup|new)[._-]*")
_LEET: Final = str.maketrans("01l34578", "oiieastb")  # l is folded with 1 and i: all three look alike
_SEPARATORS: Final = str.maketrans("", "", "._-")
_DOUBLES: Final = re.compile(r"(.)\1+")
_STEPS: Final = ("homoglyph", "digit_swap", "separator")


@dataclass(frozen=True, slots=True)
class MirrorMatch:
    platform: str
    account: str  # the banned account it imitates (canonical form: lowercase, no '@')
    evidence: tuple[str, ...]  # e.g. ("suffix:_backup", "homoglyph", "edit_distance:1")


def canonical_account(account: str) -> str:
    """Strip spaces and one leading ``@``, NFKC, casefold, delete invisible characters."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", account.strip())).casefold()
    return text.removeprefix("@").strip()


def _unsqueezed(handle: str, skip: str = "") -> str:
    if skip != "homoglyph":
        handle = fold_confusables(handle)
    if skip != "digit_swap":
        handle = handle.translate(_LEET)
    if skip != "separator":
        handle = handle.translate(_SEPARATORS)
    return handle


def _skeleton(handle: str, skip: str = "") -> str:
    return _DOUBLES.sub(r"\1", _unsqueezed(handle, skip))


def _strip_levels(handle: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The handle, then with mirror affixes stripped one by one, each with the affixes stripped so far."""
    starts = [(handle, ())]
    prefix = _PREFIX.match(handle)
    if prefix and len(handle) - prefix.end() >= MIN_LENGTH:
        starts.append((handle[prefix.end() :], (f"prefix:{prefix.group()}",)))
    for base, evidence in starts:
        yield base, evidence
        suffixes: tuple[str, ...] = ()
        for _ in range(3):
            suffix = _SUFFIX.search(base)
            if suffix is None or suffix.start() < MIN_LENGTH - 1:
                break
            base, suffixes = base[: suffix.start()], (f"suffix:{suffix.group()}", *suffixes)
            yield base, evidence + suffixes


def _runs(text: str) -> list[tuple[str, int]]:
    return [(m.group(1), len(m.group())) for m in re.finditer(r"(.)\1*", text)]


def _only_adds_letters(candidate: str, banned: str) -> bool:
    """Same squeezed letters, and every run of the candidate at least as long as the banned one's."""
    return all(c >= b for (_, c), (_, b) in zip(_runs(candidate), _runs(banned), strict=True))


def _tau(length: int) -> int:
    return 2 if length >= 10 else 1


def _segments(length: int, tau: int) -> list[tuple[int, int]]:
    """(start, length) of the tau+1 segments of a string of ``length`` (later segments one longer)."""
    count = tau + 1
    size, extra = divmod(length, count)
    out, start = [], 0
    for i in range(count):
        n = size + (1 if i >= count - extra else 0)
        out.append((start, n))
        start += n
    return out


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a transposition counts one) if at most ``limit``, else ``limit + 1``.

    Recursion on the first mismatch (substitution, deletion, insertion or transposition there), so the cost
    is O(4**limit * L) with slicing done in C: cheap for the limits used here (1 and 2).
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    i, n = 0, min(len(a), len(b))
    while i < n and a[i] == b[i]:
        i += 1
    a, b = a[i:], b[i:]
    if not a or not b:
        return max(len(a), len(b))  # within limit: the length difference was checked
    if limit == 0:
        return 1
    options = [(a[1:], b[1:]), (a[1:], b), (a, b[1:])]
    if len(a) > 1 and len(b) > 1 and a[0] == b[1] and a[1] == b[0]:
        options.append((a[2:], b[2:]))
    return min(limit + 1, *(1 + _distance(x, y, limit - 1) for x, y in options))


class _PlatformIndex:
    __slots__ = ("by_segment", "by_skeleton", "exact")

    def __init__(self) -> None:
        self.exact: set[str] = set()
        self.by_skeleton: dict[str, list[str]] = {}
        self.by_segment: dict[str, list[str]] = {}  # "length:segment number:segment" -> banned handles

    def add(self, handle: str) -> None:
        self.exact.add(handle)
        if len(handle) < MIN_LENGTH:
            return
        key = _unsqueezed(handle)
        self.by_skeleton.setdefault(_DOUBLES.sub(r"\1", key), []).append(handle)
        base = min((b for b, _ in _strip_levels(handle)), key=len)
        if len(base.translate(_SEPARATORS)) < MIN_LENGTH:
            return
        tau = _tau(len(key))
        for i, (start, n) in enumerate(_segments(len(key), tau)):
            self.by_segment.setdefault(f"{len(key)}:{i}:{key[start : start + n]}", []).append(handle)

    def near(self, query: str) -> set[str]:
        """Banned handles that may be within their edit-distance limit of ``query``.

        PassJoin's multi-match-aware substring selection (Li et al., VLDB 2011): for segment ``i`` starting
        at ``p`` of a length-``n`` string, only query substrings starting in ``[p - i, p + i]`` intersected
        with ``[p + d - (tau - i), p + d + (tau - i)]`` (``d = len(query) - n``) need a lookup.
        """
        found: set[str] = set()
        for length in range(max(MIN_LENGTH, len(query) - 2), len(query) + 3):
            tau = _tau(length)
            delta = len(query) - length
            if abs(delta) > tau:
                continue
            for i, (start, n) in enumerate(_segments(length, tau)):
                lo = max(0, start - i, start + delta - (tau - i))
                hi = min(len(query) - n, start + i, start + delta + (tau - i))
                for pos in range(lo, hi + 1):
                    found.update(self.by_segment.get(f"{length}:{i}:{query[pos : pos + n]}", ()))
        return found


class BannedIndex:
    """Known banned/actioned accounts per platform; add() is O(1)-ish, find() must not scan all accounts.

    Not thread-safe while ``add`` runs; ``find`` only reads.
    """

    def __init__(self, accounts: Iterable[tuple[str, str]] = ()) -> None:  # (platform, account)
        self._platforms: dict[str, _PlatformIndex] = {}
        for platform, account in accounts:
            self.add(platform, account)

    def add(self, platform: str, account: str) -> bool:
        """Record a banned account; True if it was new (an empty handle is ignored: False)."""
        handle = canonical_account(account)
        index = self._platforms.setdefault(platform.strip().casefold(), _PlatformIndex())
        if not handle or handle in index.exact:
            return False
        index.add(handle)
        return True

    def __contains__(self, item: object) -> bool:
        """``(platform, account) in index``: the account itself is banned (after canonicalisation)."""
        if not (isinstance(item, tuple) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            return False
        index = self._platforms.get(item[0].strip().casefold())
        return index is not None and canonical_account(item[1]) in index.exact

    def __len__(self) -> int:
        return sum(len(index.exact) for index in self._platforms.values())

    def find(self, platform: str, account: str) -> MirrorMatch | None:
        """The banned account ``account`` imitates on ``platform``; None when it is a banned account itself
        or resembles none. Deterministic: the best match (skeleton before edit distance, fewer evidence
        items, then the banned handle in sorted order)."""
        platform = platform.strip().casefold()
        index = self._platforms.get(platform)
        handle = canonical_account(account)
        if index is None or handle in index.exact or len(handle) < MIN_LENGTH:
            return None
        # Affixes are recognised on the folded handle ("ttp_mеdia_bаckup" with Cyrillic letters too).
        folded = fold_confusables(handle)
        lookalike = ("homoglyph",) if folded != handle else ()
        best: tuple[tuple[int, int, str], tuple[str, ...]] | None = None
        levels = list(_strip_levels(folded))
        for base, affixes in levels:
            for banned in index.by_skeleton.get(_skeleton(base), ()):
                if _only_adds_letters(_unsqueezed(base), _unsqueezed(banned)):
                    evidence = affixes + _unique(lookalike + _transforms(base, banned))
                    best = min(best or _NONE, ((0, len(evidence), banned), evidence))
        if best is None:
            for base, affixes in dict([levels[0], levels[-1]]).items():
                query = _unsqueezed(base)
                for banned in index.near(query):
                    key = _unsqueezed(banned)
                    distance = _distance(query, key, _tau(len(key)))
                    if 0 < distance <= _tau(len(key)):
                        steps = _unique(lookalike + _helping_steps(base, banned, distance))
                        evidence = (*affixes, *steps, f"edit_distance:{distance}")
                        best = min(best or _NONE, ((1, distance, banned), evidence))
        if best is None:
            return None
        return MirrorMatch(platform, best[0][2], best[1])


_NONE: Final = ((9, 0, ""), ())  # worse than any match, for min()


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _transforms(candidate: str, banned: str) -> tuple[str, ...]:
    """The folding steps that the two handles needed to look alike (each one, when skipped, separates them)."""
    needed = [step for step in _STEPS if _skeleton(candidate, step) != _skeleton(banned, step)]
    if _unsqueezed(candidate) != _unsqueezed(banned) and _skeleton(candidate) == _skeleton(banned):
        needed.append("doubled_letters")
    return tuple(needed)


def _helping_steps(candidate: str, banned: str, distance: int) -> tuple[str, ...]:
    """The folding steps without which the two handles would be further apart."""
    return tuple(
        step
        for step in _STEPS
        if _distance(_unsqueezed(candidate, step), _unsqueezed(banned, step), distance) > distance
    )
