"""The offline IP-to-country table (router.geoip) with the real data shipped in iptocc."""

from __future__ import annotations

import ipaddress
import json
import random
import re
import sys
from pathlib import Path

import iptocc
import pytest

from router.core.origins import ISO_3166_ALPHA2, IpCountryLookup, OriginTag, ip_country, tag_origins
from router.geoip import SOURCE, IpCountryTable, IpDataError

CORPUS = Path(__file__).resolve().parent / "data" / "dev.jsonl"  # a copy of shared/corpus/dev.jsonl

AFRICA = {
    "AO", "BF", "BI", "BJ", "BW", "CD", "CF", "CG", "CI", "CM", "CV", "DJ", "DZ", "EG", "EH", "ER", "ET",
    "GA", "GH", "GM", "GN", "GQ", "GW", "KE", "KM", "LR", "LS", "LY", "MA", "MG", "ML", "MR", "MU", "MW",
    "MZ", "NA", "NE", "NG", "RE", "RW", "SC", "SD", "SL", "SN", "SO", "SS", "ST", "SZ", "TD", "TG", "TN",
    "TZ", "UG", "YT", "ZA", "ZM", "ZW",
}  # fmt: skip


@pytest.fixture(scope="module")
def table() -> IpCountryTable:
    return IpCountryTable.load()


def test_table_is_an_ip_country_lookup(table: IpCountryTable) -> None:
    lookup: IpCountryLookup = table
    assert lookup.country(ipaddress.ip_address("117.102.0.1")) == "PK"


def test_table_names_its_source_version_and_date(table: IpCountryTable) -> None:
    assert table.source == SOURCE == "iptocc"
    assert re.fullmatch(r"3\.\d+\.\d+", table.data_version)
    assert table.data_built is None or re.fullmatch(r"20\d\d-\d\d-\d\d", table.data_built)
    assert "Apache-2.0" in table.licence
    assert "iptocc" in repr(table)


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("1.38.0.1", {"IN"}),  # dev s03
        ("117.102.0.1", {"PK"}),  # dev s04
        ("8.8.8.8", {"US"}),
        ("1.1.1.1", {"AU", "US"}),  # APNIC assigns it to APNIC Research (AU)
        ("193.0.0.1", {"NL"}),  # RIPE NCC's own block
        ("202.163.64.1", {"PK"}),
        ("39.32.0.1", {"PK"}),
        ("41.0.0.1", AFRICA),
        ("196.0.0.1", AFRICA),
        ("2402:3a80::1", {"IN"}),
        ("2a00:1450:4001::1", {"IE", "US"}),
        ("2001:4860:4860::8888", {"US"}),
        ("2c0f:f248::1", AFRICA),
    ],
)
def test_spot_checks(table: IpCountryTable, ip: str, expected: set[str]) -> None:
    assert table.country(ipaddress.ip_address(ip)) in expected


@pytest.mark.parametrize("ip", ["10.0.0.1", "192.168.1.20", "127.0.0.1", "::1", "fd00::1"])
def test_table_holds_no_private_blocks(table: IpCountryTable, ip: str) -> None:
    assert table.country(ipaddress.ip_address(ip)) is None


def test_ipv6_text_form_does_not_change_the_answer(table: IpCountryTable) -> None:
    compressed = ipaddress.IPv6Address("2402:3a80::1")
    scoped = ipaddress.IPv6Address("2402:3a80::1%7")
    assert table.country(compressed) == table.country(scoped) == "IN"


def test_ipv4_is_looked_up_by_its_canonical_text(table: IpCountryTable) -> None:
    rng = random.Random(20261125)
    edges = [0, 1, 9, 10, 99, 100, 255, 256, 0x01000000, 0xFFFFFFFF]
    for value in [*edges, *(rng.getrandbits(32) for _ in range(5000))]:
        address = ipaddress.IPv4Address(value)
        assert table.country(address) == iptocc.country_code(str(address))


def test_lookup_is_deterministic(table: IpCountryTable) -> None:
    rng = random.Random(20261125)
    v4 = [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(5000)]
    v6 = [ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124)) for _ in range(5000)]
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [*v4, *v6]
    first = [table.country(a) for a in addresses]
    again = [IpCountryTable.load().country(a) for a in addresses]
    assert first == again
    assert sum(c is not None for c in first[:5000]) > 3000  # most of IPv4 is delegated


def test_every_answer_is_a_country_or_a_registry_region(table: IpCountryTable) -> None:
    rng = random.Random(7)
    answers = {table.country(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(20000)}
    assert answers - {None} <= ISO_3166_ALPHA2 | {"EU", "AP"}


def test_registry_region_eu_gives_no_tag(table: IpCountryTable) -> None:
    assert table.country(ipaddress.ip_address("138.199.64.1")) == "EU"
    assert ip_country("138.199.64.1", table) is None


def test_dev_signals_with_real_data(table: IpCountryTable) -> None:
    assert tag_origins({"ip": "1.38.0.1"}, table) == (OriginTag("IN", "ip"),)
    assert tag_origins({"ip": "117.102.0.1"}, table) == (OriginTag("PK", "ip"),)
    assert tag_origins({"ip": "192.168.1.20"}, table) == ()
    assert tag_origins({"ip": "::ffff:117.102.0.1", "phone": "+93 79 555 0101"}, table) == (
        OriginTag("AF", "phone"),
        OriginTag("PK", "ip"),
    )


def test_dev_corpus_origins(table: IpCountryTable) -> None:
    checked = 0
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if "event" not in case or case["expect"]["route"] == "dlq":
            continue  # rejected input reaches no outbound record, so carries no origins
        countries = sorted({tag.country for tag in tag_origins(case["event"].get("signals"), table)})
        assert countries == sorted(set(case["expect"]["origins"])), case["id"]
        checked += 1
    assert checked >= 6


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "iptocc", None)  # makes `import iptocc` raise ImportError
    with pytest.raises(IpDataError, match=r"iptocc>=3\.3,<4"):
        IpCountryTable.load()


def test_empty_data_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import iptocc

    monkeypatch.setattr(iptocc, "country_code", lambda addr: None)
    with pytest.raises(IpDataError, match="embedded data is missing or unreadable"):
        IpCountryTable.load()


def test_lookup_by_text_equals_lookup_by_address(table: IpCountryTable) -> None:
    rng = random.Random(11)
    v4 = [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(3000)]
    v6 = [ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124)) for _ in range(3000)]
    for address in [*v4, *v6]:
        assert table.country_of_text(str(address)) == table.country(address)
