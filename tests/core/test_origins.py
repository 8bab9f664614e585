"""Origin tags from report signals: router.core.origins, with a hand-written IP lookup."""

from __future__ import annotations

import dataclasses
import ipaddress

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
