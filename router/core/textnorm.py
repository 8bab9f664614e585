"""Text normalisation for watchlist matching.

``fold_text(s)`` turns arbitrary input into the *matching form*: a string whose only non-word characters are
``" "`` (a soft separator: space, ``_``, ``-``, ``.`` between letters, apostrophes...) and ``"|"`` (a hard
boundary: other punctuation including the ``#`` and ``@`` of hashtags and handles, symbols, emoji, line
breaks, a sentence-ending dot). Names from the
watchlist go through the same function (``match_key``), so a name matches wherever its matching form occurs
between boundaries. Pipeline, in order:

1. One ``str.translate`` with a table precomputed from ``unicodedata`` at import: NFKC of every code point
   (fullwidth, mathematical alphanumerics, presentation forms), homoglyphs folded to Latin (Cyrillic, Greek,
   Armenian, small capitals), Latin diacritics and Arabic hamza/madda stripped, lower case, every decimal digit
   to ASCII, Arabic-script orthographic variants folded (ي/ی/ى, ك/ک, ه/ہ/ھ/ة/ۃ, ے), and the letters ``l`` and
   ``i`` folded together (``lSKP``/``IsIamic`` are the commonest Latin lookalike trick). Zero-width, bidi,
   format and C0/C1 control characters, combining marks, tashkeel and tatweel are deleted.
2. ZWNJ between Arabic-script letters is a space (Persian/Urdu write it where a space could be); elsewhere it
   is deleted. A dot is soft between word characters (``T.T.P``, ``ttp.news``) and hard before a space or the
   end (``Pakistan. Taliban`` must not read as "Pakistan Taliban").
3. Runs of single Latin letters are joined: those separated by ``. - _ '`` first (``T.T.P``, ``I.S.K.P.``,
   and ``a T.T.P`` gives ``a ttp``), then those separated by spaces (``T T P``; ``a T T P`` gives ``attp``).
   Runs of soft separators collapse to one space.
4. Leetspeak, only inside mixed letter-and-digit words (never in numbers): a digit between letters is folded
   (``0→o 1→i 3→e 4→a 5→s 7→t 8→b``), so is one leading digit before three or more letters (``1slamic``);
   trailing digits become a boundary (``ttp1``, ``BLA2024``). Exact-case acronyms never match leet forms (the
   case check compares the original letters).

Every step except NFKC expansions (ligatures such as ``ﬁ`` or ``ﻻ``) is length-preserving or replaces
characters by a placeholder that is removed at the end, so ``Folded.source_span`` maps a match back to the
original substring cheaply, and only when a match exists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final, NamedTuple

SOFT: Final = " "
HARD: Final = "|"
# Placeholder for a deleted character. A C0 control: the table deletes every input control character, so a
# MARK in a translated string always stands for a deletion; being ASCII, it keeps str.translate on its fast
# ASCII path.
_MARK: Final = "\x00"
# Placeholder for a soft separator inside a word (``_ - . ' *``), kept apart from whitespace until single
# letters are joined: ``a T.T.P`` joins to ``a ttp``, not ``attp``. Also a control character; SOFT later.
_INNER: Final = "\x01"
_DOT: Final = "\x02"  # a full stop: soft inside a word (T.T.P), hard before a space (end of a sentence)
_ZWNJ: Final = "\u200c"

# Case-sensitive lookalikes -> Latin. Upper- and lower-case forms are listed separately because they look
# different (Greek Η is H, but η is n-like).
_HOMOGLYPHS: Final = dict(
    zip(
        # Cyrillic upper, Cyrillic lower
        "АВСЕНІЈКМОРЅТХУӀԁԛԜ"
        "авсеһіјкмнопрѕтхуӏьгшԝү"
        # Greek upper, Greek lower
        "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"
        "αβγεηικμνορτυχω"
        # Armenian, Latin small capitals and IPA, dotless i/j, Latin Extended lookalikes
        "օսհոցզ"
        "ᴀʙᴄᴅᴇғɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ"
        "ɑɡɩıȷƖǀ",
        "ABCEHIJKMOPSTXYIdqW"
        "abcehijkmhonpstxylbrwwy"
        "ABEZHIKMNOPTYX"
        "abyenikuvoptuxw"
        "ouhngq"
        "abcdefghijklmnoprstuvwyz"
        "agiijll",
        strict=True,
    )
)
# Arabic-script orthographic variants folded to one form (applied after hamza/madda are stripped).
_ARABIC_FOLD: Final = {
    "ی": "ي", "ى": "ي", "ې": "ي", "ۍ": "ي", "ے": "ي", "ۓ": "ي", "ئ": "ي",
    "ک": "ك", "ڪ": "ك", "ګ": "ك",
    "ہ": "ه", "ھ": "ه", "ۀ": "ه", "ە": "ه", "ة": "ه", "ۃ": "ه", "ۂ": "ه",
    "ٱ": "ا", "أ": "ا", "إ": "ا", "آ": "ا",
    "ؤ": "و",
}  # fmt: skip
_DELETE: Final = frozenset("\u0640\u115f\u1160\u3164\uffa0")  # tatweel and Hangul fillers (invisible letters)
_HARD_SPACES: Final = frozenset("\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029")
# Soft separators inside words besides the Pc/Pd categories: apostrophes, middle dots, and characters used
# to break words up (T*T*P).
_SOFT_INNER: Final = frozenset("'`´‘’‛ʹʻʼʽˈ·•∙⋅‧*~^")
_LEET: Final = str.maketrans("0134578", "oieastb")


def _fold_code_point(ch: str) -> str:
    """Case-kept fold of one code point: one character, several (NFKC expansion), or ``_MARK`` (delete)."""
    if ch in (_MARK, _INNER, _DOT, _ZWNJ):
        return ch
    cat = unicodedata.category(ch)
    if ch in _DELETE or cat in ("Mn", "Me", "Cf") or (cat == "Cc" and not ch.isspace()):
        return _MARK
    if ch in _HARD_SPACES:
        return HARD
    if ch.isspace():
        return SOFT
    if ch == ".":
        return _DOT
    if cat in ("Pc", "Pd") or ch in _SOFT_INNER:
        return _INNER
    nfkc = unicodedata.normalize("NFKC", ch)
    if nfkc != ch:
        return "".join(_fold_code_point(c) for c in nfkc)
    if not ch.isalnum():
        return HARD
    if cat == "Nd":
        return str(unicodedata.decimal(ch))
    ch = _HOMOGLYPHS.get(ch, ch)
    base = unicodedata.normalize("NFD", ch)
    if len(base) > 1 and all(unicodedata.category(c) == "Mn" for c in base[1:]):
        ch = _HOMOGLYPHS.get(base[0], base[0])
    return _ARABIC_FOLD.get(ch, ch)


def _lower_fold(folded: str, *, fold_l: bool = True) -> str:
    """Lower-case a case-kept fold, folding lower-case homoglyphs; ``fold_l`` also folds ``l`` into ``i``."""
    out = []
    for ch in folded:
        low = ch.lower()
        low = _HOMOGLYPHS.get(low if len(low) == 1 else ch, ch).lower()
        out.append("i" if fold_l and low == "l" else low)
    return "".join(out)


# Blocks of letters that no step changes (CJK ideographs, Hangul syllables, Yi): not scanned, to keep the
# import fast; characters missing from a table are left as they are.
_UNCHANGED_BLOCKS: Final = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xA000, 0xA490), (0xAC00, 0xD7A4), (0x17000, 0x18D00))


def _scanned_code_points() -> Iterable[int]:
    start = 0
    for lo, hi in _UNCHANGED_BLOCKS:
        yield from range(start, lo)
        start = hi
    yield from range(start, 0x20000)  # the rest of the BMP and SMP: scripts, symbols, emoji, math letters
    yield from range(0xE0000, 0xE01F0)  # tag characters and variation selectors supplement (invisible)


def _build_tables() -> tuple[list[str | int], dict[int, str], dict[int, str]]:
    """Translate tables: matching form, exact-case signature (case kept), confusable fold for handles.

    The matching table is a list indexed by code point (every code point below U+20000): ``str.translate``
    looks a list up without hashing and without the internal LookupError a dict raises for an unmapped
    character, which makes it two to three times faster on non-ASCII text.
    """
    match: list[str | int] = list(range(_TABLE_SIZE))
    cased: dict[int, str] = {}
    handle: dict[int, str] = {}
    category = unicodedata.category
    for cp in _scanned_code_points():
        ch = chr(cp)
        cat = category(ch)
        if cat in ("Cn", "Cs"):
            continue
        if cat == "Co":
            if cp < _TABLE_SIZE:
                match[cp] = HARD
            continue
        folded = _fold_code_point(ch)
        if cp < _TABLE_SIZE:
            match[cp] = _lower_fold(folded)
        if folded != ch:
            cased[cp] = folded
        if folded == _MARK:
            handle[cp] = ""
        elif ch.isalnum() and _lower_fold(folded, fold_l=False) != ch:
            handle[cp] = _lower_fold(folded, fold_l=False)
    return match, cased, handle


_TABLE_SIZE: Final = 0x20000
_MATCH_TABLE, _CASED_TABLE, _HANDLE_TABLE = _build_tables()
# Above the list: only the invisible tag characters and variation selectors need a change (deletion).
_ASTRAL_INVISIBLE: Final = re.compile("[\U000e0000-\U000e01ef]")

_ARABIC_LETTER: Final = "\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f\u08a0-\u08ff"
_ZWNJ_BETWEEN_ARABIC: Final = re.compile(
    f"(?<=[{_ARABIC_LETTER}{_MARK}]){_ZWNJ}(?=[{_ARABIC_LETTER}{_MARK}])"
)
# Runs of single letters: each pattern starts with a literal (the separator after the first letter), which
# the regex engine finds far faster than a character class; the lookbehind then checks that letter.
_INNER_LETTER_RUN: Final = re.compile(f"{_INNER}(?<=[ |{_INNER}][a-z]{_INNER})[a-z](?:{_INNER}[a-z])*(?!\\w)")
_SPACED_LETTER_RUN: Final = re.compile(f" (?<=[ |{_MARK}][a-z] ){_MARK}*[a-z](?: {_MARK}*[a-z])*(?=[ |])")
# Byte classes for cheap pre-checks (bytes.translate and bytes.find run at memory speed): a Latin letter is
# "a", an ASCII digit "1", the separators stay, anything else (including UTF-8 bytes of other scripts) "x".
_BYTE_CLASS: Final = bytes(
    ord("a") if chr(b).isascii() and chr(b).islower() else
    ord("1") if chr(b).isdigit() and b < 0x80 else
    b if chr(b) in " |" else ord(" ") if chr(b) in _INNER + _DOT else ord("x")
    for b in range(256)
)
# Step 1 for ASCII input: every ASCII character maps to exactly one ASCII character (asserted below).
_ASCII_MATCH_BYTES: Final = bytes(
    ord(m) if isinstance(m, str) else m for m in _MATCH_TABLE[:128]
) + bytes(range(128, 256))
assert all(isinstance(m, int) or (len(m) == 1 and m.isascii()) for m in _MATCH_TABLE[:128])
# The class of the translation of each ASCII byte, and whether it translates to a separator (then the
# matching form gets no leading padding).
_ASCII_CLASS_BYTES: Final = _ASCII_MATCH_BYTES[:128].translate(_BYTE_CLASS) + bytes(128)
_ASCII_SEPARATOR: Final = tuple(chr(b) in (SOFT, HARD) for b in _ASCII_MATCH_BYTES[:128])
_new_tuple: Final = tuple.__new__  # builds a Folded without the Python-level NamedTuple.__new__
_NON_WORD: Final = re.compile(r"[\W_]+")


def _join_letters(m: re.Match[str]) -> str:
    """``" t p"`` (after the first letter of ``t t p``) -> ``MARK t MARK p`` (length-preserving)."""
    return m.group().replace(m.group()[0], _MARK)  # the first character is the separator: " " or INNER


def _unleet(text: str, classes: str) -> str:
    """Fold the digit runs that touch a Latin letter (length-preserving); rules in the module docstring.

    ``classes`` has one class character per character of ``text``. Runs are found with ``str.find``: a run
    after a letter by its ``a1``, a run before one by its ``1a``, so digits elsewhere cost nothing.
    """
    out: list[str] = []
    done = 0  # text[:done] is in out
    find = classes.find
    after_letter, before_letter = find("a1"), find("1a")
    while after_letter >= 0 or before_letter >= 0:
        if after_letter >= 0 and (before_letter < 0 or after_letter < before_letter):
            start = after_letter + 1
            end = start + 1
            while classes[end] == "1":  # the text ends with padding: no overflow
                end += 1
            fold = classes[end] == "a"  # between letters
        else:  # a run not preceded by a letter (that "a1" would have come first): find where it starts
            start = end = before_letter + 1
            while classes[start - 1] == "1":  # the text starts with padding: no underflow
                start -= 1
            fold = end - start == 1 and classes.startswith("aaa", end)  # one leading digit: 1slamic
        out.append(text[done:start])
        out.append(text[start:end].translate(_LEET) if fold else SOFT * (end - start))
        done = end
        if 0 <= after_letter < end:
            after_letter = find("a1", end)
        if 0 <= before_letter < end:
            before_letter = find("1a", end)
    out.append(text[done:])
    return "".join(out)


def _letter_pair(classes: str) -> bool:
    """Two single letters in a row (``T T P``): the precondition of joining spaced letters before leetspeak and
    collapsing (which run it anyway). A single letter before a space is rare outside "a": checked first."""
    return (" a " in classes or "|a " in classes) and (
        " a a " in classes or " a a|" in classes or "|a a " in classes or "|a a|" in classes
    )


def _remove_marks(marked: str) -> tuple[str, str | None]:
    """Drop placeholders; keep the marked string (for offset mapping) only when there was one."""
    if _MARK in marked:
        return marked.replace(_MARK, ""), marked
    return marked, None


def _to_marked_index(marked: str | None, index: int) -> int:
    """Index in ``marked`` of the ``index``-th character that is not a placeholder.

    Fixed point of ``pos = index + (placeholders in marked[:pos + 1])``: each step is one C-level count,
    and it converges after as many steps as there are runs of placeholders crossed.
    """
    if marked is None:
        return index
    pos = index
    while True:
        new = index + marked.count(_MARK, 0, pos + 1)
        if new == pos:
            return pos
        pos = new


class Folded(NamedTuple):
    """The matching form of one input, with what is needed to map its offsets back to the input.

    ``text`` starts and ends with a separator (padding added where the input has none), so every match has a
    character before and after it.
    """

    text: str
    source: str
    lead: int  # padding characters added at the start (0 or 1)
    expansion: tuple[int, ...] | None  # translated index -> source index, when NFKC expanded a character
    deleted: str | None  # the translated string with deletion placeholders (None: nothing was deleted)
    collapsed: str | None  # the padded string with collapse/join placeholders (None: nothing collapsed)

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Map ``text[start:end]`` (non-empty, not padding) to the span of ``source`` it came from."""
        _, _, lead, expansion, deleted, collapsed = self
        last = end - 1
        # Placeholders after the span do not move it (the usual case: a name in the text, digits in the URL).
        if collapsed is not None and collapsed.find(_MARK, 0, end) >= 0:
            start, last = _to_marked_index(collapsed, start), _to_marked_index(collapsed, last)
        start, last = start - lead, last - lead
        if deleted is not None and deleted.find(_MARK, 0, last + 1) >= 0:
            start, last = _to_marked_index(deleted, start), _to_marked_index(deleted, last)
        if expansion is not None:
            start, last = expansion[start], expansion[last]
        return start, last + 1


def _translate_slow(s: str) -> tuple[str, tuple[int, ...]]:
    """Slow path for inputs with NFKC expansions: translate per character, recording source offsets."""
    parts: list[str] = []
    origin: list[int] = []
    for i in range(len(s)):
        out = s[i : i + 1].translate(_MATCH_TABLE)
        parts.append(out)
        origin.extend([i] * len(out))
    return "".join(parts), tuple(origin)


def fold_text(s: str) -> Folded:
    """Normalise ``s`` to its matching form (see the module docstring). Pure; never raises on a ``str``."""
    if s.isascii() and s:  # the usual case: one byte per character, bytes.translate does step 1 at memory speed
        raw = s.encode()
        padded = raw + b" " if _ASCII_SEPARATOR[raw[0]] else b" " + raw + b" "
        text = padded.translate(_ASCII_MATCH_BYTES).decode()
        if _MARK not in text:  # nothing deleted (no control character): the classes come from the same bytes
            lead = len(padded) - len(raw) - 1
            return _fold_words(s, text, padded.translate(_ASCII_CLASS_BYTES).decode(), lead, None, None)
    return _fold_any(s)


def _fold_any(s: str) -> Folded:
    """``fold_text`` for any input: step 1 per code point, with deletions and NFKC expansions recorded."""
    expansion = None
    if s.isascii():
        translated = s.encode().translate(_ASCII_MATCH_BYTES).decode()
    else:
        translated = s.translate(_MATCH_TABLE)
        if len(translated) != len(s):
            translated, expansion = _translate_slow(s)
        if _ASTRAL_INVISIBLE.search(translated):
            translated = _ASTRAL_INVISIBLE.sub(_MARK, translated)
        if _ZWNJ in translated:
            translated = _ZWNJ_BETWEEN_ARABIC.sub(SOFT, translated).replace(_ZWNJ, _MARK)
    text, deleted = _remove_marks(translated)
    lead = 0 if text[:1] in (SOFT, HARD) else 1  # no padding before a separator: nothing to collapse
    text = SOFT * lead + text + SOFT
    # One class character per character of ``text`` (a non-ASCII character is one "?", class "x"). Searched
    # as a str: str.find has less fixed cost than bytes.find, and a single character is found by memchr.
    classes = text.encode("ascii", "replace").translate(_BYTE_CLASS).decode()
    return _fold_words(s, text, classes, lead, expansion, deleted)


def _fold_words(
    s: str, text: str, classes: str, lead: int, expansion: tuple[int, ...] | None, deleted: str | None
) -> Folded:
    """Steps 2 to 4 on the padded translation ``text`` of ``s`` (``classes``: one class character each)."""
    leet = "1" in classes and ("a1" in classes or "1a" in classes)
    if leet:
        text = _unleet(text, classes)
    if _DOT in text:
        text = text.replace(_DOT + SOFT, HARD + SOFT).replace(_DOT, _INNER)
    if _INNER in text:
        text = _INNER_LETTER_RUN.sub(_join_letters, text).replace(_INNER, SOFT)
    collapse = "  " in text
    if collapse:
        # Every space of a run but the first becomes a placeholder. Before this step a placeholder is only
        # ever followed by a letter (joined letters), so the second replace only meets the first one's.
        text = text.replace("  ", SOFT + _MARK).replace(_MARK + SOFT, _MARK + _MARK)
    if collapse or leet or _letter_pair(classes):
        text = _SPACED_LETTER_RUN.sub(_join_letters, text)
    if _MARK in text:
        return _new_tuple(Folded, (text.replace(_MARK, ""), s, lead, expansion, deleted, text))
    return _new_tuple(Folded, (text, s, lead, expansion, deleted, None))


def match_key(name: str) -> str:
    """The matching form of a watchlist name, without padding (``"Tehrik-e-Taliban"`` -> ``"tehrik e taiiban"``).

    Two names with the same key are indistinguishable to the matcher.
    """
    return fold_text(name).text.strip(SOFT + HARD)


def case_signature(s: str) -> str:
    """Letters and digits of ``s`` after NFKC and homoglyph folding, case kept: ``"B.L.A"`` -> ``"BLA"``.

    Used for exact-case acronyms; leet digits stay digits, so ``B1A`` never passes as ``BLA``.
    """
    if s.isascii() and s.isalnum():
        return s  # the usual case: nothing to fold
    return _NON_WORD.sub("", s.translate(_CASED_TABLE).replace(_MARK, ""))


def fold_confusables(s: str) -> str:
    """Lower-case, NFKC- and homoglyph-folded ``s`` with invisible characters deleted; punctuation kept.

    For handle comparison: unlike the matching form, ``l`` and ``i`` stay distinct and nothing is joined.
    """
    return s.translate(_HANDLE_TABLE)


def is_arabic_script(key: str) -> bool:
    """True when ``key`` contains an Arabic-script letter (such keys have no case and their own boundaries)."""
    return _ARABIC_SCRIPT.search(key) is not None


_ARABIC_SCRIPT: Final = re.compile(f"[{_ARABIC_LETTER}]")
