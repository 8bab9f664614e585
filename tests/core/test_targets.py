"""URL normalisation, platform recognition and case identity (table-driven)."""

from __future__ import annotations

import random
from collections.abc import Callable
from urllib.parse import quote, urlencode

import pytest
import yaml

from router.core import targets, urls
from router.core.platforms import PlatformConfigError, PlatformRegistry
from router.core.targets import canonical_account, resolve_target
from router.core.urls import UrlError, normalise_url, parse_url
from tests.conftest import DATA

REGISTRY = PlatformRegistry.from_dict(yaml.safe_load((DATA.parent.parent / "router/data/platforms.yaml").read_text()))


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://x.com/a/status/1", "x"),
        ("https://www.twitter.com/a/status/1", "x"),
        ("https://mobile.twitter.com/a/status/1", "x"),
        ("http://X.COM./a", "x"),
        ("http://twitter.com:443/a/status/6", "x"),
        ("https://t.co/abc", "x"),
        ("https://facebook.com/page/posts/1", "facebook"),
        ("https://web.facebook.com/watch/?v=1", "facebook"),
        ("https://m.facebook.com/page", "facebook"),
        ("https://fb.watch/abc/", "facebook"),
        ("https://instagram.com/reel/AbC/", "instagram"),
        ("https://instagr.am/p/AbC", "instagram"),
        ("https://wa.me/923001112223", "whatsapp"),
        ("https://api.whatsapp.com/send?phone=923001112223", "whatsapp"),
        ("https://chat.whatsapp.com/Invite123", "whatsapp"),
        ("https://youtu.be/abc", "youtube"),
        ("https://m.youtube.com/watch?v=abc", "youtube"),
        ("https://www.tiktok.com/@a/video/1", "tiktok"),
        ("https://vm.tiktok.com/ZMabc/", "tiktok"),
        ("https://t.me/s/chan", "telegram"),
        ("https://telegram.me/chan", "telegram"),
        # lookalikes and strangers are never trusted
        ("https://www.facebook.com.example.net/page", "unknown"),
        ("https://x.com.example.net/a/status/1", "unknown"),
        ("https://facebook.com@evil.example/page", "unknown"),
        ("https://xn--fcebook-8va.com/page", "unknown"),
        ("https://fаcebook.com/page", "unknown"),  # Cyrillic а
        ("https://facebook.co/page", "unknown"),
        ("https://notfacebook.com/page", "unknown"),
        ("https://x.com:8443/a/status/1", "unknown"),
        ("https://blog.example.com/post/1", "unknown"),
    ],
)
def test_platform_from_host(url: str, platform: str) -> None:
    assert resolve_target(url, None, None, REGISTRY).platform == platform


@pytest.mark.parametrize(
    "spellings",
    [
        ["https://x.com/NewsDesk/status/17", "https://twitter.com/newsdesk/status/17?s=20&t=abc",
         "https://mobile.twitter.com/newsdesk/status/17/photo/1", "https://www.x.com/newsdesk/status/17/"],
        ["https://www.youtube.com/watch?v=QwErTy12345", "https://youtu.be/QwErTy12345?si=share",
         "https://m.youtube.com/watch?v=QwErTy12345&feature=youtu.be", "https://youtube.com/shorts/QwErTy12345",
         "https://www.youtube.com/embed/QwErTy12345", "https://www.youtube.com/watch?v=QwErTy12345&list=PL1&t=30"],
        ["https://www.instagram.com/p/SameOne123/", "https://instagram.com/p/SameOne123/?igsh=abc",
         "https://instagr.am/reel/SameOne123", "https://www.instagram.com/someone/p/SameOne123/"],
        ["https://t.me/s/PublicChannel/12", "https://telegram.me/publicchannel/12?single"],
        ["https://www.tiktok.com/@User/video/123?is_from_webapp=1&sender_device=pc", "https://tiktok.com/@user/video/123"],
        ["https://facebook.com/SomePage/posts/123", "https://www.facebook.com/somepage/posts/123/?__cft__[0]=x",
         "https://m.facebook.com/somepage/posts/123?fbclid=abc"],
        ["https://web.facebook.com/watch/?v=456", "https://www.facebook.com/watch?v=456&mibextid=xyz"],
        ["https://wa.me/923001112223", "https://api.whatsapp.com/send?phone=923001112223&text=hi"],
        ["https://blog.example.com/post/1/", "https://BLOG.example.com/post/1?utm_source=x#frag"],
    ],
)
def test_spellings_of_one_target_are_one_case(spellings: list[str]) -> None:
    ids = {resolve_target(url, None, None, REGISTRY).case_id for url in spellings}
    assert len(ids) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://x.com/a/status/1", "https://x.com/a/status/2"),
        ("https://x.com/a/status/1", "https://x.com/b/status/1"),
        ("https://www.tiktok.com/@a/video/1", "https://www.tiktok.com/@b/video/1"),
        ("https://www.youtube.com/watch?v=AbC", "https://www.youtube.com/watch?v=abc"),  # video ids keep case
        ("https://www.instagram.com/p/AbC", "https://www.instagram.com/p/abc"),
        ("https://blog.example.com/?p=1", "https://blog.example.com/?p=2"),
        ("https://x.com/account", "https://x.com/account/status/1"),
    ],
)
def test_different_targets_are_different_cases(a: str, b: str) -> None:
    assert resolve_target(a, None, None, REGISTRY).case_id != resolve_target(b, None, None, REGISTRY).case_id


def test_canonical_forms() -> None:
    t = resolve_target("https://mobile.twitter.com/NewsDesk/status/17/photo/1?s=20", None, None, REGISTRY)
    assert (t.url, t.account, t.kind) == ("https://x.com/newsdesk/status/17", "newsdesk", "content")
    t = resolve_target("https://youtu.be/QwErTy12345?si=x", None, None, REGISTRY)
    assert t.url == "https://www.youtube.com/watch?v=QwErTy12345"
    t = resolve_target("https://www.youtube.com/@SomeChannel", None, None, REGISTRY)
    assert (t.account, t.kind) == ("somechannel", "account")
    t = resolve_target("https://t.me/s/PublicChannel", None, None, REGISTRY)
    assert (t.url, t.account, t.kind) == ("https://t.me/publicchannel", "publicchannel", "account")
    t = resolve_target("https://api.whatsapp.com/send?phone=923001112223", None, None, REGISTRY)
    assert t.url == "https://wa.me/923001112223"


def test_account_reports() -> None:
    a = resolve_target(None, "x", "@Some_Account", REGISTRY)
    b = resolve_target(None, "x", "some_account", REGISTRY)
    assert (a.platform, a.account, a.kind) == ("x", "some_account", "account")
    assert a.case_id == b.case_id
    assert resolve_target(None, "myspace", "someone", REGISTRY).platform == "unknown"
    # the hint never overrides the URL's host
    assert resolve_target("https://x.com.evil.example/a", "x", None, REGISTRY).platform == "unknown"
    with pytest.raises(UrlError):
        resolve_target(None, "x", None, REGISTRY)


def test_case_ids_are_stable() -> None:
    # pinned: a change here would split every open case across a release
    t = resolve_target("https://www.instagram.com/p/SameOne123/", None, None, REGISTRY)
    assert t.case_id == "instagram-c4040b86cf02b722bb3c4023"


@pytest.mark.parametrize("bad", ["ftp://x.com/a", "https:///nohost", "http://[::1", "mailto:a@b"])
def test_unusable_urls(bad: str) -> None:
    with pytest.raises(UrlError):
        parse_url(bad)


def test_generic_normalisation() -> None:
    assert normalise_url("HTTP://Blog.Example.com:443/a//b/../c/?utm_source=x&b=2&a=1#top") == \
        "https://blog.example.com/a/c?a=1&b=2"
    assert normalise_url("https://blog.example.com:8080/a") == "https://blog.example.com:8080/a"
    assert normalise_url("https://blog.example.com/%7Euser/") == "https://blog.example.com/~user"


def test_canonical_account() -> None:
    assert canonical_account(" @TTP\u200b_Official ", None) == "ttp_official"
    assert canonical_account("+92 300 111-2223", REGISTRY.get("whatsapp")) == "923001112223"


def test_platform_file_validation() -> None:
    with pytest.raises(PlatformConfigError, match=r"platforms\.x\.domains"):
        PlatformRegistry.from_dict({"platforms": {"x": {"name": "X", "domains": ["X.COM"], "canonical_host": "x.com"}}})
    with pytest.raises(PlatformConfigError, match="belongs to both"):
        PlatformRegistry.from_dict({"platforms": {
            "a": {"name": "A", "domains": ["a.com"], "canonical_host": "a.com"},
            "b": {"name": "B", "domains": ["a.com"], "canonical_host": "a.com"}}})
    with pytest.raises(PlatformConfigError, match="invalid platform id"):
        PlatformRegistry.from_dict({"platforms": {"unknown": {"name": "U", "domains": ["u.com"],
                                                              "canonical_host": "u.com"}}})


def test_adding_a_platform_is_configuration() -> None:
    registry = PlatformRegistry.from_dict({"platforms": {
        "mastodon_social": {"name": "Mastodon", "domains": ["mastodon.social"], "canonical_host": "mastodon.social",
                            "case_insensitive_paths": False}}})
    t = resolve_target("https://MASTODON.social/@Someone/1234/?utm_source=x", None, None, registry)
    assert (t.platform, t.url) == ("mastodon_social", "https://mastodon.social/@Someone/1234")


# --- fast paths: the same results as the general code ---------------------------------------------

def _generated_urls(count: int, seed: int = 7) -> list[str]:
    """URLs assembled from common parts and, now and then, tricky ones: upper case, user info, ports,
    percent-escapes, backslashes, whitespace, non-ASCII and punycode hosts, dot segments, fragments,
    odd queries."""
    rng = random.Random(seed)

    def pick(common: list[str], tricky: list[str]) -> str:
        return rng.choice(tricky if rng.random() < 0.06 else common)

    schemes = (["https://", "http://"], ["HTTPS://", "Http://", "ftp://", "https:/", "https:///", "//", "https:\\"])
    hosts = (
        ["x.com", "twitter.com", "mobile.twitter.com", "www.x.com", "t.co", "facebook.com", "www.facebook.com",
         "m.facebook.com", "web.facebook.com", "fb.watch", "instagram.com", "www.instagram.com", "instagr.am",
         "wa.me", "api.whatsapp.com", "chat.whatsapp.com", "youtube.com", "m.youtube.com", "youtu.be",
         "www.tiktok.com", "vm.tiktok.com", "t.me", "telegram.me", "blog.example.com", "a.b.c.facebook.com",
         "x.com.example.net", "facebook.com.evil.example", "notfacebook.com", "facebook.co", "xn--fcebook-8va.com",
         "a--b.x.com", "-x.com", "x-.com", "127.0.0.1", "1.2.3.4.5", "com", "x.c0m"],
        ["fаcebook.com", "FACEBOOK.COM", "Www.YouTube.com", "X.com", "Facebook.com", "www.X.com", "x.com.",
         "a..x.com", ".x.com", "[::1]",
         "facebook.com\\evil.example", "x.com%2eevil.example", "ex ample.com", "", "x.com:443@evil.example"],
    )
    userinfos = ([""], ["user@", "facebook.com@", "u:p@", "@"])
    ports = ([""], [":443", ":80", ":8443", ":", ":0443", ":x"])
    segments = (
        ["acct1", "@User", "@user", "status", "12345", "watch", "p", "reel", "AbC_1-x", "posts", "profile.php",
         "shorts", "channel", "+invite", "joinchat", "s", "c", "i", "web", "video", "send", "a:b", "x@y", "~t",
         "a+b", "(1)", "a.b", "a..b", "-"],
        [".", "..", ".hidden", "", "%7Euser", "%2F", "a%20b", "a%7e", "x%41", "a\\b", " ", "é", "a#b", "a?b"],
    )
    queries = (
        ["v=abc", "v=Ab_c-1", "s=20", "si=share", "utm_source=x", "UTM_Medium=y", "fbclid=1", "igsh=abc", "id=5",
         "list=PL1", "phone=923001112223", "a", "=b", "a=b=c", "", "story_fbid=9", "__cft__=1", "x~=.-_"],
        ["phone=+92%20300", "x=%41", "q=a+b", "t=1;u=2", "é=1", "a=%zz", "a b=c", "a=b#c", "a=/b"],
    )
    fragments = ([""], ["#top", "#", "#a?b=c"])
    urls = []
    for _ in range(count):
        path = "".join("/" + pick(*segments) for _ in range(rng.randrange(4)))
        if rng.random() < 0.3:
            path += pick(["/"], ["//", "/./", "/.."])
        query = "&".join(pick(*queries) for _ in range(rng.randrange(3)))
        url = (
            pick(*schemes) + pick(*userinfos) + pick(*hosts) + pick(*ports) + path
            + ("?" + query if query or rng.random() < 0.1 else "") + pick(*fragments)
        )
        if rng.random() < 0.05:
            url = rng.choice([" ", "\t", "\n", "\u00a0"]) + url + rng.choice(["", " ", "\n"])
        urls.append(url)
    return urls


GENERATED_URLS = _generated_urls(6000)


def _outcome(parse: Callable[[str], object], url: str) -> object:
    try:
        return parse(url)
    except UrlError as exc:
        return ("UrlError", str(exc))


def test_generated_urls_cover_both_paths() -> None:
    fast = sum(urls._COMMON.fullmatch(url) is not None for url in GENERATED_URLS)
    assert 0.2 * len(GENERATED_URLS) < fast < 0.8 * len(GENERATED_URLS)


def test_fast_parse_is_the_general_parse() -> None:
    for url in GENERATED_URLS:
        assert _outcome(parse_url, url) == _outcome(urls._parse_general, url), url


@pytest.mark.parametrize(
    "url",
    [
        "https://facebook.com@evil.example/page", "https://user@x.com/a", "https://x.com:8443/a", "https://x.com:443/a",
        "https://X.com/a", "HTTPS://x.com/a", "https://x.com./a", "https://x.com/%7Ea", "https://x.com\\@evil.example/",
        "https://x.com/a\\b", " https://x.com/a", "https://x.com/a ", "https://x.com/a b", "https://fаcebook.com/page",
        "https://x.com/é", "https://x.com/a/../b", "https://x.com/a//b", "https://x.com/./a", "https://x.com/a//",
        "https://x.com/a#frag", "https://x.com/a?q=a+b", "https://x.com/a?q=%41", "https://x.com/a?q=é",
        "https://[::1]/a", "ftp://x.com/a", "https:///a", "https://x.com/a?q=a;b",
    ],
)
def test_unusual_urls_take_the_general_path(url: str) -> None:
    assert urls._COMMON.fullmatch(url) is None
    assert _outcome(parse_url, url) == _outcome(urls._parse_general, url)


@pytest.mark.parametrize(
    "url",
    ["https://x.com/a/status/1", "http://www.youtube.com/watch?v=abc&t=3", "https://m.facebook.com/watch/?v=1",
     "https://blog.example.com", "https://xn--fcebook-8va.com/page"],
)
def test_common_urls_take_the_fast_path(url: str) -> None:
    assert urls._COMMON.fullmatch(url) is not None


def test_lookalikes_on_the_fast_path_are_not_trusted() -> None:
    for url in ["https://x.com.example.net/a/status/1", "https://xn--fcebook-8va.com/page",
                "https://facebook.com.evil.example/page", "https://notfacebook.com/page", "https://facebook.co/page"]:
        assert urls._COMMON.fullmatch(url) is not None
        assert resolve_target(url, "facebook", None, REGISTRY).platform == "unknown"


def test_host_table_is_the_general_walk() -> None:
    hosts = {urls._parse_general(url).host for url in GENERATED_URLS if not isinstance(_outcome(parse_url, url), tuple)}
    hosts |= set(REGISTRY._by_host) | {f"{sub}.{host}" for host in hosts for sub in ("www", "m", "api", "a.b")}
    for host in hosts:
        assert REGISTRY.for_host(host) is REGISTRY._walk(host), host


def test_encode_query_is_urlencode() -> None:
    rng = random.Random(3)
    parts = ["v", "abc", "Ab_c-1", "", "a b", "a+b", "é", "=", "&", "~._-", "%41", "/", "x?y"]
    for _ in range(2000):
        query = tuple((rng.choice(parts), rng.choice(parts)) for _ in range(rng.randrange(1, 4)))
        assert urls.encode_query(query) == urlencode(query, quote_via=quote, safe="~-._")


def test_targets_of_generated_urls_are_those_of_the_general_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve_all() -> list[object]:
        return [_outcome(lambda u: resolve_target(u, None, "@Someone", REGISTRY), url) for url in GENERATED_URLS]

    fast = resolve_all()
    monkeypatch.setattr(targets, "parse_url", urls._parse_general)
    monkeypatch.setattr(REGISTRY, "_by_host", {})
    assert resolve_all() == fast


@pytest.mark.parametrize(("url", "opaque"), [
    ("https://www.youtube.com/watch?v=TTP_4kZ9qLw", ("TTP_4kZ9qLw",)),
    ("https://youtu.be/ab-TTP-cdEf?si=x", ("ab-TTP-cdEf",)),
    ("https://www.instagram.com/p/BLA_x9Kq/", ("BLA_x9Kq",)),
    ("https://t.me/+BLAabc123", ("BLAabc123",)),
    ("https://chat.whatsapp.com/BLAx7Kq9", ("BLAx7Kq9",)),
    ("https://vm.tiktok.com/ZMTTPabc/", ("ZMTTPabc",)),
    ("https://t.me/ttp_media/5", ()),  # a channel name is a name
    ("https://x.com/bla_official/status/1", ()),
])
def test_platform_made_identifiers_are_not_read_for_names(url: str, opaque: tuple[str, ...]) -> None:
    from router.core.targets import opaque_ids, url_for_names

    target = resolve_target(url, None, None, REGISTRY)
    assert opaque_ids(target) == opaque
    kept = url_for_names(url, target)
    assert kept is not None and all(ident not in kept for ident in opaque)
    assert (kept == url) == (not opaque)
