"""The reported target: platform, canonical URL, canonical account, and the stable case id.

The same content reported in any URL spelling (``twitter.com`` or ``x.com``, ``m.``/``www.``
hosts, tracking parameters, trailing slashes, ``youtu.be`` short links, ``/shorts/`` or
``/watch?v=``) resolves to one target and therefore one ``case_id``. A URL whose host is not a
recognised platform host makes the target ``unknown`` (review), whatever the ``platform`` hint says.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Literal, NamedTuple

from router.core.mirrors import canonical_account as handle_form
from router.core.platforms import UNKNOWN, Platform, PlatformRegistry
from router.core.urls import ParsedUrl, UrlError, parse_url

TargetKind = Literal["content", "account", "link"]

_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NON_DIGIT = re.compile(r"\D")

_HANDLE_RESERVED = {
    "x": {"home", "explore", "search", "hashtag", "i", "settings", "notifications", "messages", "intent",
          "share", "compose", "login", "signup", "tos", "privacy", "about"},
    "instagram": {"p", "reel", "reels", "tv", "stories", "explore", "accounts", "direct", "about"},
    "facebook": {"watch", "reel", "groups", "photo", "photo.php", "permalink.php", "story.php",
                 "profile.php", "share", "events", "marketplace", "gaming", "help", "login", "pages", "hashtag"},
    "tiktok": {"t", "tag", "music", "discover", "search", "foryou", "explore", "embed", "video", "live"},
    "telegram": {"s", "c", "joinchat", "addstickers", "share", "proxy", "iv", "login"},
}


class Target(NamedTuple):
    """What a report is about. ``key`` is the identity used for ``case_id``: two reports are one
    case exactly when their keys are equal.

    Immutable; a named tuple rather than a frozen dataclass because one is built for every report
    and a tuple is cheaper to build."""

    platform: str
    url: str | None
    account: str | None
    kind: TargetKind
    key: str

    @property
    def case_id(self) -> str:
        return case_id_for(self.key, self.platform)


def case_id_for(key: str, platform: str) -> str:
    """Stable across processes and releases: platform id plus 96 bits of SHA-256 of the key."""
    return f"{platform}-{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def canonical_account(account: str, platform: Platform | None) -> str | None:
    """A handle without ``@``, NFKC-normalised, invisible characters removed, case-folded
    (handles on every v1 platform are case-insensitive); WhatsApp accounts keep digits only."""
    if platform is not None and platform.id == "whatsapp":
        digits = _NON_DIGIT.sub("", account)
        return digits or None
    return handle_form(account) or None


# --- platform rules ------------------------------------------------------------------------
# Each rule takes the parsed URL (host already a subdomain of the platform, or a short host)
# and returns (canonical url, account or None, kind, key) or None to fall back to the generic form.
RuleResult = tuple[str, str | None, TargetKind, str] | None


def _profile(p: Platform, u: ParsedUrl, handle: str, path: str) -> RuleResult:
    lowered = handle.lower()
    account = lowered.lstrip("@")
    return u.unparse(host=p.canonical_host, path=path.replace(handle, lowered, 1), query=()), account, "account", \
        f"{p.id}|account|{account}"


def _x(p: Platform, u: ParsedUrl) -> RuleResult:
    seg = u.segments
    if len(seg) >= 3 and seg[1] == "status" and seg[2].isdigit():
        handle = seg[0].lower()
        path = f"/{handle}/status/{seg[2]}" if handle != "i" else f"/i/status/{seg[2]}"
        # keyed by handle and id: the same id under two handles is reported as two targets
        return u.unparse(host=p.canonical_host, path=path, query=()), (None if handle == "i" else handle), \
            "content", f"x|status|{handle}|{seg[2]}"
    if len(seg) >= 4 and seg[:3] == ["i", "web", "status"] and seg[3].isdigit():
        return u.unparse(host=p.canonical_host, path=f"/i/status/{seg[3]}", query=()), None, "content", \
            f"x|status|i|{seg[3]}"
    if len(seg) == 1 and seg[0].lower() not in _HANDLE_RESERVED["x"]:
        return _profile(p, u, seg[0], f"/{seg[0]}")
    return None


def _youtube(p: Platform, u: ParsedUrl) -> RuleResult:
    seg = u.segments
    video = None
    if u.host == "youtu.be" and seg:
        video = seg[0]
    elif seg and seg[0] == "watch":
        video = u.param("v")
    elif len(seg) >= 2 and seg[0] in ("shorts", "embed", "live", "v", "e"):
        video = seg[1]
    if video and _VIDEO_ID.fullmatch(video):
        return u.unparse(host=p.canonical_host, path="/watch", query=(("v", video),)), None, "content", \
            f"youtube|video|{video}"
    if seg and seg[0].startswith("@"):
        return _profile(p, u, seg[0], f"/{seg[0]}")
    if len(seg) >= 2 and seg[0] in ("c", "user"):
        return _profile(p, u, seg[1], f"/{seg[0]}/{seg[1]}")
    if len(seg) >= 2 and seg[0] == "channel":
        return u.unparse(host=p.canonical_host, path=f"/channel/{seg[1]}", query=()), seg[1], "account", \
            f"youtube|channel|{seg[1]}"
    if seg and seg[0] == "playlist" and u.param("list"):
        lst = u.param("list") or ""
        return u.unparse(host=p.canonical_host, query=(("list", lst),)), None, "content", f"youtube|playlist|{lst}"
    return None


def _instagram(p: Platform, u: ParsedUrl) -> RuleResult:
    seg = u.segments
    if len(seg) >= 3 and seg[1] in ("p", "reel", "reels", "tv"):
        seg = seg[1:]  # /<user>/p/<code>
    if len(seg) >= 2 and seg[0] in ("p", "reel", "reels", "tv"):
        code = seg[1]
        return u.unparse(host=p.canonical_host, path=f"/p/{code}", query=()), None, "content", \
            f"instagram|media|{code}"
    if len(seg) == 1 and seg[0].lower() not in _HANDLE_RESERVED["instagram"]:
        return _profile(p, u, seg[0], f"/{seg[0]}")
    return None


_FB_KEEP = ("v", "story_fbid", "id", "fbid", "set", "multi_permalinks", "comment_id")


def _facebook(p: Platform, u: ParsedUrl) -> RuleResult:
    if u.host in p.short_hosts:
        return None
    seg = u.segments
    query = tuple([(k, v) for k, v in u.query if k in _FB_KEEP]) if u.query else ()
    if seg and seg[0].lower() == "profile.php" and u.param("id"):
        ident = u.param("id") or ""
        return u.unparse(host=p.canonical_host, path="/profile.php", query=(("id", ident),)), ident, "account", \
            f"facebook|account|{ident}"
    if len(seg) == 1 and seg[0].lower() not in _HANDLE_RESERVED["facebook"] and not query:
        return _profile(p, u, seg[0], f"/{seg[0]}")
    if seg and seg[0].lower() not in _HANDLE_RESERVED["facebook"]:
        # /<page>/posts/<id>, /<page>/videos/<id>: page names are case-insensitive, ids are digits
        seg = [seg[0].lower(), *seg[1:]]
    path = "/" + "/".join(seg) if seg else "/"
    canon = u.unparse(host=p.canonical_host, path=path, query=query)
    return canon, (seg[0] if len(seg) >= 2 and seg[0] not in _HANDLE_RESERVED["facebook"] else None), \
        "content", f"facebook|{canon}"


def _whatsapp(p: Platform, u: ParsedUrl) -> RuleResult:
    seg = u.segments
    phone = None
    if u.host == "wa.me" and seg and seg[0].lstrip("+").isdigit():
        phone = seg[0].lstrip("+")
    elif seg and seg[0] == "send" and u.param("phone"):
        phone = _NON_DIGIT.sub("", u.param("phone") or "")
    if phone:
        return u.unparse(host="wa.me", path=f"/{phone}", query=()), phone, "account", f"whatsapp|account|{phone}"
    if u.host == "chat.whatsapp.com" and seg:
        return u.unparse(query=()), None, "content", f"whatsapp|group|{seg[0]}"
    if len(seg) >= 2 and seg[0] == "channel":
        return u.unparse(host="www.whatsapp.com", path=f"/channel/{seg[1]}", query=()), None, "content", \
            f"whatsapp|channel|{seg[1]}"
    return None


def _tiktok(p: Platform, u: ParsedUrl) -> RuleResult:
    seg = u.segments
    if u.host in p.short_hosts or (seg and seg[0] == "t"):
        return u.unparse(query=()), None, "link", f"tiktok|link|{u.host}{u.path}"
    if len(seg) >= 3 and seg[0].startswith("@") and seg[1] in ("video", "photo") and seg[2].isdigit():
        handle = seg[0].lower()
        return u.unparse(host=p.canonical_host, path=f"/{handle}/{seg[1]}/{seg[2]}", query=()), handle[1:], \
            "content", f"tiktok|{seg[1]}|{handle}|{seg[2]}"
    if len(seg) == 1 and seg[0].startswith("@"):
        return _profile(p, u, seg[0], f"/{seg[0]}")
    return None


def _telegram(p: Platform, u: ParsedUrl) -> RuleResult:
    seg = u.segments
    if seg and seg[0] == "s":
        seg = seg[1:]
    if not seg:
        return None
    if seg[0] in ("joinchat",) or seg[0].startswith("+"):
        return u.unparse(host=p.canonical_host, query=()), None, "content", f"telegram|invite|{'/'.join(seg)}"
    if seg[0] == "c" and len(seg) >= 2:
        path = "/" + "/".join(seg[:3])
        return u.unparse(host=p.canonical_host, path=path, query=()), None, "content", f"telegram|{path}"
    if seg[0].lower() in _HANDLE_RESERVED["telegram"]:
        return None
    channel = seg[0].lower()
    if len(seg) >= 2 and seg[1].isdigit():
        return u.unparse(host=p.canonical_host, path=f"/{channel}/{seg[1]}", query=()), channel, "content", \
            f"telegram|post|{channel}/{seg[1]}"
    return u.unparse(host=p.canonical_host, path=f"/{channel}", query=()), channel, "account", \
        f"telegram|account|{channel}"


RULES: dict[str, Callable[[Platform, ParsedUrl], RuleResult]] = {
    "x": _x,
    "youtube": _youtube,
    "instagram": _instagram,
    "facebook": _facebook,
    "whatsapp": _whatsapp,
    "tiktok": _tiktok,
    "telegram": _telegram,
}


def _generic(platform_id: str, u: ParsedUrl, host: str | None = None, path: str | None = None) -> tuple[str, str]:
    """(canonical url, key) of the generic form, with ``host`` and ``path`` replacing the URL's own."""
    url = u.unparse(host=host or None, path=path)
    return url, f"{platform_id}|url|{url}"


# Keys whose last part is an opaque identifier the platform made up (a video id, a media code, an
# invite hash): random letters that can spell anything, so never evidence of a name.
_OPAQUE_KEYS = ("youtube|video|", "youtube|playlist|", "instagram|media|", "whatsapp|group|", "whatsapp|channel|",
                "telegram|invite|", "tiktok|link|")


def opaque_ids(target: Target) -> tuple[str, ...]:
    """The platform-made identifiers in the target's URL (see ``url_for_names``)."""
    key = target.key
    if not key.startswith(_OPAQUE_KEYS):
        return ()
    ident = key.rsplit("|", 1)[1].rsplit("/", 1)[-1].lstrip("+")  # the last part of the key
    return (ident,) if len(ident) >= 3 else ()


def url_for_names(url: str | None, target: Target) -> str | None:
    """The report's URL as a place where names may appear: without the platform-made identifiers
    of its target (``https://youtu.be/ab-TTP-cdEf`` names nobody; ``t.me/ttp_media`` names TTP)."""
    if url is None:
        return None
    for ident in opaque_ids(target):
        url = url.replace(ident, "")
    return url


def target_from_url(url: str, registry: PlatformRegistry, account: str | None = None) -> Target:
    """Resolve a URL (raises UrlError when it has no usable host)."""
    parsed = parse_url(url)
    platform = registry.for_host(parsed.host) if parsed.ascii_host and parsed.port is None else None
    if platform is None:
        canon, key = _generic(UNKNOWN, parsed)
        return Target(UNKNOWN, canon, account, "content", key)
    given_account = canonical_account(account, platform) if account else None
    rule = RULES.get(platform.id)
    result = rule(platform, parsed) if rule else None
    if result is not None:
        canon_url, url_account, kind, key = result
        return Target(platform.id, canon_url, url_account or given_account, kind, key)
    short = parsed.host in platform.short_hosts
    canonical_host = None if short else platform.canonical_host
    path = parsed.path.lower() if platform.case_insensitive_paths and not short and rule is None else None
    canon, key = _generic(platform.id, parsed, canonical_host, path)
    return Target(platform.id, canon, given_account, "link" if short else "content", key)


def resolve_target(
    url: str | None, platform_hint: str | None, account: str | None, registry: PlatformRegistry
) -> Target:
    """The target of a report: its URL decides when it has one; otherwise the platform hint with
    the account. An unknown platform hint gives an ``unknown`` (review) target."""
    if url is not None:
        return target_from_url(url, registry, account)
    if account is None or platform_hint is None:
        raise UrlError("a report needs url, or platform with account")
    platform = registry.get(platform_hint)
    canon = canonical_account(account, platform)
    if canon is None:
        raise UrlError("account is empty after normalisation")
    pid = platform.id if platform is not None else UNKNOWN
    key = f"{pid}|account|{canon}" if platform is not None else f"{UNKNOWN}|account|{platform_hint}|{canon}"
    return Target(pid, None, canon, "account", key)


__all__ = ["Target", "UrlError", "canonical_account", "case_id_for", "opaque_ids", "resolve_target", "target_from_url",
           "url_for_names"]
