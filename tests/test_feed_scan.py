"""A feed scanned for identities, then parsed again only for the items taken, must give exactly
what one full parse gives: the same keys, links and dates for every item, and the same whole
candidates for the items asked for, whatever the feed's shape (no GUID, only links, Atom ids,
entities, CDATA holding markup, comments, RSS 1.0, repeated GUIDs, malformed XML)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import combinations

import pytest

from collector.discover import feed as feedmod
from collector.discover.feed import parse_feed

URL = "http://example.org/feed"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
HEADERS = {"content-type": "application/rss+xml"}

CONTENT_NS = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'


def rss(items: str, extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" {CONTENT_NS}>'
            f"<channel><title>T</title><link>http://example.org/</link>{extra}{items}"
            "</channel></rss>").encode()


def item(k: int, *, guid: str | None = "g", link: str | None = "l", body: str = "") -> str:
    g = f"<guid isPermaLink=\"false\">{guid}{k}</guid>" if guid else ""
    lk = f"<link>http://example.org/{link}{k}</link>" if link else ""
    return (f"<item><title>Item {k} &amp; more</title>{lk}{g}"
            f"<pubDate>Mon, 0{k % 9 + 1} Jan 2024 10:00:00 GMT</pubDate>"
            f"<description>Summary {k} <![CDATA[<b>bold</b>]]></description>{body}</item>")


FULL_TEXT = ("<content:encoded><![CDATA[<p>Para with <a href=\"/rel\">a relative link</a>"
             "<script>alert(1)</script> and </item> in the text, <entry> too.</p>]]>"
             "</content:encoded>")

FEEDS = {
    "guid and link": rss("".join(item(k) for k in range(5))),
    "full text in CDATA with item tags inside": rss("".join(item(k, body=FULL_TEXT)
                                                        for k in range(5))),
    "only links": rss("".join(item(k, guid=None) for k in range(5))),
    "only guids": rss("".join(item(k, link=None) for k in range(5))),
    "entities in guid and link": rss("".join(
        f"<item><title>E{k}</title><link>http://example.org/?a={k}&amp;b=2</link>"
        f"<guid>tag:example.org,2024:&lt;{k}&gt;&#233;</guid></item>" for k in range(4))),
    "comments holding items": rss("<!-- <item><guid>fake</guid></item> -->"
                                  + "".join(item(k) for k in range(4))
                                  + "<!-- </item> -->"),
    "channel elements between items": rss(item(0) + "<ttl>60</ttl>" + item(1)
                                          + "<image><url>http://example.org/i.png</url>"
                                          "<title>T</title><link>http://example.org/</link>"
                                          "</image>" + item(2)),
    "no guid and no link": rss("".join(item(k, guid=None, link=None) for k in range(3))),
    "repeated guid": rss(item(0) + item(0, link="other") + item(1)),
    "malformed": rss("".join(item(k) for k in range(3)) + "<item><title>a & b <b>open"
                     "</title><guid>bad</guid></item>"),
    "relative links and xml:base": (
        '<?xml version="1.0"?><rss version="2.0"><channel xml:base="http://example.org/x/">'
        "<title>T</title>" + "".join(f"<item><link>p{k}</link><title>R{k}</title>"
                                     f"<description>&lt;a href=\"r{k}\"&gt;x&lt;/a&gt;"
                                     "</description></item>" for k in range(4))
        + "</channel></rss>").encode(),
    "atom": (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:base="http://example.org/"><title>A</title><id>urn:feed</id>'
        "<updated>2024-01-01T00:00:00Z</updated>"
        + "".join(f"<entry><id>urn:e:{k}</id><title type=\"html\">A &lt;b&gt;{k}&lt;/b&gt;"
                  f"</title><link href=\"/a/{k}\"/><updated>2024-01-0{k + 1}T00:00:00Z"
                  f"</updated><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/"
                  f"xhtml\"><p>Text {k} <script>x</script></p></div></content></entry>"
                  for k in range(4))
        + "</feed>").encode(),
    "atom without ids": (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        + "".join(f"<entry><title>N{k}</title><link href=\"http://example.org/n/{k}\"/>"
                  "</entry>" for k in range(3)) + "</feed>").encode(),
    "prefixed atom entries": (
        '<?xml version="1.0"?><a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title>P'
        "</a:title>" + "".join(f"<a:entry><a:id>urn:p:{k}</a:id><a:title>P{k}</a:title>"
                               "</a:entry>" for k in range(3)) + "</a:feed>").encode(),
    "rss 1.0": (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-'
        'ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://example.org/">'
        "<title>R</title><link>http://example.org/</link><items><rdf:Seq>"
        + "".join(f'<rdf:li resource="http://example.org/r/{k}"/>' for k in range(3))
        + "</rdf:Seq></items></channel>"
        + "".join(f'<item rdf:about="http://example.org/r/{k}"><title>R{k}</title>'
                  f"<link>http://example.org/r/{k}</link></item>" for k in range(3))
        + "</rdf:RDF>").encode(),
    "guid in cdata, relative guid, atom link beside link": rss(
        '<item><title>C</title><guid><![CDATA[http://example.org/c/1]]></guid></item>'
        '<item><title>R</title><guid isPermaLink="true">post-2</guid></item>'
        '<item xmlns:atom="http://www.w3.org/2005/Atom"><title>A</title>'
        '<link>http://example.org/a/3</link>'
        '<atom:link rel="alternate" type="text/html" href="http://example.org/b/3"/>'
        '<guid>g3</guid></item>'),
    "attribute values holding > and />": (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>A</title>" + "".join(
            f'<entry><title type="text">T{k}</title><category term="a>b/>c"/>'
            f'<link rel="alternate" href="http://example.org/q?x={k}&amp;y=%3E"/>'
            f"<id>urn:q:{k}</id><published>2024-02-0{k + 1}T00:00:00Z</published></entry>"
            for k in range(3)) + "</feed>").encode(),
    "identities inside an entry's source": (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>S</title>" + "".join(
            f"<entry><title>S{k}</title><source><id>urn:origin</id>"
            '<link href="http://origin.example/"/><updated>2020-01-01T00:00:00Z</updated>'
            f'</source><link href="http://example.org/s/{k}"/></entry>' for k in range(3))
        + "</feed>").encode(),
    "a link nested in another element": rss("".join(
        f'<item><title>M{k}</title><group xmlns="urn:x"><link>http://example.org/m/{k}</link>'
        f"</group><guid>m{k}</guid></item>" for k in range(3))),
    "utf-8 bytes labelled latin-1": (
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel>'
        "<title>L</title>" + "".join(f"<item><guid>caf\u00e9-{k}</guid><title>L{k}</title>"
                                     "</item>" for k in range(3))
        + "</channel></rss>").encode("utf-8"),
    "undeclared prefix": rss("".join(item(k, body=f"<x:y>{k}</x:y>") for k in range(3))),
    "internal dtd": ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "<b>y</b>">]>'
                     '<rss version="2.0"><channel><title>D</title>'
                     + "".join(item(k) for k in range(3)) + "</channel></rss>").encode(),
    "windows-1252": ('<?xml version="1.0" encoding="windows-1252"?><rss version="2.0">'
                     "<channel><title>W</title>" + "".join(
                         f"<item><guid>w{k}</guid><title>caf\xe9 {k}</title></item>"
                         for k in range(3)) + "</channel></rss>").encode("cp1252"),
    "utf-16": ('<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel>'
               "<title>U</title>" + "".join(f"<item><guid>u{k}</guid><title>U{k}</title>"
                                            "</item>" for k in range(3))
               + "</channel></rss>").encode("utf-16"),
}


def _full(body: bytes):
    return parse_feed(body, URL, headers=HEADERS, now=NOW)


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_a_scan_finds_every_item_a_full_parse_finds_with_the_same_identity(name):
    body = FEEDS[name]
    full = _full(body)
    scanned = parse_feed(body, URL, headers=HEADERS, now=NOW, scan=True)
    assert [(c.key, c.url, c.published) for c in scanned] == \
        [(c.key, c.url, c.published) for c in full]
    if any(c.identity_only for c in scanned):
        assert all(c.identity_only for c in scanned)
    else:
        # the scan declined and parsed in full: the same candidates outright
        assert scanned == full


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_the_items_taken_are_parsed_exactly_as_a_full_parse_reads_them(name):
    body = FEEDS[name]
    full = _full(body)
    scanned = parse_feed(body, URL, headers=HEADERS, now=NOW, scan=True)
    listed = [c.key for c in scanned]
    keys = [c.key for c in full]
    subsets = [list(s) for n in (1, 2) for s in combinations(keys, n)] + [keys]
    for subset in subsets:
        got = parse_feed(body, URL, headers=HEADERS, now=NOW, keys=subset, listed=listed)
        assert got == [c for c in full if c.key in set(subset)], subset
        # without the scan's list the feed is scanned inside: the same answer
        assert parse_feed(body, URL, headers=HEADERS, now=NOW, keys=subset) == got


def test_the_cut_copy_is_used_for_well_formed_feeds_and_refused_when_in_doubt():
    """The shortcut is really taken where it is safe (else the tests above prove nothing of
    it), and declined where the items cannot be cut for certain."""
    def only(name: str) -> object:
        body = FEEDS[name]
        keys = [c.key for c in _full(body)]
        return feedmod._only(body, URL, HEADERS, NOW, keys[:1], None)

    for name in ("guid and link", "full text in CDATA with item tags inside", "only links",
                 "atom", "rss 1.0", "comments holding items", "channel elements between items",
                 "entities in guid and link", "windows-1252"):
        assert only(name) is not None, name
    for name in ("malformed", "no guid and no link", "repeated guid", "internal dtd",
                 "utf-16", "prefixed atom entries"):
        assert only(name) is None, name


def test_a_wrong_list_of_keys_never_yields_a_wrong_item():
    """If the keys given as the scan's do not match the body (a feed changed under us), the
    check of the copy's keys falls back to the whole feed rather than mislabel an item."""
    body = FEEDS["guid and link"]
    full = _full(body)
    keys = [c.key for c in full]
    shifted = keys[1:] + keys[:1]
    got = parse_feed(body, URL, headers=HEADERS, now=NOW, keys=[shifted[0]], listed=shifted)
    assert got == [c for c in full if c.key == shifted[0]]


def test_an_item_end_tag_hidden_in_cdata_or_a_comment_does_not_cut_an_item():
    spans = feedmod._item_spans(FEEDS["full text in CDATA with item tags inside"])
    assert spans is not None and len(spans) == 5
    assert feedmod._item_spans(FEEDS["comments holding items"]) is not None
    assert len(feedmod._item_spans(FEEDS["comments holding items"]) or []) == 4
    assert feedmod._item_spans(b"<rss><channel><item><item></item></item></channel>") is None
    assert feedmod._item_spans(b"<rss><channel><item/></channel>") is None
    assert feedmod._item_spans(b"<rss><channel><item><title>x</title></channel>") is None


def test_the_skeleton_is_read_for_well_formed_utf8_feeds_and_refused_when_in_doubt():
    """The scan reads a skeleton of the feed where that is safe (else the tests above prove
    nothing of it), and the whole feed where an identity could read otherwise."""
    def skeleton_scan(name: str) -> object:
        return feedmod._scan(FEEDS[name], URL, HEADERS, NOW)

    for name in ("guid and link", "full text in CDATA with item tags inside", "only links",
                 "only guids", "atom", "rss 1.0", "comments holding items",
                 "channel elements between items", "entities in guid and link",
                 "relative links and xml:base",
                 "guid in cdata, relative guid, atom link beside link",
                 "attribute values holding > and />"):
        assert skeleton_scan(name) is not None, name
    for name in ("malformed", "no guid and no link", "repeated guid", "internal dtd",
                 "utf-16", "windows-1252", "identities inside an entry's source",
                 "a link nested in another element", "utf-8 bytes labelled latin-1",
                 "undeclared prefix"):
        assert skeleton_scan(name) is None, name


def test_the_skeleton_keeps_only_the_identity_of_each_item():
    body = FEEDS["full text in CDATA with item tags inside"]
    skeleton = feedmod._skeleton(body, list(feedmod._tags(body)))
    assert skeleton is not None and len(skeleton) < len(body) / 2
    assert b"content:encoded" not in skeleton and b"<description>" not in skeleton
    assert skeleton.count(b"<guid") == 5 and skeleton.count(b"<pubDate>") == 5


def test_a_feed_over_the_skeletons_size_is_scanned_whole():
    """A feed of many megabytes is scanned by feedparser whole (the skeleton's tags would be
    held at once), with the same identities."""
    items = "".join(item(k, body="<extra>" + "x" * 2000 + "</extra>" * 1) for k in range(600))
    body = rss(items)
    assert len(body) > feedmod._SKELETON_MAX_BYTES
    assert feedmod._scan(body, URL, HEADERS, NOW) is None
    scanned = parse_feed(body, URL, headers=HEADERS, now=NOW, scan=True)
    assert [c.key for c in scanned] == [c.key for c in _full(body)]
    assert feedmod._scan(rss("".join(item(k) for k in range(3))), URL, HEADERS, NOW)
