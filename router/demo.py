"""Realistic demo reports: the feed of ``router dev`` and the input of ``router bench``.

Deterministic for a seed. The mix resembles what reaches a national referral unit: posts and
accounts on the seven platforms in all their URL spellings, repeats of the same target, mentions
of proscribed groups in several spellings and scripts, origin signals, some severe reports and
removal orders, unknown hosts for review, and a few malformed records.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime

MENTIONS = [
    "Tehrik-e-Taliban Pakistan claimed the attack on the checkpoint",
    "statement of the TTP spokesman on the ceasefire",
    "Umar Media released a new video",
    "Islamic State Khorasan Province (ISKP) recruitment poster",
    "new issue of the Voice of Khurasan magazine",
    "BLA claims the convoy attack near Turbat",
    "#BalochistanLiberationArmy Majeed Brigade video",
    "message from the BLF commander",
    "Lashkar-e-Taiba fundraising appeal",
    "Jaish-e-Mohammed poster shared in the group",
    "تحریک طالبان پاکستان کا بیان",
    "ولاية خراسان",
    "T.T.P new release",
    "breaking news from the region",
    "the weather in Quetta today",
    "Pakistan Army liberation day parade",
    "The Taliban in Afghanistan announced a new minister",
    "bla bla bla",
]
PHONES = ["+92 300 1234567", "+92 333 7654321", "+93 79 555 0101", "+91 22 5555 0101", "+44 20 7946 0958"]
IPS = ["117.102.0.1", "39.32.0.1", "1.38.0.1", "8.8.8.8", "192.168.1.20", "2402:3a80::1"]
COUNTRIES = ["PK", "AF", "IN", "GB"]


def _url(rng: random.Random, n: int) -> str:
    handle = f"acct{rng.randint(1, 400)}"
    post = rng.randint(10**15, 10**16)
    video = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(11))
    return rng.choice([
        f"https://x.com/{handle}/status/{post}",
        f"https://twitter.com/{handle}/status/{post}?s=20",
        f"https://mobile.twitter.com/{handle}",
        f"https://www.facebook.com/{handle}/posts/{post}",
        f"https://m.facebook.com/watch/?v={post}",
        f"https://www.instagram.com/p/{video}/",
        f"https://instagr.am/reel/{video}?igsh=abc",
        f"https://wa.me/92300{rng.randint(1000000, 9999999)}",
        f"https://www.youtube.com/watch?v={video}",
        f"https://youtu.be/{video}?si=share",
        f"https://www.youtube.com/shorts/{video}",
        f"https://www.tiktok.com/@{handle}/video/{post}",
        f"https://t.me/s/{handle}/{rng.randint(1, 5000)}",
        f"https://t.me/{handle}",
        f"https://blog{rng.randint(1, 50)}.example.com/post/{n}",
        f"https://www.facebook.com.example.net/{handle}",
    ])


def demo_reports(seed: int = 7, start: int = 0, repeat_share: float = 0.1, invalid_share: float = 0.02
                 ) -> Iterator[tuple[bytes | None, bytes]]:
    """An endless stream of (key, value) records."""
    rng = random.Random(seed)
    recent: list[str] = []
    n = start
    while True:
        n += 1
        report_id = f"demo-{seed}-{n}"
        if rng.random() < invalid_share:
            yield None, rng.choice([b"{not json", b'{"schema": "report.submitted/v1", "report_id": "x"}',
                                    json.dumps({"schema": "report.submitted/v1", "report_id": report_id,
                                                "submitted_at": "2026-11-01T12:30:00+05:00", "source": "demo",
                                                "url": "ftp://x.com/file"}).encode()])
            continue
        url = rng.choice(recent) if recent and rng.random() < repeat_share else _url(rng, n)
        recent = ([*recent, url])[-200:]
        body: dict[str, object] = {
            "schema": "report.submitted/v1",
            "report_id": report_id,
            "submitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": rng.choice(["pta-portal", "nacta-analysts", "trusted-flagger-3", "eu-iru"]),
            "url": url,
            "text": rng.choice(MENTIONS),
            "language": "en",
            "severity": rng.choices(["normal", "high", "critical"], [80, 15, 5])[0],
            "reporter": {"id": f"analyst-{rng.randint(1, 40)}", "name": "Demo Analyst",
                         "contact": f"analyst{rng.randint(1, 40)}@example.org"},
        }
        signals = {}
        if rng.random() < 0.3:
            signals["phone"] = rng.choice(PHONES)
        if rng.random() < 0.3:
            signals["ip"] = rng.choice(IPS)
        if rng.random() < 0.2:
            signals["country"] = rng.choice(COUNTRIES)
        if signals:
            body["signals"] = signals
        if rng.random() < 0.05:
            body["legal_basis"] = ["Regulation (EU) 2021/784 removal order"]
        yield report_id.encode(), json.dumps(body, ensure_ascii=False).encode()
