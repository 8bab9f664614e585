"""Offline IP-to-country data: the adapter behind ``router.core.origins.IpCountryLookup``.

The data is the country each Regional Internet Registry (AFRINIC, APNIC, ARIN, LACNIC, RIPE NCC)
delegated a block to, as compiled by the ``iptocc`` package (MIT OR Apache-2.0) from the RIRs'
``delegated-*-extended-latest`` statistics and embedded in its wheel as sorted range tables with
a binary search in Rust. Nothing is read from disk or fetched from the network at run time; the
data changes only when the ``iptocc`` version does. See docs/origins.md.

Load once at worker start with :meth:`IpCountryTable.load` and pass the table to
``router.core.origins.tag_origins``. Addresses never appear in an exception or a log line here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import ipaddress
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

SOURCE = "iptocc"
"""The package that ships the data (PyPI name)."""

_SBOM = "sboms/iptocc-py.cyclonedx.json"

# Long-standing delegations, one per registry family and IP version. Load checks that each gets
# some country: it proves the embedded tables are there and readable, without pinning answers that
# a registry may legitimately change.
_PROBES = ("8.8.8.8", "1.1.1.1", "193.0.0.1", "2001:4860:4860::8888", "2a00:1450:4001::1")


class IpDataError(RuntimeError):
    """The offline IP-to-country data cannot be used; the message says why and what to install."""


@dataclass(frozen=True, slots=True)
class IpCountryTable:
    """Registry country of public IP addresses, from the data embedded in ``iptocc``.

    Immutable and safe to share between threads. ``country`` is deterministic for a given
    ``data_version``. It answers for any address, including private ones: filtering those out is
    ``router.core.origins.ip_country``'s job.
    """

    source: str
    """PyPI name of the data package."""
    data_version: str
    """Its installed version: iptocc bumps it whenever the nightly RIR refresh changes the data."""
    data_built: str | None
    """Date (YYYY-MM-DD, UTC) the installed wheel was built, from its SBOM; None if not recorded.
    The RIR files are fetched by the same nightly run, so this is the data's date."""
    licence: str
    """Licence of the package and its compiled data."""
    _country_code: Callable[[str], str | None] = field(repr=False, compare=False)

    @classmethod
    def load(cls) -> IpCountryTable:
        """Load the embedded data and check it answers; raise :class:`IpDataError` if it cannot."""
        try:
            module = importlib.import_module("iptocc")
            version = importlib.metadata.version(SOURCE)
        except (ImportError, importlib.metadata.PackageNotFoundError) as exc:
            raise IpDataError(
                "IP-to-country data is not installed: the 'iptocc>=3.3,<4' package is required"
            ) from exc
        country_code = getattr(module, "country_code", None)
        if not callable(country_code):
            raise IpDataError(f"iptocc {version} has no country_code(): the router needs iptocc>=3.3,<4")
        missing = sum(1 for probe in _PROBES if not _is_code(country_code(probe)))
        if missing:
            raise IpDataError(
                f"iptocc {version} answered {missing} of {len(_PROBES)} well-known addresses with "
                "no country: its embedded data is missing or unreadable"
            )
        metadata = importlib.metadata.metadata(SOURCE)
        licence = metadata.get("License-Expression") or metadata.get("License") or "unknown"
        return cls(
            source=SOURCE,
            data_version=version,
            data_built=_built_date(),
            licence=licence,
            _country_code=country_code,
        )

    def country(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        """The alpha-2 code of the registry block holding ``ip``, or None when none holds it.

        Codes are as the registries publish them: upper case, and occasionally ``EU`` or ``AP``
        for multi-country blocks (the core turns those into no tag).
        """
        # IPv4 through inet_ntoa: the same text as str(), twice as fast. IPv6 as uncompressed hex
        # groups: valid IPv6 text, ten times cheaper than str() (which compresses zeros), and
        # without any zone index, which is not part of the address.
        packed = ip.packed
        text = socket.inet_ntoa(packed) if len(packed) == 4 else packed.hex(":", 2)
        return self._country_code(text)


    def country_of_text(self, text: str) -> str | None:
        """``country(ip)`` for ``text == str(ip)``: the data is looked up by text, so a caller that
        holds the canonical text of an address need not build the address object."""
        return self._country_code(text)


def _is_code(value: object) -> bool:
    return isinstance(value, str) and len(value) == 2 and value.isascii() and value.isupper()


def _built_date() -> str | None:
    """The wheel's build date from its CycloneDX SBOM, or None when it is absent or unreadable."""
    try:
        text = importlib.metadata.distribution(SOURCE).read_text(_SBOM)
        stamp = json.loads(text)["metadata"]["timestamp"] if text else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(stamp, str) or len(stamp) < 10:
        return None
    return stamp[:10]
