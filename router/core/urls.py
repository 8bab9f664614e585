"""URL parsing and normalisation, independent of any platform.

``normalise_url`` gives the generic canonical form used for every URL: https scheme, lower-case
ASCII host without trailing dot, no user info, no default port, no fragment, no tracking
parameters, remaining parameters sorted, dot segments and duplicate or trailing slashes removed,
unreserved characters percent-decoded. Platform rules (``router.core.targets``) refine it.
"""

from __future__ import annotations

import posixpath
import re
from typing import NamedTuple
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

_UNRESERVED_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_UNRESERVED = frozenset(_UNRESERVED_CHARS)
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_WEB_PORTS = frozenset({80, 443})
_tuple_new = tuple.__new__


class UrlError(ValueError):
    """The URL cannot be parsed into scheme, host and path. Messages never echo the URL."""


class ParsedUrl(NamedTuple):
    """A URL split into normalised parts. ``host`` is lower-case; ``ascii_host`` tells whether it
    is plain ASCII (internationalised and punycode hosts are never matched to a platform).

    Immutable; a named tuple rather than a frozen dataclass because one is built for every report
    and a tuple is several times cheaper to build."""

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
        return list(filter(None, self.path.split("/")))  # the non-empty ones

    def param(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None

    def unparse(self, *, host: str | None = None, path: str | None = None,
                query: tuple[tuple[str, str], ...] | None = None) -> str:
        """The URL as text. ``host``, ``path`` and ``query`` replace the URL's own: the same text as
        ``with_(...).unparse()``, without building the intermediate ``ParsedUrl``."""
        host = self.host if host is None else host
        netloc = host if self.port is None else f"{host}:{self.port}"
        url = f"https://{netloc}{self.path if path is None else path}"
        query = self.query if query is None else query
        if query:
            url += "?" + encode_query(query)
        return url


def encode_query(query: tuple[tuple[str, str], ...]) -> str:
    """``name=value&...`` with everything but unreserved characters percent-encoded, as
    ``urlencode(query, quote_via=quote, safe="~-._")`` gives it.

    ``quote`` leaves a name or value made of unreserved characters as it is: when all are (the
    usual case), they are joined directly.
    """
    for name, value in query:
        if (name + value).strip(_UNRESERVED_CHARS):  # something is left: a character to encode
            return urlencode(query, quote_via=quote, safe="~-._")
    return "=".join(query[0]) if len(query) == 1 else "&".join(map("=".join, query))


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


# The common shape of a reported URL, which ``parse_url`` splits without the general machinery:
# - lower-case http(s) scheme;
# - a host of lower-case ASCII letters, digits and hyphens in dot-separated labels: no user info,
#   port, IPv6 literal, trailing dot or upper case;
# - a path of non-empty segments of RFC 3986 path characters, none starting with a dot, then at most
#   one trailing slash: no percent-escapes, dot segments or duplicate slashes, so that the path
#   without its trailing slash is already normalised;
# - a query of unreserved characters, ``=`` and ``&``: nothing to unquote (no ``%`` or ``+``);
# - no fragment.
# Whitespace, backslashes, non-ASCII and every other character fall outside it (general path).
# Possessive quantifiers (``*+``): no part can end earlier than its characters run, so backtracking
# would never find another match; they only make a failed match fail sooner.
_SEGMENT = r"/[A-Za-z0-9_~!$&'()*+,;=:@-][A-Za-z0-9._~!$&'()*+,;=:@-]*+"
_COMMON = re.compile(
    r"https?://"
    r"([a-z0-9-]++(?:\.[a-z0-9-]++)*+)"  # host
    rf"((?:{_SEGMENT})*+)/?"  # path, without its trailing slash
    r"(?:\?([A-Za-z0-9._~=&-]*+))?"  # query
)


def _plain_query(raw_query: str) -> tuple[tuple[str, str], ...]:
    """``parse_qsl(raw_query, keep_blank_values=True)`` without tracking parameters, sorted, for a
    query with nothing to unquote (no ``%`` or ``+``): fields split on ``&``, empty fields skipped,
    a field without ``=`` is a name with an empty value."""
    pairs = []
    for field in raw_query.split("&"):
        if field:
            name, _, value = field.partition("=")
            if not is_tracking(name):
                pairs.append((name, value))
    return tuple(sorted(pairs))


def _parse_general(url: str) -> ParsedUrl:
    """``parse_url`` for any URL: user info, ports, upper case, percent-escapes and the rest."""
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


def parse_url(url: str) -> ParsedUrl:
    """Split and normalise an http(s) URL. Raises UrlError when it has no usable host.

    A URL of the common shape (``_COMMON``; most reports) takes a fast path: its host and path are
    already normalised, it has no port or user info, and its query needs no unquoting, so it is
    split by the one regex. Anything unusual takes ``_parse_general``. Both give the same result
    (``tests/core/test_targets.py`` checks this over generated URLs).
    """
    match = _COMMON.fullmatch(url)
    if match is None:
        return _parse_general(url)
    host, path, raw_query = match.group(1, 2, 3)
    # ParsedUrl(host, ascii_host, port, path, query, had_userinfo), built as ``ParsedUrl._make`` builds it
    return _tuple_new(ParsedUrl, (
        host,
        "xn--" not in host,  # punycode hosts are never matched to a platform
        None,
        path or "/",
        _plain_query(raw_query) if raw_query else (),
        False,
    ))


def normalise_url(url: str) -> str:
    """The generic canonical form of ``url`` (see module docstring)."""
    return parse_url(url).unparse()
