"""Origin tags from report signals: router.core.origins, with a hand-written IP lookup."""

from __future__ import annotations

import dataclasses
import ipaddress
import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core import origins
from router.core.origins import (
    ISO_3166_ALPHA2,
    IpAddress,
    OriginTag,
    declared_country,
    ip_country,
    is_valid_country,
    phone_country,
    public_address,
    tag_origins,
)


class RangeLookup:
    """A few registry blocks, as the real data has them; records every address it is asked."""

    def __init__(self, blocks: dict[str, str]) -> None:
        self._blocks = [(ipaddress.ip_network(net), cc) for net, cc in blocks.items()]
        self.asked: list[IpAddress] = []

    def country(self, ip: IpAddress) -> str | None:
        self.asked.append(ip)
        return next((cc for net, cc in self._blocks if ip.version == net.version and ip in net), None)


class EverywhereLookup:
    """Every address it is asked about is in one country."""

    def __init__(self, country: str | None) -> None:
        self._country = country

    def country(self, ip: IpAddress) -> str | None:
        return self._country


def registry() -> RangeLookup:
    return RangeLookup(
        {
            "1.38.0.0/15": "IN",
            "117.102.0.0/17": "PK",
            "8.8.8.0/24": "US",
            "41.0.0.0/11": "ZA",
            "138.199.64.0/18": "EU",
            "2402:3a80::/32": "IN",
            "2400:adc0::/32": "PK",
            "2a00:1450::/32": "IE",
        }
    )


def tags(*pairs: tuple[str, str]) -> tuple[OriginTag, ...]:
    return tuple(OriginTag(country, signal) for country, signal in pairs)  # type: ignore[arg-type]


# --- the dev corpus (shared/corpus/dev.jsonl, s01-s06) and combinations -------------------------


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        pytest.param({"phone": "+93 79 555 0101"}, tags(("AF", "phone")), id="s01-phone-AF"),
        pytest.param({"phone": "+91 22 5555 0101"}, tags(("IN", "phone")), id="s02-phone-IN"),
        pytest.param({"ip": "1.38.0.1"}, tags(("IN", "ip")), id="s03-ip-IN"),
        pytest.param({"ip": "117.102.0.1"}, tags(("PK", "ip")), id="s04-ip-PK"),
        pytest.param({"country": "IN"}, tags(("IN", "declared")), id="s05-declared-IN"),
        pytest.param({"ip": "192.168.1.20"}, (), id="s06-private-ip"),
        pytest.param(
            {"phone": "+93 79 555 0101", "ip": "117.102.0.1", "country": "IN"},
            tags(("AF", "phone"), ("IN", "declared"), ("PK", "ip")),
            id="three-signals-three-countries",
        ),
        pytest.param(
            {"phone": "+91 22 5555 0101", "ip": "1.38.0.1", "country": "in"},
            tags(("IN", "declared"), ("IN", "ip"), ("IN", "phone")),
            id="agreeing-signals-one-tag-each",
        ),
        pytest.param(
            {"phone": "+92 300 1234567", "ip": "2402:3a80::1"},
            tags(("IN", "ip"), ("PK", "phone")),
            id="conflict-ipv6",
        ),
        pytest.param({"phone": "not a phone", "ip": "10.1.2.3", "country": "ZZ"}, (), id="nothing-usable"),
        pytest.param({"phone": None, "ip": None, "country": None}, (), id="all-none"),
        pytest.param({}, (), id="empty"),
        pytest.param(None, (), id="no-signals"),
        pytest.param({"email": "a@b.example", "ip": "8.8.8.8"}, tags(("US", "ip")), id="unknown-key"),
    ],
)
def test_tag_origins(signals: dict[str, str | None] | None, expected: tuple[OriginTag, ...]) -> None:
    assert tag_origins(signals, registry()) == expected


def test_tags_are_sorted_by_country_then_signal() -> None:
    result = tag_origins({"phone": "+92 300 1234567", "ip": "1.38.0.1", "country": "AF"}, registry())
    assert [(t.country, t.signal) for t in result] == [("AF", "declared"), ("IN", "ip"), ("PK", "phone")]


def test_non_string_values_are_ignored() -> None:
    signals = {"phone": 923001234567, "ip": ["1.38.0.1"], "country": b"IN"}
    assert tag_origins(signals, registry()) == ()  # type: ignore[arg-type]


def test_origin_tag_holds_country_and_signal_only() -> None:
    assert [f.name for f in dataclasses.fields(OriginTag)] == ["country", "signal"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        OriginTag("PK", "ip").country = "IN"  # type: ignore[misc]


# --- phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+93 79 555 0101", "AF"),
        ("+91 22 5555 0101", "IN"),
        ("+923001234567", "PK"),
        ("0092 300 1234567", "PK"),  # 00 international prefix
        ("  +92-300-123-4567  ", "PK"),
        ("+92 (300) 123 4567", "PK"),
        ("+1 202 555 0101", "US"),
        ("+1 684 733 1234", "AS"),  # shared +1: the area code decides
        ("+7 701 123 4567", "KZ"),  # shared +7
        ("+7 495 123 4567", "RU"),
        ("+44 20 7946 0018", "GB"),
        ("tel:+93-79-555-0101", "AF"),  # RFC 3966
        ("0300 1234567", None),  # national format: no region is guessed
        ("300 1234567", None),
        ("+93 12", None),  # too short
        ("+93 79 555 0101 555 0101 555", None),  # too long
        ("+1 999 555 0101", None),  # not a valid NANP area code
        ("+800 1234 5678", None),  # international freephone: no country
        ("+881 6 1234 5678", None),  # satellite
        ("+882 1234 567890", None),  # international networks
        ("+383 44 123 456", None),  # Kosovo: XK is user-assigned, not ISO
        ("+999 1234 5678", None),  # unassigned calling code
        ("", None),
        ("+", None),
        ("0000", None),
        ("phone", None),
        ("+" + "9" * 200, None),
    ],
)
def test_phone_country(phone: str, expected: str | None) -> None:
    assert phone_country(phone) == expected


# --- IP ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("1.38.0.1", "IN"),
        ("117.102.0.1", "PK"),
        (" 117.102.0.1\n", "PK"),
        ("8.8.8.8", "US"),
        ("41.0.0.1", "ZA"),
        ("2402:3a80::1", "IN"),
        ("2400:ADC0:0:0::1", "PK"),
        ("::ffff:117.102.0.1", "PK"),  # IPv4-mapped IPv6: looked up as IPv4
        ("2a00:1450:4001::1", "IE"),
        ("138.199.64.1", None),  # registry code EU: not a country
        ("5.5.5.5", None),  # in no registry block of this lookup
        ("2a01::1", None),
    ],
)
def test_ip_country(ip: str, expected: str | None) -> None:
    assert ip_country(ip, registry()) == expected


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "172.16.5.4",
        "172.31.255.255",
        "192.168.1.20",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.10.1",
        "100.64.0.1",
        "100.127.255.255",
        "0.0.0.0",
        "0.1.2.3",
        "192.0.0.8",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.200",
        "198.18.0.1",
        "192.88.99.1",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12:3456:789a::1",
        "fec0::1",
        "ff02::1",
        "64:ff9b::808:808",
        "100::1",
        "2001:db8::1",
        "2001:db8:ffff::1",
        "3fff::1",
        "2001::1",  # Teredo
        "2002:808:808::1",  # 6to4
        "::ffff:192.168.1.20",  # IPv4-mapped private
        "::ffff:127.0.0.1",
        "::8.8.8.8",  # deprecated IPv4-compatible
        "4000::1",  # outside 2000::/3
    ],
)
def test_non_public_addresses_give_nothing_and_never_reach_the_lookup(ip: str) -> None:
    lookup = registry()
    assert ip_country(ip, EverywhereLookup("US")) is None
    assert ip_country(ip, lookup) is None
    assert lookup.asked == []


def test_edges_of_private_blocks_are_public() -> None:
    assert public_address(ipaddress.ip_address("172.32.0.1")) is not None
    assert public_address(ipaddress.ip_address("100.128.0.1")) is not None
    assert public_address(ipaddress.ip_address("11.0.0.1")) is not None
    assert public_address(ipaddress.ip_address("2c0f:f248::1")) is not None
    assert public_address(ipaddress.ip_address("3ffe:ffff::1")) is not None  # just below 3fff::/20


def test_ipv4_mapped_address_is_looked_up_as_ipv4() -> None:
    lookup = registry()
    assert ip_country("::ffff:1.38.0.1", lookup) == "IN"
    assert lookup.asked == [ipaddress.IPv4Address("1.38.0.1")]


@pytest.mark.parametrize(
    "ip",
    [
        "",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.4:80",
        "[2001:4860::1]",
        "example.com",
        "::g",
        "1.38.0.1/24",
        "1" * 100,
    ],
)
def test_text_that_is_not_an_address_gives_nothing(ip: str) -> None:
    assert ip_country(ip, EverywhereLookup("US")) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("pk", "PK"), ("EU", None), ("AP", None), ("ZZ", None), ("XK", None), ("", None), (None, None)],
)
def test_lookup_answer_must_be_an_assigned_country(answer: str | None, expected: str | None) -> None:
    assert ip_country("8.8.8.8", EverywhereLookup(answer)) == expected


# --- declared country --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("IN", "IN"),
        ("pk", "PK"),
        ("Af", "AF"),
        (" gb ", "GB"),
        ("SS", "SS"),  # South Sudan, assigned 2011
        ("EH", "EH"),
        ("XX", None),
        ("ZZ", None),
        ("EU", None),  # exceptionally reserved
        ("UK", None),  # exceptionally reserved: the code is GB
        ("XK", None),  # user-assigned
        ("AA", None),
        ("QZ", None),
        ("AN", None),  # withdrawn (Netherlands Antilles)
        ("YU", None),
        ("IND", None),
        ("I", None),
        ("", None),
        ("ın", None),  # dotless i upper-cases to I: only ASCII letters count
        ("１２", None),
        ("I N", None),
    ],
)
def test_declared_country(code: str, expected: str | None) -> None:
    assert declared_country(code) == expected


def test_iso_list_is_the_249_assigned_codes() -> None:
    assert len(ISO_3166_ALPHA2) == 249
    assert all(len(c) == 2 and c.isascii() and c.isupper() for c in ISO_3166_ALPHA2)
    assert {"AF", "IN", "PK", "US", "GB", "SS", "CW", "SX", "BQ"} <= ISO_3166_ALPHA2
    assert not {"EU", "UK", "XK", "ZZ", "AN", "CS", "YU", "AP"} & ISO_3166_ALPHA2


def test_is_valid_country_is_exact_and_case_sensitive() -> None:
    assert is_valid_country("PK")
    assert not is_valid_country("pk")
    assert not is_valid_country(" PK")


def test_every_phonenumbers_region_is_iso_or_known_exception() -> None:
    # Regions phonenumbers can return that are not in the ISO list give no tag; keep that set known.
    regions = phonenumbers.SUPPORTED_REGIONS
    assert regions - ISO_3166_ALPHA2 <= {"AC", "TA", "XK"}


# --- properties: never raises, never leaks -----------------------------------------------------

ALLOWED_SIGNALS = {"phone", "ip", "declared"}
signal_values = st.none() | st.text(max_size=80) | st.from_regex(r"\+?[0-9 ()\-.]{0,30}", fullmatch=True)


@settings(max_examples=300)
@given(phone=signal_values, ip=signal_values, country=signal_values)
def test_arbitrary_signals_never_raise_and_give_only_country_and_kind(
    phone: str | None, ip: str | None, country: str | None
) -> None:
    result = tag_origins({"phone": phone, "ip": ip, "country": country}, EverywhereLookup("PK"))
    assert len(result) <= 3
    for tag in result:
        assert tag.country in ISO_3166_ALPHA2
        assert tag.signal in ALLOWED_SIGNALS
    assert list(result) == sorted(result, key=lambda t: (t.country, t.signal))


@st.composite
def valid_phones(draw: st.DrawFn) -> str:
    """Valid international numbers of many countries, in the formats people write."""
    region = draw(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS & ISO_3166_ALPHA2)))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    example = example or phonenumbers.example_number(region)
    assert example is not None
    style = draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.E164,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.RFC3966,
            ]
        )
    )
    return phonenumbers.format_number(example, style)


@settings(max_examples=200)
@given(phone=valid_phones())
def test_a_valid_phone_gives_its_country_but_never_its_digits(phone: str) -> None:
    result = tag_origins({"phone": phone}, EverywhereLookup(None))
    assert len(result) == 1
    assert result[0].signal == "phone"
    digits = "".join(ch for ch in phone if ch.isdigit())
    text = repr(result) + str(result) + str(dataclasses.astuple(result[0]))
    assert phone not in text
    assert digits not in text


@settings(max_examples=300)
@given(address=st.ip_addresses())
def test_an_ip_gives_a_country_but_never_the_address(address: IpAddress) -> None:
    raw = str(address)
    result = tag_origins({"ip": raw}, EverywhereLookup("PK"))
    assert result == (tags(("PK", "ip")) if public_address(address) is not None else ())
    text = repr(result) + str(result)
    assert raw not in text
    assert address.exploded not in text


# --- fast paths equal the full parses -----------------------------------------------------------
#
# phone_country decides plain "+CC ..." numbers from compiled phonenumbers metadata, and ip_country
# parses addresses with inet_pton and judges them by bisection. Over many generated inputs (valid,
# invalid, edge cases) both must answer exactly as the full phonenumbers / ipaddress paths do.


def reference_phone_country(phone: str) -> str | None:
    """phone_country through phonenumbers' own parse and validation only."""
    candidate = phone.strip()
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region in ISO_3166_ALPHA2 else None


ODD_PHONES = [
    *("", "+", "++", "+1", "+12", "+123", "00", "0044", "+44", "+440", "+4420", "+ 44 20 7946 0958"),
    *("+(44) 20 7946 0958", "+44 (0) 20 7946 0958", "+44 20 7946 0958.", "+44-20-7946-0958-"),
    *("+44 20 7946 0958 x12", "+1 800 FLOWERS", "+٩٢ ٣٠٠ ١٢٣٤٥٦٧", "tel:+44-20-7946-0958"),
    *("+92\t300\t1234567", "+54 9 11 1234 5678", "+54 11 1234 5678", "+7 701 123 4567", "+1 684 733 1234"),
]
PHONE_SEPARATORS = [" ", "-", ".", "/", "(", ")", "\u00a0", "\t", "x", "#", ",", ";", "*", "a", "\u0661", "+"]


def generated_phones(rng: random.Random) -> list[str]:
    """Example numbers of every calling code and number type, reformatted and mutated (a digit
    changed, dropped, added, a trunk prefix, random digits), random digit strings and odd input."""
    examples = [
        example
        for code, regions in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items())
        for example in (
            [phonenumbers.example_number_for_non_geo_entity(code)]
            if regions == ("001",)
            else [phonenumbers.example_number_for_type(region, kind) for region in regions for kind in PHONE_TYPES]
        )
        if example is not None
    ]
    phones = []
    for example in examples:
        code = str(example.country_code)
        national = phonenumbers.national_significant_number(example)
        phones += [
            phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164),
            phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
            f"00{code}{national}",
            f"+{code}0{national}",  # a trunk prefix after the calling code
            f"+0{code}{national}",  # calling codes never start with 0
        ]
        digits = list(national)
        operation = rng.randrange(5)
        if operation == 0:
            digits[rng.randrange(len(digits))] = str(rng.randrange(10))
        elif operation == 1:
            del digits[rng.randrange(len(digits))]
        elif operation == 2:
            digits.insert(rng.randrange(len(digits) + 1), str(rng.randrange(10)))
        elif operation == 3:
            digits = [str(rng.randrange(10)) for _ in digits]
        spaced = (d + (rng.choice(PHONE_SEPARATORS[:7]) if rng.random() < 0.2 else "") for d in digits)
        phone = "+" + code + "".join(spaced)
        if rng.random() < 0.15:
            at = rng.randrange(len(phone) + 1)
            phone = phone[:at] + rng.choice(PHONE_SEPARATORS) + phone[at:]
        phones.append(phone)
    for _ in range(1500):
        phones.append("+" + "".join(str(rng.randrange(10)) for _ in range(rng.randrange(20))))
        phones.append("".join(rng.choice("0123456789+ -()") for _ in range(rng.randrange(25))))
    return [*phones, *ODD_PHONES]


PHONE_TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
]


def test_fast_phone_path_equals_phonenumbers() -> None:
    phones = generated_phones(random.Random(20261125))
    decided_fast = 0
    for phone in phones:
        assert phone_country(phone) == reference_phone_country(phone), phone
        candidate = phone.strip()
        candidate = "+" + candidate[2:] if candidate.startswith("00") else candidate
        decided_fast += origins._fast_phone_country(candidate) is not origins._UNSURE
    assert len(phones) > 8000
    assert decided_fast > len(phones) // 3  # the comparison does exercise the fast path


@settings(max_examples=500)
@given(phone=st.from_regex(r"(\+|00)[0-9 ()\-./]{0,22}", fullmatch=True))
def test_fast_phone_path_equals_phonenumbers_for_any_digits(phone: str) -> None:
    assert phone_country(phone) == reference_phone_country(phone)


class RecordingLookup:
    """Answers PK for every address and records what it was asked, with any zone index."""

    def __init__(self) -> None:
        self.asked: list[tuple[type, IpAddress, str | None]] = []

    def country(self, ip: IpAddress) -> str | None:
        self.asked.append((type(ip), ip, getattr(ip, "scope_id", None)))
        return "PK"


ODD_ADDRESSES = [
    *("", ":", "::", ":::", "1::", "::1", "1:2:3:4:5:6:7:8", "1::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9"),
    *("::ffff:8.8.8.8", "::FFFF:8.8.8.8", "::1.2.3.4", "64:ff9b::8.8.8.8", "2402:3a80::1%", "fe80::1%1"),
    *("[2402:3a80::1]", "2402:3a80::1/32", "8.8.8.8:53", "２４０２:3a80::1", "8.8.8.８", "0x8.8.8.8", "010.1.1.1"),
    *("02402:3a80::1", "2402:3a80::1.2.3.4", "::ffff:0:8.8.8.8", "0:0:0:0:0:ffff:808:808", "\u00a08.8.8.8"),
    *("\x00", "8.8.8.8\x00", "2402:3a80::1\x00", "8.8.8.8\x00:1"),  # inet_pton raises ValueError on NUL
]
NOT_GLOBAL = [ipaddress.ip_network(net) for net in (*origins._NOT_GLOBAL_V4, *origins._NOT_GLOBAL_V6)]


def reference_ip_country(ip: str, lookup: RecordingLookup) -> str | None:
    """ip_country through ipaddress and network membership only."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address not in ipaddress.IPv6Network("2000::/3"):
        return None
    if any(address.version == net.version and address in net for net in NOT_GLOBAL):
        return None
    return lookup.country(address)


def generated_addresses(rng: random.Random) -> list[str]:
    """Addresses around every special-purpose block edge, random IPv4 and IPv6 in the usual text
    forms, and near misses (leading zeros, extra or missing parts, zone indexes, brackets, ...)."""
    texts = []
    for net in [*NOT_GLOBAL, ipaddress.IPv6Network("2000::/3")]:
        first, last = int(net.network_address), int(net.broadcast_address)
        for value in (first - 1, first, first + 1, last - 1, last, last + 1):
            if 0 <= value < 1 << net.max_prefixlen:
                address = ipaddress.ip_address(value) if net.version == 6 else ipaddress.IPv4Address(value)
                texts += [str(address), address.exploded, str(address).upper()]
                if net.version == 4:
                    texts += [f"::ffff:{address}", str(ipaddress.IPv6Address((0xFFFF << 32) | value))]
    for _ in range(3000):
        v4 = ipaddress.IPv4Address(rng.getrandbits(32))
        parts = str(v4).split(".")
        at = rng.randrange(4)
        texts += [str(v4), ".".join([*parts[:at], "0" + parts[at], *parts[at + 1 :]]), str(v4) + ".1"]
        texts += [".".join(parts[:3]), f" {v4}\n", f"{v4}/24", str(int(v4)), str(v4).replace(".", "..", 1)]
        groups = [rng.choice([0, 0, rng.getrandbits(16)]) for _ in range(8)]
        groups[0] = rng.choice([0x2402, 0x2001, 0x2002, 0x3FFF, 0x5F00, 0xFE80, 0xFF02, rng.getrandbits(16)])
        v6 = ipaddress.IPv6Address(sum(g << (16 * (7 - i)) for i, g in enumerate(groups)))
        hextets = v6.exploded.split(":")
        texts += [str(v6), v6.exploded, str(v6).upper(), f"{v6}%eth0", f"{v6}:1", str(v6).replace(":", ":::", 1)]
        texts += [":".join(hextets[:6]) + ":" + str(v4), ":".join(hextets[:7]) + "::", "::" + ":".join(hextets[1:])]
        texts += [":".join(hextets[:6]) + ":01.2.3.4", ":".join(hextets[:5]) + "::" + str(v4), v6.exploded + "0"]
    return [*texts, *ODD_ADDRESSES]


def test_fast_ip_path_equals_ipaddress() -> None:
    for text in generated_addresses(random.Random(20261125)):
        fast, full = RecordingLookup(), RecordingLookup()
        assert ip_country(text, fast) == reference_ip_country(text, full), text
        assert fast.asked == full.asked, text


def test_declared_country_table_equals_the_rule() -> None:
    def rule(code: str) -> str | None:
        code = code.strip()
        return code.upper() if len(code) == 2 and code.isascii() and code.upper() in ISO_3166_ALPHA2 else None

    letters = [chr(c) for c in range(32, 127)] + ["ı", "\u00a0", "Ｐ", "ß"]
    for first in letters:
        for second in letters:
            for code in (first + second, f" {first}{second}\n", first + second + "K"):
                assert declared_country(code) == rule(code), code


def test_tags_are_shared_but_equal_to_new_ones() -> None:
    signals = {"phone": "+92 300 1234567", "ip": "117.102.0.1", "country": "pk"}
    first, second = tag_origins(signals, registry()), tag_origins(signals, registry())
    assert first == second == tags(("PK", "declared"), ("PK", "ip"), ("PK", "phone"))


def test_every_validity_pattern_compiles() -> None:
    # Patterns are compiled on first use: make sure none of them can fail then, for any region
    # and any national number length phonenumbers accepts.
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        rules = origins._compile_calling_code(code)
        for _, _, region in rules.regions:
            for length in origins._NSN_LENGTHS:
                region.is_valid("1" * length)


class TextLookup(RecordingLookup):
    """A RecordingLookup that also answers by canonical text, as router.geoip's table does."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def country_of_text(self, text: str) -> str | None:
        self.texts.append(text)
        return "PK"


def test_a_lookup_by_text_gets_the_canonical_text_of_the_same_address() -> None:
    for text in generated_addresses(random.Random(7)):
        by_text, by_object = TextLookup(), RecordingLookup()
        assert ip_country(text, by_text) == ip_country(text, by_object), text
        asked = [str(address) for _, address, _ in by_text.asked] + by_text.texts
        assert asked == [str(address) for _, address, _ in by_object.asked], text
        assert all(str(ipaddress.IPv4Address(t)) == t for t in by_text.texts), text
