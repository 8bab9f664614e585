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

import functools
import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.phonemetadata import PhoneMetadata

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
    """Registry country of a public IP address (offline data; see ``router.geoip``)."""

    def country(self, ip: IpAddress) -> str | None:
        """The alpha-2 code of the block holding ``ip``, or None when no block holds it."""
        ...


def is_valid_country(code: str) -> bool:
    """True when ``code`` is exactly an assigned ISO 3166-1 alpha-2 code, in upper case."""
    return code in ISO_3166_ALPHA2


def declared_country(code: str) -> str | None:
    """The declared country as an upper-case alpha-2 code, or None when it is not an assigned one.

    Case-insensitive and tolerant of surrounding white space; only ASCII letters count (so a
    dotless ``ı`` does not upper-case its way into ``I``). ``EU``, ``UK``, ``XK``, ``XX``, ``ZZ``
    and every other reserved or user-assigned code give None.
    """
    if not isinstance(code, str):
        return None
    code = code.strip()
    if len(code) != 2 or not code.isascii():
        return None
    code = code.upper()
    return code if is_valid_country(code) else None


_UNSURE = object()
_PUNCTUATION = str.maketrans("", "", " ()-./\u00a0\t")


@functools.lru_cache(maxsize=512)
def _general_pattern(region: str) -> re.Pattern[str] | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.general_desc is None or not metadata.general_desc.national_number_pattern:
        return None
    return re.compile(metadata.general_desc.national_number_pattern)


def _fast_region(candidate: str) -> object:
    """The region of a plain international number whose calling code belongs to one country,
    checked against that country's lengths and number pattern; ``_UNSURE`` otherwise (shared
    codes such as +1 and +44, odd punctuation, a trunk prefix, anything unusual), for the full
    ``phonenumbers`` parse to decide. Ten times cheaper than the parse for most numbers."""
    digits = candidate[1:].translate(_PUNCTUATION)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 17:
        return _UNSURE
    for size in (1, 2, 3):
        regions = COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
        if regions:
            break
    else:
        return None  # no such calling code
    if len(regions) != 1 or regions[0] == "001":
        return _UNSURE
    region = regions[0]
    national = digits[size:]
    metadata = PhoneMetadata.metadata_for_region(region)
    pattern = _general_pattern(region)
    if metadata is None or pattern is None or len(national) not in metadata.general_desc.possible_length:
        return _UNSURE
    if not pattern.fullmatch(national):
        return _UNSURE
    return region if is_valid_country(region) else None


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
    if candidate.startswith("+"):
        fast = _fast_region(candidate)
        if fast is not _UNSURE:
            return fast  # type: ignore[return-value]
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return None  # no country code, too short, too long, not a number: nothing to say
    if not phonenumbers.is_valid_number(number):
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region is not None and is_valid_country(region) else None


def public_address(ip: IpAddress) -> IpAddress | None:
    """``ip`` in the form to look up, or None when it is not a global unicast address.

    IPv4-mapped IPv6 (``::ffff:a.b.c.d``) becomes the IPv4 address and is judged as one.
    """
    if isinstance(ip, ipaddress.IPv6Address) and (mapped := ip.ipv4_mapped) is not None:
        ip = mapped
    ranges = _NOT_GLOBAL_V4_RANGES if isinstance(ip, ipaddress.IPv4Address) else _NOT_GLOBAL_V6_RANGES
    value = int(ip)
    if any(first <= value <= last for first, last in ranges):
        return None
    return ip


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
        try:  # strict dotted quad, without building an ipaddress object (the common case)
            address: IpAddress = ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, text))
        except OSError:
            return None
    else:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return None  # deliberately not re-raised: the message would echo the address
    public = public_address(address)
    if public is None:
        return None
    country = lookup.country(public)
    if country is None:
        return None
    country = country.upper()
    return country if is_valid_country(country) else None


def tag_origins(signals: Mapping[str, str | None] | None, lookup: IpCountryLookup) -> tuple[OriginTag, ...]:
    """The origin tags of a report's ``signals`` (keys ``phone``, ``ip``, ``country``).

    Returns the tags sorted by ``(country, signal)`` with no duplicates. Every signal that gives a
    country contributes its own tag, so conflicting signals yield every country, each with its
    signal, and agreeing signals yield one tag per signal. Missing, None, non-string and unusable
    values contribute nothing; unknown keys are ignored. Never raises for any string values.
    """
    if not signals:
        return ()
    found: set[OriginTag] = set()
    phone = signals.get("phone")
    if isinstance(phone, str) and (country := phone_country(phone)) is not None:
        found.add(OriginTag(country, "phone"))
    ip = signals.get("ip")
    if isinstance(ip, str) and (country := ip_country(ip, lookup)) is not None:
        found.add(OriginTag(country, "ip"))
    declared = signals.get("country")
    if isinstance(declared, str) and (country := declared_country(declared)) is not None:
        found.add(OriginTag(country, "declared"))
    return tuple(sorted(found, key=lambda tag: (tag.country, tag.signal)))
