"""Mirror accounts: imitations of banned accounts are found, the accounts themselves and unrelated ones not."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core.mirrors import _PREFIX, _SUFFIX, BannedIndex, MirrorMatch, _distance, _strip_levels, canonical_account

BANNED = [
    ("x", "@ttp_media"),
    ("x", "Tehreek_Official"),
    ("x", "BalochLiberation"),
    ("x", "abc"),
    ("telegram", "umarmedia"),
    ("telegram", "khurasan_voice"),
]


@pytest.fixture(scope="module")
def index() -> BannedIndex:
    return BannedIndex(BANNED)


@pytest.mark.parametrize(
    ("platform", "candidate", "banned", "evidence"),
    [
        ("x", "ttp_media_backup", "ttp_media", ("suffix:_backup",)),
        ("x", "ttp_media2", "ttp_media", ("suffix:2",)),
        ("x", "ttp_media_2", "ttp_media", ("suffix:_2",)),
        ("x", "ttp_mediaofficial", "ttp_media", ("suffix:official",)),
        ("x", "real_ttp_media", "ttp_media", ("prefix:real_",)),
        ("x", "ttp_media_tv_backup", "ttp_media", ("suffix:_tv", "suffix:_backup")),
        ("x", "ttp.media", "ttp_media", ("separator",)),
        ("x", "ttpmedia", "ttp_media", ("separator",)),
        ("x", "tttp_media", "ttp_media", ("doubled_letters",)),
        ("x", "ТТР_mеdia", "ttp_media", ("homoglyph",)),  # Cyrillic Т, Р, е
        ("x", "ｔｔｐ_ｍｅｄｉａ_new", "ttp_media", ("suffix:_new",)),  # fullwidth: NFKC in canonical form
        ("x", "7tp_med1a", "ttp_media", ("digit_swap",)),
        ("x", "tehreek_0fficial", "tehreek_official", ("digit_swap",)),
        ("x", "tehrek_official", "tehreek_official", ("edit_distance:1",)),
        ("x", "tehreek_offical", "tehreek_official", ("edit_distance:1",)),
        ("x", "tehreek_officail", "tehreek_official", ("edit_distance:1",)),  # transposition
        ("x", "tehrek_offical", "tehreek_official", ("edit_distance:2",)),  # long handle: distance 2
        ("x", "tehreek_offcial_backup", "tehreek_official", ("suffix:_backup", "edit_distance:1")),
        ("x", "baloch_liberation_tv", "balochliberation", ("suffix:_tv", "separator")),
        ("telegram", "umar_medla", "umarmedia", ("digit_swap", "separator")),
        ("telegram", "umarmedla", "umarmedia", ("digit_swap",)),  # l/1/i look alike
    ],
)
def test_mirrors_are_found(
    index: BannedIndex, platform: str, candidate: str, banned: str, evidence: tuple[str, ...]
) -> None:
    assert index.find(platform, candidate) == MirrorMatch(platform, banned, evidence)


@pytest.mark.parametrize(
    ("platform", "candidate"),
    [
        ("x", "ttp_media"),  # the banned account itself
        ("x", "@TTP_Media"),  # itself, in another spelling
        ("x", " @ttp_media\u200b "),
        ("x", "tt_media"),  # base "ttp" is too short for edit distance
        ("x", "tp_media"),  # drops a doubled letter: not a doubling, and the base is short
        ("x", "ttp_news"),  # another outlet with the same short base
        ("x", "abcd"),  # banned "abc" is 3 characters: never mirrored
        ("x", "abc_2"),
        ("x", "ab"),
        ("x", "tehreek_officer_backup"),  # distance 2 on a handle whose limit after stripping is 1
        ("telegram", "ttp_media_backup"),  # another platform
        ("youtube", "ttp_media_backup"),  # a platform with no banned accounts
        ("x", "randomuser"),
        ("x", ""),
    ],
)
def test_not_mirrors(index: BannedIndex, platform: str, candidate: str) -> None:
    assert index.find(platform, candidate) is None


def test_membership_and_add(index: BannedIndex) -> None:
    assert ("x", "@TTP_MEDIA") in index
    assert ("X ", "ttp_media") in index
    assert ("x", "ttp_media2") not in index
    assert "ttp_media" not in index
    fresh = BannedIndex()
    assert fresh.add("x", "@Someone") is True
    assert fresh.add("x", "someone") is False
    assert fresh.add("x", "  ") is False
    assert len(fresh) == 1


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("@TTP_Media", "ttp_media"), (" @ｔｔｐ\u200b ", "ttp"), ("Straße", "strasse"), ("@@x", "@x")],
)
def test_canonical_account(raw: str, canonical: str) -> None:
    assert canonical_account(raw) == canonical


def test_find_stays_correct_with_100k_banned_accounts() -> None:
    """Sub-linear lookups must not lose matches: every planted mirror is found, the banned accounts
    themselves are not mirrors, and handles far from everything find nothing (timings: bench/)."""
    rng = random.Random(20261101)
    alphabet = string.ascii_lowercase + string.digits + "_"
    handles = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(8, 15))) for _ in range(100_000)})
    index = BannedIndex(("x", h) for h in handles)
    assert len(index) == len(handles)
    sample = handles[::1000]
    for handle in sample:
        assert index.find("x", handle) is None
        found = index.find("x", handle + "_backup")
        assert found is not None and found.account == handle
        edited = handle[:3] + ("q" if handle[3] != "q" else "z") + handle[4:]
        found = index.find("x", edited)
        assert found is not None and found.evidence[-1] == "edit_distance:1"
    assert index.find("x", "zzzzzzzzzzzzzzzzzzzzzzzz") is None


def _reference_distance(a: str, b: str) -> int:
    """Optimal string alignment distance by the textbook dynamic programme."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@settings(max_examples=500, deadline=None)
@given(st.text("abc", max_size=8), st.text("abc", max_size=8), st.integers(0, 2))
def test_bounded_distance_matches_the_reference(a: str, b: str, limit: int) -> None:
    assert _distance(a, b, limit) == min(_reference_distance(a, b), limit + 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(string.ascii_lowercase[:6] + "_", min_size=4, max_size=14), min_size=1, max_size=30),
       st.text(string.ascii_lowercase[:6] + "_", min_size=4, max_size=14))
def test_find_is_deterministic_and_never_returns_the_account_itself(banned: list[str], candidate: str) -> None:
    index = BannedIndex(("x", h) for h in banned)
    found = index.find("x", candidate)
    assert found == BannedIndex(("x", h) for h in reversed(banned)).find("x", candidate)
    if found is not None:
        assert found.account in {canonical_account(h) for h in banned}
        assert canonical_account(candidate) not in {canonical_account(h) for h in banned}
        assert found.evidence


def test_affixes_in_lookalike_letters_are_recognised(index: BannedIndex) -> None:
    found = index.find("x", "ttp_mеdia_bаckup")  # Cyrillic е and а
    assert found == MirrorMatch("x", "ttp_media", ("suffix:_backup", "homoglyph"))


def _reference_strip_levels(handle: str) -> list[tuple[str, tuple[str, ...]]]:
    """``_strip_levels`` written with the plain ``_PREFIX``/``_SUFFIX`` regexes (the fast path reverses)."""
    levels: list[tuple[str, tuple[str, ...]]] = [(handle, ())]
    starts = [(handle, ())]
    prefix = _PREFIX.match(handle)
    if prefix and len(handle) - prefix.end() >= 4:
        starts.append((handle[prefix.end() :], (f"prefix:{prefix.group()}",)))
    for i, (base, evidence) in enumerate(starts):
        if i:
            levels.append((base, evidence))
        suffixes: tuple[str, ...] = ()
        for _ in range(3):
            suffix = _SUFFIX.search(base)
            if suffix is None or suffix.start() < 3:
                break
            base, suffixes = base[: suffix.start()], (f"suffix:{suffix.group()}", *suffixes)
            levels.append((base, evidence + suffixes))
    return levels


_AFFIX_PIECES = ["real", "the", "new", "official", "backup", "media", "news", "tv", "alt", "archive", "channel",
                 "ttp", "a", "s", "_", ".", "-", "1", "2024", "99999"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_AFFIX_PIECES), max_size=8).map("".join))
def test_affix_stripping_matches_the_regex_reference(handle: str) -> None:
    assert _strip_levels(handle) == _reference_strip_levels(handle)


def test_affix_stripping_matches_the_regex_reference_on_random_handles() -> None:
    rng = random.Random(11)
    for _ in range(5000):
        handle = "".join(rng.choice("abtvnewsrealofficialbackup0123456789_.-") for _ in range(rng.randint(0, 16)))
        assert _strip_levels(handle) == _reference_strip_levels(handle), handle
