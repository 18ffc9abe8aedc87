"""Sitemap parsing (safe XML, gzip, news, index, lastmod) and listing-page selectors."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from collector.discover.page import find_links, selector_problems
from collector.discover.sitemap import changed_since, parse_sitemap
from collector.errors import ParseError

BASE = "https://org.example/"
URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://org.example/news/older-statement</loc><lastmod>2024-01-02</lastmod></url>
  <url><loc>https://org.example/news/newest-statement</loc><lastmod>2024-06-01T10:00:00Z</lastmod></url>
  <url><loc>https://org.example/about</loc></url>
</urlset>"""


def test_sitemap_urls_come_newest_first_with_lastmod():
    result = parse_sitemap(URLSET, BASE)
    assert [c.key for c in result.candidates] == [
        "https://org.example/news/newest-statement", "https://org.example/news/older-statement",
        "https://org.example/about"]
    assert result.candidates[0].published == datetime(2024, 6, 1, 10, tzinfo=UTC)
    assert not result.is_index


def test_changed_since_keeps_newer_and_undated_urls():
    result = changed_since(parse_sitemap(URLSET, BASE), datetime(2024, 3, 1, tzinfo=UTC))
    assert [c.key for c in result.candidates] == [
        "https://org.example/news/newest-statement", "https://org.example/about"]


def test_gzipped_sitemap_index_lists_children():
    body = gzip.compress(b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>/sitemap-2023.xml</loc><lastmod>2023-12-31</lastmod></sitemap>
      <sitemap><loc>/sitemap-2024.xml</loc><lastmod>2024-06-01</lastmod></sitemap>
    </sitemapindex>""")
    result = parse_sitemap(body, BASE)
    assert result.is_index
    assert result.children == ("https://org.example/sitemap-2024.xml",
                               "https://org.example/sitemap-2023.xml")


def test_entities_are_never_expanded():
    """A billion-laughs or external-entity sitemap is read without expanding anything."""
    body = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<urlset><url><loc>https://org.example/x&b;</loc></url>
<url><loc>https://org.example/y&ext;</loc></url></urlset>"""
    result = parse_sitemap(body, BASE)
    keys = [c.key for c in result.candidates]
    assert len(keys) == 2
    assert all("aaaa" not in k and "root:" not in k for k in keys)


def test_broken_xml_is_read_leniently():
    body = b"<urlset><url><loc>https://org.example/a-b-c</loc></url><url><loc>https://org.e"
    assert [c.key for c in parse_sitemap(body, BASE).candidates] == ["https://org.example/a-b-c"]


def test_news_sitemap_gives_title_and_publication_date():
    body = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url>
      <loc>https://org.example/n/1</loc><news:news><news:publication_date>2024-05-05T08:00:00+02:00
      </news:publication_date><news:title>Our response</news:title></news:news></url></urlset>"""
    result = parse_sitemap(body, BASE)
    assert result.is_news
    assert result.candidates[0].title == "Our response"
    assert result.candidates[0].published == datetime(2024, 5, 5, 6, tzinfo=UTC)


def test_html_is_not_a_sitemap():
    with pytest.raises(ParseError):
        parse_sitemap(b"<html><body>hello</body></html>", BASE)


LISTING = """<html><body><nav><a href="/about">About</a></nav>
<div class="row"><span class="when">2024-06-03</span><a class="go" href="/x/1">One</a></div>
<div class="row"><span class="when">2024-05-03</span><a class="go" href="/x/2">Two</a></div>
<div class="row"><span class="when">2024-04-03</span><a class="go" href="/x/1">One</a></div>
</body></html>"""


def test_selectors_override_heuristics():
    """items/link/date selectors pick links the heuristics would not (short titles, short
    URLs), once each, with their dates."""
    found = find_links(LISTING, BASE, selectors={"items": "div.row", "link": "a.go",
                                                 "date": ".when"})
    assert [(c.url, c.title, c.published.date().isoformat()) for c in found] == [
        ("https://org.example/x/1", "One", "2024-06-03"),
        ("https://org.example/x/2", "Two", "2024-05-03")]


def test_bad_selector_raises_parse_error_and_is_reported_by_selector_problems():
    with pytest.raises(ParseError):
        find_links(LISTING, BASE, selectors={"items": "div[["})
    assert selector_problems({"items": "div[[", "colour": "a"}) == [
        "selector items: 'div[[' is not valid CSS",
        "unknown selector 'colour' (expected items, link, title, date)"]
