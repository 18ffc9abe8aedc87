"""The polling benchmark's hard farm (bench/farm.py) serves what docs/benchmarks-poll.md says:
gzip when asked, its faults in their shares, a new ETag for a site that published, bounded
hangs, articles and robots.txt. A small farm with no latency and a short hang, over real
HTTP on loopback."""

from __future__ import annotations

import gzip
import re
import time
from collections import Counter

import feedparser
import httpx
import pytest

from bench import farm_content as content
from bench.farm import PROFILES, Farm, FarmProcess

N = 100
HANG_S = 0.5


@pytest.fixture(scope="module")
def farm():
    with Farm(N, profile="hard", latency=(0.0, 0.0), hang_s=HANG_S, seed=3) as f:
        yield f


def _client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=10.0, follow_redirects=False)


def _index(farm: Farm, fault: str | None) -> int:
    return next(s.index for s in farm.sites if s.fault == fault)


def test_faults_in_their_shares(farm: Farm) -> None:
    faults = farm.faults()
    kinds = PROFILES["hard"].faults
    assert sum(faults[k] for k in kinds) == round(N * PROFILES["hard"].fault_share) == 5
    assert all(faults[k] == 1 for k in kinds), faults
    shapes = [s.shape for s in farm.sites if s.shape is not None]
    assert len(shapes) == N
    assert 0.45 <= sum(s.full for s in shapes) / N <= 0.75
    assert any(s.atom for s in shapes) and not all(s.atom for s in shapes)
    assert all(10 <= s.items <= 20 for s in shapes)


def test_gzip_only_when_asked(farm: Farm) -> None:
    i = _index(farm, None)
    with _client() as c:
        packed = c.get(farm.url(i), headers={"Accept-Encoding": "gzip"})
        plain = c.get(farm.url(i), headers={"Accept-Encoding": "identity"})
    assert packed.status_code == plain.status_code == 200
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert int(packed.headers["content-length"]) < int(plain.headers["content-length"])
    assert packed.content == plain.content          # httpx decoded the gzip
    parsed = feedparser.parse(plain.content)
    assert not parsed.bozo and len(parsed.entries) == farm.sites[i].shape.items


def test_faults_answer_as_described(farm: Farm) -> None:
    with _client() as c:
        assert c.get(farm.url(_index(farm, "500"))).status_code == 500
        moved = c.get(farm.url(_index(farm, "moved")))
        assert moved.status_code == 301 and moved.headers["location"] == "/news/feed/"
        new = c.get(farm.url(_index(farm, "moved"), "/news/feed/"))
        assert new.status_code == 200
        broken = c.get(farm.url(_index(farm, "malformed")))
        assert broken.status_code == 200 and feedparser.parse(broken.content).bozo
    for atom in (False, True):     # malformed in both formats, yet readable
        shape = content.SiteShape(0, "http://127.0.0.1", full=True, atom=atom, items=10)
        parsed = feedparser.parse(content.feed_body(shape, 9, malformed=True))
        assert parsed.bozo and len(parsed.entries) == 10
        assert not feedparser.parse(content.feed_body(shape, 9)).bozo
    with _client() as c:
        big = c.get(farm.url(_index(farm, "big")), headers={"Accept-Encoding": "gzip"})
        assert big.status_code == 200 and "content-encoding" not in big.headers
        assert len(big.content) >= 2 * 1024 * 1024 and "etag" not in big.headers


def test_hang_is_bounded(farm: Farm) -> None:
    start = time.monotonic()
    with _client() as c, pytest.raises(httpx.RemoteProtocolError):
        c.get(farm.url(_index(farm, "hang")))
    elapsed = time.monotonic() - start
    assert HANG_S <= elapsed < HANG_S + 5


def test_publishing_changes_the_etag_and_serves_the_post(farm: Farm) -> None:
    farm.set_cycle(0)
    with _client() as c:
        before = {i: c.get(farm.url(i)) for i in range(N) if farm.sites[i].fault is None}
        changed = set(farm.set_cycle(1))
        deep = sorted(changed & set(before))[:2]    # parse a few: full feeds are slow to parse
        try:
            assert len(changed) == round(N * PROFILES["hard"].change_share)
            for i, old in before.items():
                got = c.get(farm.url(i), headers={"If-None-Match": old.headers["etag"]})
                if i in changed:
                    assert got.status_code == 200 and got.headers["etag"] != old.headers["etag"]
                    if i not in deep:
                        continue
                    entries = feedparser.parse(got.content).entries
                    assert len(entries) == len(feedparser.parse(old.content).entries)
                    page = c.get(entries[0].link)
                    assert page.status_code == 200 and "<article" in page.text
                    assert entries[0].link not in {e.link for e in
                                                   feedparser.parse(old.content).entries}
                else:
                    assert got.status_code == 304
        finally:
            farm.set_cycle(0)


def test_robots_and_request_kinds(farm: Farm) -> None:
    i = _index(farm, None)
    farm.reset_stats()
    with _client() as c:
        robots = c.get(farm.url(i, "/robots.txt"))
        assert robots.status_code == 200 and "Disallow: /wp-admin/" in robots.text
        link = feedparser.parse(c.get(farm.url(i)).content).entries[0].link
        assert c.get(link).status_code == 200
        assert c.get(farm.url(i, "/nothing-here")).status_code == 404
    stats = farm.reset_stats()
    assert stats.by_kind == Counter({"robots": 1, "feed": 1, "article": 1, "other": 1})
    assert stats.gzip_sent == 2      # the feed and the article; robots.txt is plain


def test_farm_process_reports_counts_and_stops() -> None:
    with FarmProcess(20, profile="hard", hang_s=HANG_S, seed=2) as farm:
        urls = farm.feed_urls()
        assert len(urls) == 20 and farm.info["median_gzip_bytes"] > 0
        with _client() as c:
            body = c.get(urls[0], headers={"Accept-Encoding": "gzip"})
        assert body.status_code in (200, 301, 500)
        stats = farm.reset_stats()
        assert stats["by_kind"] == {"feed": 1} and stats["farm_cpu_s"] >= 0
        proc = farm._proc
    assert proc is not None and proc.returncode == 0


def test_easy_profile_kept() -> None:
    with Farm(25, latency=(0.0, 0.0)) as farm, _client() as c:
        got = c.get(farm.url(0), headers={"Accept-Encoding": "gzip"})
        assert farm.url(0).endswith("/feed")
        assert "content-encoding" not in got.headers
        assert gzip.compress(got.content) != got.content
        assert farm.faults()["healthy"] == 23


def test_posts_are_not_near_duplicates_of_each_other() -> None:
    """Posts are put together from a large pool of sentences: two posts of different sites
    share few 3-word shingles, so collector's near-duplicate check keeps every new post."""
    def shingles(html: str) -> set[str]:
        words = re.sub(r"<[^>]+>", " ", html).split()
        return {" ".join(words[i:i + 3]) for i in range(len(words) - 2)}

    posts = [shingles(content.post_html(content.SiteShape(i, "", full=True, atom=False,
                                                          items=10), 30 + i % 5))
             for i in range(60)]
    worst = max(len(a & b) / min(len(a), len(b))
                for i, a in enumerate(posts) for b in posts[i + 1:])
    assert worst < 0.45
