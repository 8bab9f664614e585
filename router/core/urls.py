"""URL parsing and normalisation, independent of any platform.

``normalise_url`` gives the generic canonical form used for every URL: https scheme, lower-case
ASCII host without trailing dot, no user info, no default port, no fragment, no tracking
parameters, remaining parameters sorted, dot segments and duplicate or trailing slashes removed,
unreserved characters percent-decoded. Platform rules (``router.core.targets``) refine it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

#: Query parameters that only track the click or the sharer on any site. Kept conservative: on an
#: unknown site a short name such as ``s`` or ``t`` may identify content. Platform rules
#: (``router.core.targets``) keep only the parameters that identify content on their platform.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igsh", "igshid",
        "mibextid", "yclid", "twclid", "ttclid", "li_fat_id", "_hsenc", "_hsmi", "ref_src", "ref_url",
    }
)
TRACKING_PREFIXES = ("utm_", "__cft__", "__tn__", "__xts__", "hmb_")

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_WEB_PORTS = frozenset({80, 443})


class UrlError(ValueError):
    """The URL cannot be parsed into scheme, host and path. Messages never echo the URL."""


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    """A URL split into normalised parts. ``host`` is lower-case; ``ascii_host`` tells whether it
    is plain ASCII (internationalised and punycode hosts are never matched to a platform)."""

    host: str
    ascii_host: bool
    port: int | None
    path: str
    query: tuple[tuple[str, str], ...]
    had_userinfo: bool

    def with_(self, *, host: str | None = None, path: str | None = None,
              query: tuple[tuple[str, str], ...] | None = None) -> ParsedUrl:
        return ParsedUrl(
            host=self.host if host is None else host,
            ascii_host=self.ascii_host,
            port=self.port,
            path=self.path if path is None else path,
            query=self.query if query is None else query,
            had_userinfo=self.had_userinfo,
        )

    @property
    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]

    def param(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None

    def unparse(self) -> str:
        netloc = self.host if self.port is None else f"{self.host}:{self.port}"
        url = f"https://{netloc}{self.path}"
        if self.query:
            url += "?" + urlencode(self.query, quote_via=quote, safe="~-._")
        return url


def _decode_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def normalise_path(path: str) -> str:
    """Decode unreserved escapes, drop dot segments and duplicate and trailing slashes."""
    if "%" in path:
        path = _PCT.sub(_decode_unreserved, path)
    if not path or path == "/":
        return "/"
    if "//" in path or "/." in path or not path.startswith("/"):
        path = posixpath.normpath("/" + path.lstrip("/"))
        if path in ("/", "//", "."):
            return "/"
    return path.rstrip("/") or "/"


def is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


# scheme://netloc path ?query #fragment, as urlsplit splits an absolute URL
_SPLIT = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)(?:\?([^#]*))?")


def _netloc(netloc: str) -> tuple[str | None, int | None]:
    """(host, port) of a netloc; the common plain-host case costs nothing."""
    if "@" not in netloc and ":" not in netloc and "[" not in netloc:
        return netloc, None
    parts = urlsplit(f"//{netloc}")
    return parts.hostname, parts.port


def parse_url(url: str) -> ParsedUrl:
    """Split and normalise an http(s) URL. Raises UrlError when it has no usable host."""
    match = _SPLIT.match(url.strip())
    if match is None or match.group(1).lower() not in ("http", "https"):
        raise UrlError("url must be http(s) with a host")
    netloc, path, raw_query = match.group(2), match.group(3), match.group(4)
    try:
        raw_host, port = _netloc(netloc)
    except ValueError:
        raise UrlError("url is malformed") from None
    host = (raw_host or "").rstrip(".").lower()
    if not host:
        raise UrlError("url must be http(s) with a host")
    # punycode (xn--) and non-ASCII hosts are never matched to a platform
    ascii_host = host.isascii() and "xn--" not in host
    if port in _WEB_PORTS:
        port = None  # the web's own ports, with either scheme, say nothing about the site
    query: tuple[tuple[str, str], ...] = ()
    if raw_query:
        query = tuple(
            sorted(
                (unquote(k), v)
                for k, v in parse_qsl(raw_query, keep_blank_values=True)
                if not is_tracking(unquote(k))
            )
        )
    return ParsedUrl(
        host=host,
        ascii_host=ascii_host,
        port=port,
        path=normalise_path(path),
        query=query,
        had_userinfo="@" in netloc,
    )


def normalise_url(url: str) -> str:
    """The generic canonical form of ``url`` (see module docstring)."""
    return parse_url(url).unparse()
