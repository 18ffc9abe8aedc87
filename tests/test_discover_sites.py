"""Discovery against realistic CMS sites served on loopback: the method auto-discovery picks,
the article links of each listing page, pagination, and a new statement appearing on a
listing page between two polls."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from collector.discover.auto import discover
from collector.discover.page import find_links, next_page_url
from collector.fetch import Fetcher, FetchPolicy
from tests.sites.serve import HERE, serve

SITES = sorted(p.parent.name for p in HERE.glob("*/expected.json"))
#: Loopback sites, no robots.txt checks and no politeness delay (one test site, few requests).
POLICY = FetchPolicy(allow_private=True, robots=False)


def _fetcher() -> Fetcher:
    return Fetcher(per_host_delay_s=0)


def _expected(site: str) -> dict:
    return json.loads((HERE / site / "expected.json").read_text(encoding="utf-8"))


async def _get(url: str):
    async with _fetcher() as fetcher:
        return await fetcher.fetch(url, policy=POLICY)


def _discover(url: str):
    async def run():
        async with _fetcher() as fetcher:
            return await discover(url, lambda u: fetcher.fetch(u, policy=POLICY))
    return asyncio.run(run())


def test_every_cms_kind_has_a_fixture_site():
    """The fixture set covers WordPress, Joomla, Drupal, Blogger, Ghost, a static site, a custom
    site without feed, and a site whose feed links are broken."""
    assert set(SITES) >= {"wordpress", "joomla", "drupal", "blogger", "ghost", "static",
                          "custom", "brokenfeed"}


@pytest.mark.parametrize("site", SITES)
def test_auto_discovery_picks_the_right_method(site):
    """Auto-discovery on the site's home page picks the expected kind and URL, with a reason."""
    expected = _expected(site)["auto"]
    with serve(HERE / site) as (origin, _requests):
        found = _discover(origin)
    assert (found.kind, found.url) == (expected["kind"], origin.rstrip("/") + expected["url"])
    assert found.reason
    assert found.tried


@pytest.mark.parametrize("site", SITES)
def test_listing_page_yields_exactly_the_article_links(site):
    """Without selectors the listing yields every article link once, in page order, and nothing
    else (no navigation, tags, authors, pagination, sidebar or off-site links)."""
    expected = _expected(site)
    with serve(HERE / site) as (origin, _requests):
        url = origin.rstrip("/") + expected["listing"]
        page = asyncio.run(_get(url))
        found = [c.url for c in find_links(page.content.decode("utf-8"), page.final_url)]
    want = [origin.rstrip("/") + path for path in expected["links"]]
    false_links = [u for u in found if u not in want]
    missed_links = [u for u in want if u not in found]
    assert (false_links, missed_links) == ([], [])
    assert found == want


@pytest.mark.parametrize("site", SITES)
def test_next_page_link_is_found(site):
    """The pagination link to the next (older) page is found, or None on a single page."""
    expected = _expected(site)
    with serve(HERE / site) as (origin, _requests):
        url = origin.rstrip("/") + expected["listing"]
        page = asyncio.run(_get(url))
        found = next_page_url(page.content.decode("utf-8"), page.final_url)
    want = origin.rstrip("/") + expected["next"] if expected["next"] else None
    assert found == want


def test_broken_feed_links_fall_through_and_are_reported():
    """A feed link that is 404 and one that serves an HTML error page are both tried, reported,
    and skipped."""
    with serve(HERE / "brokenfeed") as (origin, _requests):
        found = _discover(origin)
    outcomes = dict(found.tried)
    assert outcomes[origin + "feed.xml"] == "failed: HTTP 404"
    assert outcomes[origin + "rss/"].startswith("not a feed")
    assert found.kind == "page"


def test_section_page_prefers_its_own_category_feed():
    """On a WordPress category page the category feed wins over the site-wide feed."""
    with serve(HERE / "wordpress") as (origin, _requests):
        found = _discover(origin + "category/press/")
    assert (found.kind, found.url) == ("feed", origin + "category/press/feed/")


def test_discovery_request_count_is_bounded():
    """Discovery never makes more requests than its budget, even when every guess fails."""
    with serve(HERE / "custom") as (origin, requests):
        async def run():
            async with _fetcher() as fetcher:
                return await discover(origin, lambda u: fetcher.fetch(u, policy=POLICY),
                                      max_fetches=4)
        found = asyncio.run(run())
    assert len(requests) <= 4
    assert found.kind == "page"
    assert any(outcome.startswith("not tried") for _, outcome in found.tried)


def test_new_statement_on_listing_page_is_collected_on_next_poll(tmp_path: Path):
    """Poll, add a statement to the listing, poll again: exactly the new link is new."""
    site = tmp_path / "custom"
    shutil.copytree(HERE / "custom", site)
    listing = site / "statements" / "index.html"
    with serve(site) as (origin, _requests):
        url = origin + "statements/"
        first = asyncio.run(_get(url))
        seen = {c.key for c in find_links(first.content.decode("utf-8"), first.final_url)}
        html = listing.read_text(encoding="utf-8").replace(
            "<tr><th>Date</th><th>Titre</th></tr>",
            "<tr><th>Date</th><th>Titre</th></tr>\n    <tr><td>20 juin 2024</td><td>"
            '<a href="/statements/2024-06-20-nouvelle-reglementation-des-drones">'
            "Nouvelle réglementation des drones en montagne</a></td></tr>")
        listing.write_text(html, encoding="utf-8")
        second = asyncio.run(_get(url))
        found = find_links(second.content.decode("utf-8"), second.final_url)
    new = [c for c in found if c.key not in seen]
    assert [c.url for c in new] == [
        origin + "statements/2024-06-20-nouvelle-reglementation-des-drones"]
    assert new[0].title == "Nouvelle réglementation des drones en montagne"
    assert new[0].published is not None and new[0].published.isoformat() == \
        "2024-06-20T00:00:00+00:00"
