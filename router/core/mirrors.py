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
from collections.abc import Iterable, Set
from dataclasses import dataclass
from operator import itemgetter
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
_FIRST_GROUP: Final = itemgetter(1)  # a C-level replacement callable: re.sub with the template r"\1" costs more
_STEPS: Final = ("homoglyph", "digit_swap", "separator")
# Cheap pre-checks before the affix regexes, which only ever match these words (or a trailing ASCII digit):
# by first (last) character, the prefix (suffix) words that a handle starting (ending) with it may have.
_PREFIX_WORDS: Final = ("real", "the", "official", "backup", "new")
_PREFIX_BY_FIRST: Final = {w[0]: tuple(v for v in _PREFIX_WORDS if v[0] == w[0]) for w in _PREFIX_WORDS}
# _SUFFIX on the reversed handle: anchored at the start, so ``match`` tries one position where ``search``
# with ``\Z`` tries them all. One to four digits, greedy: the leftmost ``_SUFFIX`` match takes as many as it
# can; no suffix word ends another, so none is a prefix of another reversed.
_REVERSED_SUFFIX: Final = re.compile(f"(?:{'|'.join(w[::-1] for w in _AFFIX_WORDS.split('|'))}|[0-9]{{1,4}})[._-]*")


@dataclass(frozen=True, slots=True)
class MirrorMatch:
    platform: str
    account: str  # the banned account it imitates (canonical form: lowercase, no '@')
    evidence: tuple[str, ...]  # e.g. ("suffix:_backup", "homoglyph", "edit_distance:1")


def canonical_account(account: str) -> str:
    """Strip spaces and one leading ``@``, NFKC, casefold, delete invisible characters."""
    text = account.strip()
    if text.isascii() and text.isprintable():  # the usual case: NFKC changes nothing, nothing is invisible
        return text.lower().removeprefix("@").strip()
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    return text.removeprefix("@").strip()


def _ascii_skeleton_table() -> tuple[bytes, bytes]:
    """The three folding steps of ``_unsqueezed`` as one ``bytes.translate`` (table, deleted) for ASCII."""
    table, deleted = bytearray(range(256)), bytearray()
    for b in range(128):
        out = fold_confusables(chr(b)).translate(_LEET).translate(_SEPARATORS)
        if not out:
            deleted.append(b)
        else:
            assert len(out) == 1 and out.isascii(), (b, out)
            table[b] = ord(out)
    return bytes(table), bytes(deleted)


_ASCII_SKELETON, _ASCII_SKELETON_DELETED = _ascii_skeleton_table()


def _unsqueezed(handle: str, skip: str = "") -> str:
    if not skip and handle.isascii():
        return handle.encode().translate(_ASCII_SKELETON, _ASCII_SKELETON_DELETED).decode()
    if skip != "homoglyph":
        handle = fold_confusables(handle)
    if skip != "digit_swap":
        handle = handle.translate(_LEET)
    if skip != "separator":
        handle = handle.translate(_SEPARATORS)
    return handle


def _squeeze(unsqueezed: str) -> str:
    return _DOUBLES.sub(_FIRST_GROUP, unsqueezed)


def _skeleton(handle: str, skip: str = "") -> str:
    return _squeeze(_unsqueezed(handle, skip))


def _strip_levels(handle: str) -> list[tuple[str, tuple[str, ...]]]:
    """The handle, then with mirror affixes stripped one by one, each with the affixes stripped so far."""
    levels: list[tuple[str, tuple[str, ...]]] = [(handle, ())]
    prefixes = _PREFIX_BY_FIRST.get(handle[:1])
    prefix = _PREFIX.match(handle) if prefixes and handle.startswith(prefixes) else None
    reverse = handle[::-1]
    _add_suffix_levels(levels, handle, (), reverse)
    if prefix and len(handle) - prefix.end() >= MIN_LENGTH:
        base, evidence = handle[prefix.end() :], (f"prefix:{prefix.group()}",)
        levels.append((base, evidence))
        _add_suffix_levels(levels, base, evidence, reverse)
    return levels


def _add_suffix_levels(
    levels: list[tuple[str, tuple[str, ...]]], base: str, evidence: tuple[str, ...], reverse: str
) -> None:
    """Append ``base`` with up to three suffixes (``_SUFFIX``) stripped one by one, while at least three
    characters remain. ``reverse`` starts with ``base`` reversed (the handle reversed: ``base`` ends it)."""
    suffixes: tuple[str, ...] = ()
    end = len(base)  # of base reversed in reverse
    pos = 0  # characters stripped so far
    for _ in range(3):
        suffix = _REVERSED_SUFFIX.match(reverse, pos, end)
        if suffix is None:
            return
        start = end - suffix.end()  # where the suffix starts in base
        if start < MIN_LENGTH - 1:
            return
        base, suffixes = base[:start], (f"suffix:{base[start:]}", *suffixes)
        levels.append((base, evidence + suffixes))
        pos = suffix.end()


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


def _char_mask(text: str) -> int:
    """The set of characters of ``text`` as bits (code point modulo 128: exact for ASCII).

    One edit changes this set by at most two characters (a transposition by none), so two strings within
    distance ``tau`` have masks differing in at most ``2 * tau`` bits: a cheap necessary condition."""
    if text.isascii():
        return sum(map(_BIT_OF.__getitem__, set(text)))  # distinct characters, distinct bits: sum is union
    mask = 0
    for ch in text:
        mask |= 1 << (ord(ch) & 127)
    return mask


_BIT_OF: Final = {chr(b): 1 << b for b in range(128)}

# A banned account in the edit-distance index: (unsqueezed skeleton, its _char_mask, its tau, handle).
_Banned = tuple[str, int, int, str]
_Table = dict[str, list[_Banned]]
# How a query of one length probes the segment tables: a getter of its distinct substrings, a getter that
# lines them up with the tables (references, not copies), and the tables; None: nothing to probe.
_Plan = tuple[itemgetter, itemgetter, tuple[_Table, ...]] | None  # type: ignore[type-arg]
_NOTHING: Final[frozenset[_Banned]] = frozenset()
_NO_HITS: Final[_Table] = {}  # pads a plan to two probes (itemgetter of one index returns a bare item)


class _PlatformIndex:
    __slots__ = ("by_skeleton", "charsets", "exact", "plans", "segments")

    def __init__(self) -> None:
        self.exact: set[str] = set()
        self.by_skeleton: dict[str, list[str]] = {}
        # hash(frozenset(skeleton)) of every skeleton: squeezing keeps the characters, so a query level
        # whose characters hash to none of these has no equal skeleton (checked before squeezing it)
        self.charsets: set[int] = set()
        # (skeleton length, segment number) -> segment -> banned accounts with that segment there
        self.segments: dict[tuple[int, int], _Table] = {}
        self.plans: dict[int, _Plan] = {}  # query length -> plan (see _plan)

    def add(self, handle: str) -> None:
        self.exact.add(handle)
        if len(handle) < MIN_LENGTH:
            return
        key = _unsqueezed(handle)
        skeleton = _squeeze(key)
        self.by_skeleton.setdefault(skeleton, []).append(handle)
        self.charsets.add(hash(frozenset(skeleton)))
        base = min((b for b, _ in _strip_levels(handle)), key=len)
        if len(base.translate(_SEPARATORS)) < MIN_LENGTH:
            return
        tau = _tau(len(key))
        banned = (key, _char_mask(key), tau, handle)
        for i, (start, n) in enumerate(_segments(len(key), tau)):
            table = self.segments.get((len(key), i))
            if table is None:
                table = self.segments[len(key), i] = {}
                self.plans.clear()  # plans list existing tables only
            table.setdefault(key[start : start + n], []).append(banned)

    def _plan(self, size: int) -> _Plan:
        """Which segment tables a query of ``size`` characters probes, with which of its substrings.

        PassJoin's multi-match-aware substring selection (Li et al., VLDB 2011): for segment ``i`` starting
        at ``p`` of a length-``n`` string, only query substrings starting in ``[p - i, p + i]`` intersected
        with ``[p + d - (tau - i), p + d + (tau - i)]`` (``d = size - n``) need a lookup. Depends on the
        query length only, so it is computed once per length (and again after a new table appears).
        """
        tables: list[_Table] = []
        probes: list[tuple[int, int]] = []
        for length in range(max(MIN_LENGTH, size - 2), size + 3):
            tau = _tau(length)
            delta = size - length
            if abs(delta) > tau:
                continue
            for i, (start, n) in enumerate(_segments(length, tau)):
                table = self.segments.get((length, i))
                if table is None:
                    continue
                lo = max(0, start - i, start + delta - (tau - i))
                hi = min(size - n, start + i, start + delta + (tau - i))
                for pos in range(lo, hi + 1):
                    tables.append(table)
                    probes.append((pos, pos + n))
        plan: _Plan = None
        if tables:
            distinct = [*dict.fromkeys(probes), (0, 0)]  # padded: at least two
            order = {probe: k for k, probe in enumerate(distinct)}
            if len(tables) == 1:
                tables.append(_NO_HITS)
                probes.append((0, 0))
            plan = (
                itemgetter(*(slice(a, b) for a, b in distinct)),
                itemgetter(*(order[probe] for probe in probes)),
                tuple(tables),
            )
        self.plans[size] = plan
        return plan

    def near(self, query: str) -> Set[_Banned]:
        """Banned accounts that may be within their edit-distance limit of ``query`` (unsqueezed skeleton).

        All probes run at C level: one call slices the distinct substrings, one lines them up with the
        tables, ``map(dict.get)`` looks them up; Python code runs only for a segment found, and a banned
        account sharing one is kept only if its characters are close enough (``_char_mask``).
        """
        try:
            plan = self.plans[len(query)]
        except KeyError:
            plan = self._plan(len(query))
        if plan is None:
            return _NOTHING
        substrings, keys, tables = plan
        found: set[_Banned] | None = None
        for hits in filter(None, map(dict.get, tables, keys(substrings(query)))):
            if found is None:
                found, mask = set(), _char_mask(query)
            for banned in hits:
                if (mask ^ banned[1]).bit_count() <= 2 * banned[2]:
                    found.add(banned)
        return found or _NOTHING


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

    def accounts(self) -> list[tuple[str, str]]:
        """Every known (platform, account), in the canonical forms they were indexed under."""
        return [(platform, handle) for platform, index in self._platforms.items() for handle in sorted(index.exact)]

    def find(self, platform: str, account: str) -> MirrorMatch | None:
        """The banned account ``account`` imitates on ``platform``; None when it is a banned account itself
        or resembles none. Deterministic: the best match (skeleton before edit distance, fewer evidence
        items, then the banned handle in sorted order)."""
        index = self._platforms.get(platform)  # a key is its own canonical form: the usual case
        if index is None:
            platform = platform.strip().casefold()
            index = self._platforms.get(platform)
            if index is None:  # most platforms have no banned account
                return None
        handle = canonical_account(account)
        if len(handle) < MIN_LENGTH or handle in index.exact:
            return None
        # Affixes are recognised on the folded handle ("ttp_mеdia_bаckup" with Cyrillic letters too). A
        # canonical ASCII handle is lower case without control characters: folding would change nothing.
        folded = handle if handle.isascii() else fold_confusables(handle)
        levels = _strip_levels(folded)
        if folded.isascii():  # _unsqueezed, inline: every level is ASCII too
            keys = [b.encode().translate(_ASCII_SKELETON, _ASCII_SKELETON_DELETED).decode() for b, _ in levels]
        else:
            keys = [_unsqueezed(base) for base, _ in levels]
        if len(levels) == 1:  # the usual case
            maybe_equal = hash(frozenset(keys[0])) in index.charsets
            # The handle as it is and with every affix stripped: (base, affixes, unsqueezed skeleton).
            ends: tuple[tuple[str, tuple[str, ...], str], ...] = ((folded, (), keys[0]),)
        else:
            maybe_equal = not index.charsets.isdisjoint(map(hash, map(frozenset, keys)))
            ends = ((folded, (), keys[0]), (*levels[-1], keys[-1]))  # levels shrink: two distinct bases
        lookalike = ("homoglyph",) if folded != handle else ()
        # Squeezing keeps the characters: a level whose characters no banned skeleton has is not squeezed.
        best = _best_equal(index, levels, keys, lookalike) if maybe_equal else None
        if best is None:
            best = _best_near(index, ends, lookalike)
        if best is None:
            return None
        return MirrorMatch(platform, best[0][2], best[1])


_Best = tuple[tuple[int, int, str], tuple[str, ...]]  # (rank, banned handle), evidence; the least is best


def _best_equal(
    index: _PlatformIndex, levels: list[tuple[str, tuple[str, ...]]], keys: list[str], lookalike: tuple[str, ...]
) -> _Best | None:
    """Rule 1: the best banned account with the skeleton of one of the levels (``keys``: their unsqueezed forms)."""
    best: _Best | None = None
    for (base, affixes), key in zip(levels, keys, strict=True):
        for banned in index.by_skeleton.get(_squeeze(key), ()):
            if _only_adds_letters(key, _unsqueezed(banned)):
                evidence = affixes + _unique(lookalike + _transforms(base, banned))
                best = min(best or _NONE, ((0, len(evidence), banned), evidence))
    return best


def _best_near(
    index: _PlatformIndex, ends: tuple[tuple[str, tuple[str, ...], str], ...], lookalike: tuple[str, ...]
) -> _Best | None:
    """Rule 2: the best banned account within its edit-distance limit of one of ``ends``."""
    best: _Best | None = None
    for base, affixes, query in ends:
        for key, _, tau, banned in index.near(query):
            distance = _distance(query, key, tau)
            if 0 < distance <= tau:
                steps = _unique(lookalike + _helping_steps(base, banned, distance))
                evidence = (*affixes, *steps, f"edit_distance:{distance}")
                best = min(best or _NONE, ((1, distance, banned), evidence))
    return best


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
