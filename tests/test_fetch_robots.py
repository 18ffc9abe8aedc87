"""robots.txt: RFC 9309 matching, and the fetcher honouring it through a per-host cache."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from collector import robots
from collector.errors import FetchError
from collector.fetch import Fetcher, FetchPolicy
from tests.badserver import FEED, BadServer

UA = "collector/0.1.0 (statement monitor; +https://example.org/)"
POLICY = FetchPolicy(allow_private=True, deadline_s=5)


# --- parsing and matching (pure) -------------------------------------------------------------

def test_disallow_applies_to_prefixes():
    r = robots.parse("User-agent: *\nDisallow: /private\n")
    assert not r.allowed("/private/x", UA) and not r.allowed("/private", UA)
    assert r.allowed("/public", UA)


def test_longest_match_wins_and_allow_wins_ties():
    r = robots.parse("User-agent: *\nDisallow: /news\nAllow: /news/statements\n"
                     "Disallow: /a\nAllow: /a\n")
    assert r.allowed("/news/statements/1", UA)
    assert not r.allowed("/news/other", UA)
    assert r.allowed("/a/b", UA)


def test_wildcards_and_end_anchor():
    r = robots.parse("User-agent: *\nDisallow: /*.pdf$\nDisallow: /*/print\n")
    assert not r.allowed("/docs/x.pdf", UA)
    assert r.allowed("/docs/x.pdf?download=1", UA)
    assert not r.allowed("/news/print/1", UA)


def test_our_group_overrides_the_star_group():
    r = robots.parse("User-agent: *\nDisallow: /\n\nUser-agent: Collector\nAllow: /\n")
    assert r.allowed("/feed", UA)
    assert not r.allowed("/feed", "otherbot/1.0")


def test_groups_with_several_agents_and_comments():
    r = robots.parse("# hello\nUser-agent: a\nUser-agent: collector # us\nDisallow: /x\n")
    assert not r.allowed("/x", UA) and r.allowed("/y", UA)


def test_empty_disallow_allows_everything():
    assert robots.parse("User-agent: *\nDisallow:\n").allowed("/anything", UA)


def test_no_rules_allow_everything():
    assert robots.parse("").allowed("/x", UA)
    assert robots.parse("garbage\n\x00\nSitemap: http://x/s.xml").allowed("/x", UA)


def test_robots_txt_itself_is_always_allowed():
    assert robots.parse("User-agent: *\nDisallow: /\n").allowed("/robots.txt", UA)


def test_crawl_delay_is_read():
    r = robots.parse("User-agent: *\nCrawl-delay: 5\nDisallow: /x\n")
    assert r.crawl_delay(UA) == 5.0
    assert robots.parse("User-agent: *\nCrawl-delay: nan\n").crawl_delay(UA) is None


def test_product_token_is_the_name_before_the_version():
    assert robots.product_token(UA) == "collector"


# --- the fetcher and the cache ---------------------------------------------------------------

@pytest.fixture
def server() -> Iterator[BadServer]:
    with BadServer() as s:
        yield s


def fetch_all(server: BadServer, paths: list[str], policy: FetchPolicy = POLICY):
    async def go():
        out = []
        async with Fetcher(user_agent=UA, per_host_delay_s=0) as f:
            for p in paths:
                try:
                    out.append(await f.fetch(server.url(p), policy=policy))
                except FetchError as exc:
                    out.append(exc)
        return out
    return asyncio.run(go())


def test_disallowed_url_is_not_requested(server):
    server.robots_txt = "User-agent: *\nDisallow: /feed\n"
    [err] = fetch_all(server, ["/feed"])
    assert isinstance(err, FetchError) and err.kind == "robots"
    assert server.url("/feed") in str(err)
    assert server.paths() == ["/robots.txt"]


def test_robots_is_fetched_once_per_host(server):
    server.robots_txt = "User-agent: *\nDisallow: /private\n"
    results = fetch_all(server, ["/feed", "/page", "/feed"])
    assert all(not isinstance(r, Exception) for r in results)
    assert server.paths().count("/robots.txt") == 1


def test_missing_robots_allows_all(server):
    [got] = fetch_all(server, ["/feed"])
    assert got.content == FEED


def test_forbidden_robots_allows_all(server):
    server.robots_txt, server.robots_status = "nope", 403
    [got] = fetch_all(server, ["/feed"])
    assert got.content == FEED


def test_robots_server_error_disallows_for_now(server):
    server.robots_txt, server.robots_status = "oops", 500
    [err] = fetch_all(server, ["/feed"])
    assert isinstance(err, FetchError) and err.kind == "robots"
    assert "unreachable" in str(err)
    assert "/feed" not in server.paths()


def test_robots_can_be_switched_off_for_own_sites(server):
    server.robots_txt = "User-agent: *\nDisallow: /\n"
    [got] = fetch_all(server, ["/feed"], FetchPolicy(allow_private=True, robots=False))
    assert got.content == FEED and "/robots.txt" not in server.paths()


def test_redirect_target_is_checked_against_robots(server):
    server.robots_txt = "User-agent: *\nDisallow: /feed\n"
    [err] = fetch_all(server, ["/redirect-relative"])
    assert isinstance(err, FetchError) and err.kind == "robots"
    assert "/feed" not in server.paths()


def test_host_that_cannot_be_reached_reports_the_network_error():
    with BadServer() as s:
        url = s.url("/feed")

    async def go():
        async with Fetcher(per_host_delay_s=0) as f:
            await f.fetch(url, policy=POLICY)
    with pytest.raises(FetchError) as info:
        asyncio.run(go())
    assert info.value.kind == "refused" and url in str(info.value)


def test_cache_expires_and_falls_back_to_the_old_copy_on_errors():
    clock = [0.0]
    answers = [robots.RobotsAnswer(200, b"User-agent: *\nDisallow: /x\n"),
               robots.RobotsAnswer(500, error="HTTP 500")]

    async def fake_fetch(url, policy, etag, last_modified):
        return answers.pop(0)

    async def go():
        cache = robots.RobotsCache(fake_fetch, ttl_s=100, error_ttl_s=10, clock=lambda: clock[0])
        first = await cache.allowed("http://h.test/x", UA)
        clock[0] = 200.0
        second = await cache.allowed("http://h.test/x", UA)
        third = await cache.allowed("http://h.test/y", UA)
        return first, second, third
    assert asyncio.run(go()) == (False, False, True)
    assert answers == []


def test_hosts_with_the_same_rules_share_the_parsed_rules():
    """Parsed rules are kept per host for the whole poll: the same rule stated by two hosts is
    one object (thousands of WordPress sites state the same three), and still answers each."""
    a = robots.parse("User-agent: *\nDisallow: /wp-admin/\nSitemap: https://a.example/s.xml\n")
    b = robots.parse("User-agent: *\nDisallow: /wp-admin/\nSitemap: https://b.example/s.xml\n")
    assert a.groups[0].rules[0] is b.groups[0].rules[0]
    assert not b.allowed("/wp-admin/x", "collector/1") and b.allowed("/feed/", "collector/1")
