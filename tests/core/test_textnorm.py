"""Matching form of text: folding, separators, joining, leetspeak, and mapping back to the input."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core.textnorm import _fold_any, case_signature, fold_confusables, fold_text, is_arabic_script, match_key


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        # case, separators, single letters joined
        ("T.T.P", "ttp"),
        ("T T P", "ttp"),
        ("t-t-p", "ttp"),
        ("T_T_P", "ttp"),
        ("I.S.K.P. new", "iskp| new"),
        ("a T.T.P. commander", "a ttp| commander"),  # the article is not joined to a dotted acronym
        ("Tehrik-e-Taliban", "tehrik e taiiban"),  # l and i are one letter in the matching form
        ("@tehreek_e_taliban_pk", "|tehreek e taiiban pk"),
        ("#BLA #Balochistan", "|bia |baiochistan"),
        ("TTP's", "ttp s"),
        ("a  b - c", "abc"),  # runs of single letters are joined whatever the soft separators
        # hard boundaries
        ("Pakistan. Taliban", "pakistan| taiiban"),
        ("Pakistan, Taliban", "pakistan| taiiban"),
        ("e.g. TTP", "eg| ttp"),
        ("(T T P)", "|ttp|"),
        ("line\nbreak", "iine|break"),
        # lookalikes and compatibility forms
        ("ТТР", "ttp"),  # Cyrillic
        ("ΙSKP", "iskp"),  # Greek capital iota
        ("ＴＴＰ", "ttp"),  # fullwidth
        ("𝐓𝐓𝐏", "ttp"),  # mathematical bold
        ("Ṭālibān", "taiiban"),  # transliteration diacritics
        ("ﬁ", "fi"),  # ligature (NFKC expansion)
        # invisible characters
        ("T\u200bT\u200cP", "ttp"),
        ("T\u00adT\u2060P\ufeff", "ttp"),
        ("\u202eTTP\u202c\u2066", "ttp"),
        ("x\x07y\x9fz", "xyz"),
        ("x\U000e0041y", "xy"),  # tag character
        # leetspeak inside words only
        ("T7P", "ttp"),
        ("Ta1iban", "taiiban"),
        ("1slamic", "isiamic"),
        ("ttp1 BLA2024", "ttp bia"),  # trailing digits are a boundary
        ("15K 2024 b1", "k 2024 b"),  # numbers stay numbers
        # Arabic script
        ("لشکرِ طیبہ", "لشكر طيبه"),  # kasra removed, ی ک ہ folded
        ("طيّـبة", "طيبه"),  # shadda and tatweel removed, ة folded
        ("می\u200cخواهم", "مي خواهم"),  # ZWNJ between Arabic letters is a space
        ("٢٠٢٤ ۲۰۲۴", "2024 2024"),
    ],
)
def test_fold_text(raw: str, folded: str) -> None:
    text = fold_text(raw).text
    assert text[0] in " |" and text[-1] in " |"
    assert text.strip(" ") == folded


@pytest.mark.parametrize(
    ("raw", "key", "original"),
    [
        ("x T.T.P y", "ttp", "T.T.P"),
        ("x T.\u200bT.P y ﬁ TTP", "ttp", "T.\u200bT.P"),
        ("ﬁ ﬁ ТТР", "ttp", "ТТР"),
        ("ﻻ T-\u0301T-P", "ttp", "T-\u0301T-P"),
        ("@ttp_news", "ttp", "ttp"),
        ("#BLA", "bia", "BLA"),
        ("  a   Tehrik-e-Taliban  ", "tehrik e taiiban", "Tehrik-e-Taliban"),
        ("لشکرِ طیبہ", "لشكر طيبه", "لشکرِ طیبہ"),
    ],
)
def test_source_span_maps_back_to_the_original(raw: str, key: str, original: str) -> None:
    folded = fold_text(raw)
    start = folded.text.index(key)
    a, b = folded.source_span(start, start + len(key))
    assert raw[a:b] == original


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Tehrik-i-Taliban Pakistan", "tehrik i taiiban pakistan"),
        ("Islamic State of Iraq and the Levant - Khorasan", "isiamic state of iraq and the ievant khorasan"),
        ("Jama'at-ud-Dawa", "jama at ud dawa"),
        ("IS-K", "is k"),
        ("تحریک طالبان پاکستان", "تحريك طالبان پاكستان"),
    ],
)
def test_match_key(name: str, key: str) -> None:
    assert match_key(name) == key


@pytest.mark.parametrize(
    ("raw", "signature"),
    [
        ("BLA", "BLA"),
        ("B.L.A", "BLA"),
        ("#BLA", "BLA"),
        ("ВLА", "BLA"),  # Cyrillic В and А
        ("Bla", "Bla"),
        ("B1A", "B1A"),  # a leet digit stays a digit: exact-case acronyms never match leet forms
        ("IS-K", "ISK"),
    ],
)
def test_case_signature_keeps_case_and_folds_lookalikes(raw: str, signature: str) -> None:
    assert case_signature(raw) == signature


def test_fold_confusables_keeps_punctuation_and_l() -> None:
    assert fold_confusables("@ТТР_Mеdia\u200b.l") == "@ttp_media.l"


def test_is_arabic_script() -> None:
    assert is_arabic_script("داعش خراسان")
    assert not is_arabic_script("ttp")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fold_text_is_total_and_maps_every_word_into_the_source(raw: str) -> None:
    folded = fold_text(raw)
    text = folded.text
    assert text[0] in " |" and text[-1] in " |"
    assert not any(c in text for c in "\x00\x01\x02\u200c")  # placeholders never leak
    for word_start, word_end in _words(text):
        a, b = folded.source_span(word_start, word_end)
        assert 0 <= a < b <= len(raw)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_match_key_is_idempotent(raw: str) -> None:
    key = match_key(raw)
    assert match_key(key) == key


def _words(text: str) -> list[tuple[int, int]]:
    words, start = [], None
    for i, ch in enumerate(text):
        if ch in " |":
            if start is not None:
                words.append((start, i))
            start = None
        elif start is None:
            start = i
    return words


_ASCII_EVASIONS = st.lists(
    st.sampled_from(["T", "t", "T.T.P", "t t p", "I.S.K.P.", "B1A", "1slamic", "Ta1iban", "ttp1", "2024", "acct380",
                     " ", "  ", ". ", ".", "-", "_", "'", "*", "#", "@", "/", "://", "\n", "\t", "\x00", "\x01", "\x02",
                     "\x07", "https", "www", "com", "a", "l", "I", "0", "7", "x.12ab"]),
    max_size=12,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(st.characters(max_codepoint=127)), _ASCII_EVASIONS))
def test_ascii_fast_path_equals_the_general_path(raw: str) -> None:
    """``fold_text`` folds ASCII input through bytes tables; the general per-code-point path must agree."""
    assert fold_text(raw) == _fold_any(raw)


def test_ascii_fast_path_equals_the_general_path_on_generated_reports() -> None:
    rng = random.Random(7)
    pieces = ["Tehrik-e-Taliban", "T.T.P", "BLA", "bla bla", "#BalochistanLiberationArmy", "@ttp_official",
              "https://t.me/", "acct", "/posts/", "?si=share", "I S K P", "Ta1iban", "1slamic", "e.g.", "x.12ab"]
    for _ in range(3000):
        raw = rng.choice(["", " ", "\n", ". "]).join(
            rng.choice(pieces) if rng.random() < 0.6 else str(rng.randint(0, 10**9)) for _ in range(rng.randint(0, 6))
        )
        assert fold_text(raw) == _fold_any(raw), raw
