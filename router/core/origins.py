"""Origin tagging: the countries a report comes from, derived from its signals.

A report's ``signals`` carry personal data (a phone number, an IP address) and a declared
country. Only two things ever leave this module: an ISO 3166-1 alpha-2 country code and the kind
of signal it came from. The signal values themselves are never returned, logged or put into an
exception message.

- ``phone``: the country of the number (``phonenumbers`` metadata). International format only
  (``+CC...`` or ``00CC...``): a national-format number has no country without guessing one.
- ``ip``: the country the Regional Internet Registry delegated the block to, looked up through an
  injected :class:`IpCountryLookup` (offline data; see ``router/geoip.py``). Addresses that are not
  global unicast (private, loopback, link-local, multicast, CGNAT, documentation, reserved, ...)
  give nothing.
- ``declared``: the ``country`` signal, if it is an assigned ISO 3166-1 alpha-2 code.

Conflicting signals are all kept: each country appears with each kind of signal that named it.
Pure functions; no I/O; the only state is immutable data.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc

Signal = Literal["phone", "ip", "declared"]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The 249 codes ISO 3166-1 lists as officially assigned (checked against the ISO 3166 Maintenance
# Agency list as published by pycountry 26.2.16). Deliberately absent: the exceptionally reserved
# codes (EU, UK, UN, AC, CP, DG, EA, EZ, IC, TA, ...), the user-assigned ones (AA, QM-QZ, XA-XZ,
# ZZ, so also XK for Kosovo) and the transitionally reserved ones: they are not countries in the
# sense of the ``report.routed/v1`` contract ("ISO alpha-2 country"). RIR data uses ``EU`` and ``AP``
# for multi-country blocks; those give no tag.
ISO_3166_ALPHA2: frozenset[str] = frozenset(
    {
        "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
        "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
        "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
        "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
        "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
        "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
        "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
        "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
        "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
        "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
        "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
        "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
        "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
        "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
        "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
        "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
    }
)  # fmt: skip

# E.164 allows 15 digits; with spaces, dashes, brackets and a prefix a genuine number stays far
# below this. Longer input is not a phone number, and is not worth parsing.
MAX_PHONE_CHARS = 64

# Addresses that are not globally routed unicast, from the IANA IPv4 and IPv6 Special-Purpose
# Address Registries plus multicast and the reserved blocks. Listed explicitly instead of relying
# on ``ipaddress``'s ``is_global``, whose answers changed between Python patch releases.
_NOT_GLOBAL_V4 = (
    "0.0.0.0/8",  # "this network", unspecified
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # shared address space (carrier-grade NAT)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "192.88.99.0/24",  # deprecated 6to4 relay anycast
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, including the limited broadcast 255.255.255.255
)
# Only 2000::/3 is global unicast: everything outside it (unspecified, loopback, NAT64, discard,
# unique-local, link-local, site-local, multicast, ...) fails that test alone. These are the
# special-purpose blocks inside 2000::/3.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NOT_GLOBAL_V6 = (
    "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID, ...)
    "2001:db8::/32",  # documentation
    "2002::/16",  # 6to4: the embedded IPv4 address is a tunnel end, not the sender's registry
    "3fff::/20",  # documentation (RFC 9637)
    "5f00::/16",  # SRv6 segment identifiers
)


def _int_ranges(networks: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """First and last address of each network as integers: comparing ints is the cheap test."""
    parsed = (ipaddress.ip_network(net) for net in networks)
    return tuple((int(net.network_address), int(net.broadcast_address)) for net in parsed)


_NOT_GLOBAL_V4_RANGES = _int_ranges(_NOT_GLOBAL_V4)
_NOT_GLOBAL_V6_RANGES = (
    *_int_ranges(_NOT_GLOBAL_V6),
    # everything outside 2000::/3, as two ranges
    (0, int(_GLOBAL_UNICAST_V6.network_address) - 1),
    (int(_GLOBAL_UNICAST_V6.broadcast_address) + 1, (1 << 128) - 1),
)


@dataclass(frozen=True, slots=True)
class OriginTag:
    """A country a report originates from and the kind of signal that says so.

    ``country`` is an assigned ISO 3166-1 alpha-2 code in upper case. Never holds the signal value.
    """

    country: str
    signal: Signal


class IpCountryLookup(Protocol):
    """Registry country of a public IP address (offline data; see ``router.geoip``).

    A lookup may also have ``country_of_text(text: str) -> str | None``, giving the same answer
    as ``country(ip)`` for ``text == str(ip)``: where the caller already holds that text (a dotted
    quad), it is used instead, so that no address object has to be built.
    """

    def country(self, ip: IpAddress) -> str | None:
        """The alpha-2 code of the block holding ``ip``, or None when no block holds it."""
        ...


def is_valid_country(code: str) -> bool:
    """True when ``code`` is exactly an assigned ISO 3166-1 alpha-2 code, in upper case."""
    return code in ISO_3166_ALPHA2


_DECLARED: dict[str, str] = {
    spelling: code
    for code in ISO_3166_ALPHA2
    for spelling in (code, code.lower(), code[0] + code[1].lower(), code[0].lower() + code[1])
}
"""Every ASCII spelling of an assigned code, upper or lower case letter by letter, to the code."""


def declared_country(code: str) -> str | None:
    """The declared country as an upper-case alpha-2 code, or None when it is not an assigned one.

    Case-insensitive and tolerant of surrounding white space; only ASCII letters count (so a
    dotless ``ı`` does not upper-case its way into ``I``). ``EU``, ``UK``, ``XK``, ``XX``, ``ZZ``
    and every other reserved or user-assigned code give None.
    """
    return _DECLARED.get(code.strip()) if isinstance(code, str) else None


# --- phone numbers ----------------------------------------------------------------------------
#
# ``phonenumbers.parse`` + ``is_valid_number`` cost 10 to 100 us a number. The common input, a plain
# ``+CC ...`` number, is decided here instead with the same metadata compiled into a few regular
# expressions per calling code (compiled on first use of that code, from the metadata alone). Anything
# this shortcut cannot decide exactly as ``phonenumbers`` would (other characters, a national
# prefix after the calling code, odd lengths) goes to the full parse, which stays the reference.

_UNSURE = object()
"""``_fast_phone_country``'s answer when only the full ``phonenumbers`` parse can decide."""

# Characters that may separate the digits of a plain international number: all of them are
# ``phonenumbers`` punctuation, which its parse ignores. Letters, ``*``, ``#``, ``;``, ``,``, ``x``
# (extensions, vanity numbers, RFC 3966) and anything not ASCII go to the full parse.
_SEPARATORS = b" ()-./"

# ``phonenumbers``' _MIN_LENGTH_FOR_NSN and _MAX_LENGTH_FOR_NSN.
_NSN_LENGTHS = range(2, 18)


def _allows(desc: PhoneNumberDesc | None, length: int) -> bool:
    """Whether ``desc`` can match a national number of ``length`` digits at all: it exists, has a
    pattern, and lists that length or none (``phonenumbers``' ``_is_number_matching_desc``)."""
    if desc is None or not desc.national_number_pattern:
        return False
    return not desc.possible_length or length in desc.possible_length


def _validity_pattern(metadata: PhoneMetadata, length: int) -> re.Pattern[str] | None:
    """``phonenumbers.is_valid_number_for_region`` for national numbers of ``length`` digits, as
    one pattern to ``fullmatch``; None when no such number is valid.

    Valid: the general description matches, and so does one number type (premium rate, toll free,
    shared cost, VoIP, personal, pager, UAN, voicemail, fixed line, and mobile unless its pattern is
    the fixed line's, which ``phonenumbers`` then does not test). The general pattern becomes a
    look-ahead over the whole number, the types an alternation.
    """
    general = metadata.general_desc
    if general is None or not _allows(general, length):
        return None
    types = [
        metadata.fixed_line,
        None if metadata.same_mobile_and_fixed_line_pattern else metadata.mobile,
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
    ]
    alternatives = [f"(?:{desc.national_number_pattern})" for desc in types
                    if desc is not None and _allows(desc, length)]
    if not alternatives:
        return None
    return re.compile(f"(?=(?:{general.national_number_pattern})\\Z)(?:{'|'.join(alternatives)})")


class _RegionRules:
    """``phonenumbers.is_valid_number_for_region`` for one region: a ``_validity_pattern`` per
    national number length, compiled when first needed (some patterns are kilobytes long)."""

    __slots__ = ("_by_length", "_metadata")

    def __init__(self, metadata: PhoneMetadata) -> None:
        self._metadata = metadata
        self._by_length: dict[int, re.Pattern[str] | None] = {}

    def is_valid(self, national: str) -> bool:
        """Whether the national significant number ``national`` is valid for the region."""
        length = len(national)
        try:
            pattern = self._by_length[length]
        except KeyError:
            pattern = self._by_length.setdefault(length, _validity_pattern(self._metadata, length))
        return pattern is not None and pattern.fullmatch(national) is not None


@dataclass(frozen=True, slots=True)
class _CallingCodeRules:
    """The regions of a calling code and what tells them apart, in ``phonenumbers``' order, with
    the national prefix of the main region. No regions: a non-geographic code (``+800``, ...)."""

    regions: tuple[tuple[str, re.Pattern[str] | None, _RegionRules], ...]
    """Each region, its leading digits when its metadata has them, and its validity rules."""
    national_prefix: re.Pattern[str] | None
    """The main region's ``national_prefix_for_parsing``: where it matches, ``phonenumbers`` may
    strip it, so the full parse decides."""

    def valid_region(self, national: str) -> str | None:
        """``phonenumbers.region_code_for_number`` when ``is_valid_number``, else None.

        The region is the only one, else the first whose leading digits match or, for a region
        without leading digits, the first that the number is valid for.
        """
        if len(self.regions) == 1:
            region, _, rules = self.regions[0]
            return region if rules.is_valid(national) else None
        for region, leading_digits, rules in self.regions:
            if leading_digits is None:
                if rules.is_valid(national):
                    return region
            elif leading_digits.match(national):
                return region if rules.is_valid(national) else None
        return None


def _compile_calling_code(code: int) -> _CallingCodeRules:
    """The rules of a calling code (its number patterns are compiled when first needed)."""
    regions = []
    for region in COUNTRY_CODE_TO_REGION_CODE[code]:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is not None:  # None: the non-geographic entity "001"
            leading_digits = re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None
            regions.append((region, leading_digits, _RegionRules(metadata)))
    first = PhoneMetadata.metadata_for_region(regions[0][0]) if regions else None
    prefix = first.national_prefix_for_parsing if first is not None else None
    return _CallingCodeRules(tuple(regions), re.compile(prefix) if prefix else None)


def _calling_code_prefixes() -> dict[str, tuple[int, int]]:
    """``phonenumbers``' ``_extract_country_code`` for every three first digits: the calling code
    formed by the shortest prefix that is an assigned one, and that prefix's length. Absent when
    none is (an unassigned code, or a leading 0)."""
    prefixes = {}
    for first_three in range(100, 1000):
        digits = str(first_three)
        for size in (1, 2, 3):
            if int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE:
                prefixes[digits] = (int(digits[:size]), size)
                break
    return prefixes


_CALLING_CODE_PREFIXES = _calling_code_prefixes()

_CALLING_CODE_RULES: dict[int, _CallingCodeRules] = {}
"""``_compile_calling_code`` by calling code, compiled on first use from the metadata alone: at
most one entry per calling code in the metadata, whatever the input."""


def _fast_phone_country(candidate: str) -> object:
    """``_parsed_phone_country(candidate)`` for a plain ``+CC ...`` number, else ``_UNSURE``.

    Plain: ``+``, then at least 3 ASCII digits and common separators only. Decides it exactly as
    the full parse would: the calling code is the first 1 to 3 digits that form an assigned one
    (none: no country), non-geographic codes give no country, and the region and its validity come
    from the compiled metadata. A number where the region's national prefix could be stripped, or
    of a length ``phonenumbers`` rejects, is left to the full parse.
    """
    if not (candidate.startswith("+") and candidate.isascii()):
        return _UNSURE
    digits = candidate[1:].replace(" ", "")  # the usual separator, and the cheapest to drop
    if not digits.isdigit():
        digits = digits.encode("ascii").translate(None, _SEPARATORS).decode("ascii")
        if not digits.isdigit():
            return _UNSURE
    if len(digits) < 3:
        return _UNSURE
    found = _CALLING_CODE_PREFIXES.get(digits[:3])
    if found is None:
        return None  # no assigned calling code: phonenumbers' INVALID_COUNTRY_CODE
    code, size = found
    rules = _CALLING_CODE_RULES.get(code)
    if rules is None:
        rules = _CALLING_CODE_RULES.setdefault(code, _compile_calling_code(code))
    national = digits[size:]
    if len(national) not in _NSN_LENGTHS or (rules.national_prefix and rules.national_prefix.match(national)):
        return _UNSURE
    region = rules.valid_region(national)
    return region if region in ISO_3166_ALPHA2 else None


def _parsed_phone_country(candidate: str) -> str | None:
    """The country of ``candidate`` by the full ``phonenumbers`` parse and validation."""
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return None  # no country code, too short, too long, not a number: nothing to say
    if not phonenumbers.is_valid_number(number):
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region is not None and is_valid_country(region) else None


def phone_country(phone: str) -> str | None:
    """The country of an international phone number, or None.

    Accepts ``+CC...`` and ``00CC...`` with any usual punctuation. Gives None for a number that
    ``phonenumbers`` does not consider valid (wrong length or an unassigned range), for a
    national-format number (no default region is guessed), for non-geographic codes (``+800``,
    ``+881`` satellite, ``+882``/``+883`` international networks, ...) and for codes that are not an
    assigned ISO country (``+383`` Kosovo gives ``XK``, which is user-assigned). Where a calling code
    is shared (``+1``, ``+7``, ``+44``, ...) the number's own range decides (``+1 684`` is ``AS``).
    """
    if not isinstance(phone, str) or len(phone) > MAX_PHONE_CHARS:
        return None
    candidate = phone.strip()
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    fast = _fast_phone_country(candidate)
    if fast is not _UNSURE:
        return fast  # type: ignore[return-value]
    return _parsed_phone_country(candidate)


# --- IP addresses -----------------------------------------------------------------------------


def _boundaries(ranges: Iterable[tuple[int, int]]) -> tuple[int, ...]:
    """Inclusive integer ranges, merged where they overlap or touch, as sorted boundaries: each
    range's first value, then the value after its last. A value lies in a range exactly when an
    odd number of boundaries is at or below it, which one bisection tells."""
    merged: list[list[int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return tuple(bound for first, last in merged for bound in (first, last + 1))


_NOT_GLOBAL_V4_BOUNDS = _boundaries(_NOT_GLOBAL_V4_RANGES)
_NOT_GLOBAL_V6_BOUNDS = _boundaries(_NOT_GLOBAL_V6_RANGES)
_V4_MAPPED_PREFIX = 0xFFFF  # ::ffff:0:0/96, shifted right by 32 bits


def _is_global(value: int, bounds: tuple[int, ...]) -> bool:
    """True when ``value`` lies in none of the ranges of ``_boundaries``."""
    return not bisect.bisect_right(bounds, value) & 1


def _public_v4(value: int) -> IpAddress | None:
    """The IPv4 address ``value`` if it is global unicast, else None."""
    return ipaddress.IPv4Address(value) if _is_global(value, _NOT_GLOBAL_V4_BOUNDS) else None


def _public_v6(value: int) -> IpAddress | None:
    """The IPv6 address ``value`` if it is global unicast (IPv4-mapped ones judged as IPv4)."""
    if value >> 32 == _V4_MAPPED_PREFIX:
        return _public_v4(value & 0xFFFFFFFF)
    return ipaddress.IPv6Address(value) if _is_global(value, _NOT_GLOBAL_V6_BOUNDS) else None


def public_address(ip: IpAddress) -> IpAddress | None:
    """``ip`` in the form to look up, or None when it is not a global unicast address.

    IPv4-mapped IPv6 (``::ffff:a.b.c.d``) becomes the IPv4 address and is judged as one.
    """
    if isinstance(ip, ipaddress.IPv6Address) and (mapped := ip.ipv4_mapped) is not None:
        ip = mapped
    bounds = _NOT_GLOBAL_V4_BOUNDS if isinstance(ip, ipaddress.IPv4Address) else _NOT_GLOBAL_V6_BOUNDS
    return ip if _is_global(int(ip), bounds) else None


def _dotted_quad_country(text: str, lookup: IpCountryLookup) -> str | None:
    """The lookup's answer for ``text`` written with dots and no colon, when it is a global unicast
    IPv4 address; None otherwise.

    ``inet_pton`` accepts exactly the strict dotted quads (four decimal octets, no leading zeros)
    that ``ipaddress`` does, and such text is already ``str()`` of the address: a lookup with a
    ``country_of_text`` method gets it as is, without an address object being built.
    """
    try:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):  # ValueError: an embedded NUL or a lone surrogate
        return None
    if not _is_global(value, _NOT_GLOBAL_V4_BOUNDS):
        return None
    by_text = getattr(lookup, "country_of_text", None)
    return by_text(text) if by_text is not None else lookup.country(ipaddress.IPv4Address(value))


def _fast_public_v6(text: str) -> object:
    """``public_address(ipaddress.ip_address(text))`` for IPv6 text ``inet_pton`` accepts, parsed
    into an integer; ``_UNSURE`` for anything else (a zone index, embedded IPv4 ``inet_pton``
    rejects, text that is not an address), for ``ipaddress`` to decide."""
    try:
        return _public_v6(int.from_bytes(socket.inet_pton(socket.AF_INET6, text)))
    except (OSError, ValueError):
        return _UNSURE


def _parsed_public_address(text: str) -> IpAddress | None:
    """``public_address`` of ``text`` parsed by ``ipaddress``; None when it is not an address."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None  # deliberately not re-raised: the message would echo the address
    return public_address(address)


def ip_country(ip: str, lookup: IpCountryLookup) -> str | None:
    """The registry country of a public IP address, or None.

    ``ip`` is an IPv4 or IPv6 address in text form (surrounding white space is ignored). Gives
    None for text that is not an address, for addresses that are not global unicast (private,
    loopback, link-local, multicast, unspecified, CGNAT ``100.64.0.0/10``, benchmarking, the
    documentation ranges ``192.0.2.0/24``, ``198.51.100.0/24``, ``203.0.113.0/24``,
    ``2001:db8::/32``, ``3fff::/20``, the rest of the IANA special-purpose blocks, and IPv6 outside
    ``2000::/3``), for addresses no registry block holds, and when the registry's code is not an
    assigned ISO country (RIR data uses ``EU`` and ``AP`` for some multi-country blocks).
    IPv4-mapped IPv6 (``::ffff:a.b.c.d``) is looked up as the IPv4 address; a zone index
    (``%eth0``) is ignored.
    """
    if not isinstance(ip, str) or len(ip) > 64:
        return None
    text = ip.strip()
    if "." in text and ":" not in text:
        country = _dotted_quad_country(text, lookup)
    else:
        public = _fast_public_v6(text) if ":" in text else None
        if public is _UNSURE:
            public = _parsed_public_address(text)
        country = None if public is None else lookup.country(public)  # type: ignore[arg-type]
    if country is None:
        return None
    country = country.upper()
    return country if country in ISO_3166_ALPHA2 else None


# --- tagging ----------------------------------------------------------------------------------


def _tags_of(signal: Signal) -> dict[str, OriginTag]:
    """The tag of every assigned country for ``signal``, built once: tags are immutable, so
    reports share them."""
    return {code: OriginTag(code, signal) for code in ISO_3166_ALPHA2}


_DECLARED_TAGS = _tags_of("declared")
_IP_TAGS = _tags_of("ip")
_PHONE_TAGS = _tags_of("phone")


def _country_of_tag(tag: OriginTag) -> str:
    return tag.country


def tag_origins(signals: Mapping[str, object] | None, lookup: IpCountryLookup) -> tuple[OriginTag, ...]:
    """The origin tags of a report's ``signals`` (keys ``phone``, ``ip``, ``country``).

    Returns the tags sorted by ``(country, signal)`` with no duplicates. Every signal that gives a
    country contributes its own tag, so conflicting signals yield every country, each with its
    signal, and agreeing signals yield one tag per signal. Missing, None, non-string and unusable
    values contribute nothing; unknown keys are ignored. Never raises for any string values.
    """
    if not signals:
        return ()
    found: list[OriginTag] = []  # in signal order: each signal gives at most one tag
    # "is not None" first: most reports lack most signals, and it costs less than isinstance.
    declared = signals.get("country")
    if declared is not None and isinstance(declared, str) and (country := declared_country(declared)):
        found.append(_DECLARED_TAGS[country])
    ip = signals.get("ip")
    if ip is not None and isinstance(ip, str) and (country := ip_country(ip, lookup)):
        found.append(_IP_TAGS[country])
    phone = signals.get("phone")
    if phone is not None and isinstance(phone, str) and (country := phone_country(phone)):
        found.append(_PHONE_TAGS[country])
    if not found:
        return ()
    if len(found) > 1:
        found.sort(key=_country_of_tag)  # stable: equal countries stay in signal order
    return tuple(found)
