"""IPv6 literal URLs (`http://[2001:db8::1]:8080/a`) keep their brackets wherever a URL is
canonicalised or rebuilt, and a site on an IPv6 address with a port is polled end to end."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from collector import document
from collector.dedup import canonical_url, url_key
from collector.discover.links import normalise_url, same_site, site_key
from tests.helpers import load, poll, store_of
from tests.pages import article, rss_feed, wordpress_page
from tests.webserver import Page, SiteServer, serve

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _ipv6_loopback_works() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
def site6() -> Iterator[SiteServer]:
    if not _ipv6_loopback_works():
        pytest.skip("this machine has no IPv6 loopback (::1 cannot be bound)")
    yield from serve("::1")


@pytest.mark.parametrize(("url", "canonical"), [
    ("http://[2001:db8::1]/a", "http://[2001:db8::1]/a"),
    ("http://[2001:DB8::1]:8080/a/", "http://[2001:db8::1]:8080/a"),
    ("http://[2001:db8::1]:80/a", "http://[2001:db8::1]/a"),
    ("https://[2001:db8:0:0::1]:8443/a", "https://[2001:db8::1]:8443/a"),
    ("http://[::ffff:192.0.2.1]/a?utm_source=x", "http://[::ffff:c000:201]/a"),
])
def test_canonical_url_keeps_ipv6_brackets(url, canonical):
    assert canonical_url(url) == canonical
    # the result is a URL again: canonicalising it once more changes nothing
    assert canonical_url(canonical) == canonical
    assert url_key(url) == canonical.split(":", 1)[1]


def test_ipv6_declared_canonical_is_trusted_on_the_same_address_only():
    page = "http://[2001:db8::1]:8080/news/a?utm_source=x"
    assert canonical_url(page, declared="/news/b") == "http://[2001:db8::1]:8080/news/b"
    assert canonical_url(page, declared="http://[2001:db8::2]:8080/news/b") == \
        "http://[2001:db8::1]:8080/news/a"


def test_a_bad_ipv6_literal_is_a_parse_error_naming_the_url():
    from collector.errors import ParseError

    with pytest.raises(ParseError, match=r"2001:db8::zz"):
        canonical_url("http://[2001:db8::zz]/a")


def test_links_and_site_keys_keep_ipv6_brackets():
    base = "http://[2001:db8::1]:8080/news/"
    assert normalise_url("a?utm_source=x", base) == "http://[2001:db8::1]:8080/news/a"
    assert normalise_url("http://[2001:DB8:0::1]:80/b", base) == "http://[2001:db8::1]/b"
    assert normalise_url("http://[2001:db8::zz]/b", base) is None
    assert site_key(base) == "[2001:db8::1]:8080"
    assert not same_site("http://[2001:db8::1]:8080/", "http://[2001:db8::1:8080]/")


def test_a_feed_on_an_ipv6_address_with_a_port_is_polled_end_to_end(tmp_path, site6):
    items = [article(i, f"Dockers strike {i}", T0.replace(day=i)) for i in (1, 2)]
    site6.pages["/feed/"] = Page(rss_feed("Red Dawn", site6.base, items), "application/rss+xml")
    for a in items:
        site6.pages[f"/{a.slug}/"] = Page(wordpress_page("Red Dawn", a, site6.base))
    assert site6.base.startswith("http://[::1]:")
    config = load(tmp_path, f"""sources:
  - id: reddawn
    url: {site6.url('/feed/')}
    kind: feed
""")

    [(_, outcome)] = poll(config)

    assert outcome.ok, outcome.error
    docs = list(store_of(config).iter_documents())
    assert sorted(d.title for d in docs) == sorted(a.title for a in items)
    for d in docs:
        assert d.canonical_url.startswith(f"http://[::1]:{site6.port}/statement-")
        assert d.id == document.document_id(d.canonical_url)
    # every item page was fetched, at the address the feed named
    assert all(site6.requests_for(f"/{a.slug}/") for a in items)


def test_a_listing_page_and_a_redirect_on_an_ipv6_address_are_followed(tmp_path, site6):
    """Links found on a page (discover/) and a relative redirect (fetch) resolve against an
    IPv6 base and keep its brackets and port."""
    items = [article(i, f"Dock workers refuse to load the shipment {i}", T0.replace(day=i))
             for i in (1, 2, 3)]
    links = "".join(f'<li><h2><a href="/news/2024/05/{a.slug}/">{a.title}</a></h2>'
                    f"<p>{a.paragraphs[0][:80]}</p></li>" for a in items)
    site6.pages["/statements/"] = Page(
        f"<!DOCTYPE html><html><head><title>Statements</title></head><body><main>"
        f"<h1>Statements</h1><ul>{links}</ul></main></body></html>")
    site6.pages["/moved/"] = Page("", status=301, headers={"Location": "/statements/"})
    for a in items:
        site6.pages[f"/news/2024/05/{a.slug}/"] = Page(
            wordpress_page("Red Dawn", a, f"{site6.base}/news/2024/05"))
    config = load(tmp_path, f"""sources:
  - id: listing
    url: {site6.url('/moved/')}
    kind: page
""")

    [(_, outcome)] = poll(config)

    assert outcome.ok, outcome.error
    docs = list(store_of(config).iter_documents())
    assert sorted(d.title for d in docs) == sorted(a.title for a in items)
    assert all(d.canonical_url.startswith(f"http://[::1]:{site6.port}/news/2024/05/")
               for d in docs)
    assert site6.requests_for("/statements/")
