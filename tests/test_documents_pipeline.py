"""Statements published as documents, tables of documents and posts on another host, through
the real pipeline against sites served on loopback (a second host on 127.0.0.2)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import select

from collector.check import dry_run
from collector.document import canonical_form
from collector.errors import ConfigError
from collector.store.tables import SeenItem
from tests import docgen
from tests.helpers import load, poll, store_of
from tests.pages import article, wordpress_page
from tests.test_server_helpers import running
from tests.webserver import Page, SiteServer, serve

FIX = Path(__file__).parent / "fixtures" / "documents"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
EXPECTED = (FIX / "statement-2col.txt").read_text("utf-8")
TITLE = docgen.STATEMENT[0][1]


def fixture(name: str, ctype: str = PDF) -> Page:
    return Page((FIX / name).read_bytes(), content_type=ctype)


@pytest.fixture
def second_host() -> Iterator[SiteServer]:
    yield from serve("127.0.0.2")


def index_of(config) -> list[dict]:  # type: ignore[no-untyped-def]
    path = config.settings.documents_dir / "index.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def seen_details(config) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    store = store_of(config)
    with store.session(read=True) as s:
        return {row.url or row.key: (row.status, row.detail)
                for row in s.scalars(select(SeenItem))}


def rss(base: str, items: list[tuple[str, str, datetime]]) -> str:
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{base}{path}</link><guid>{base}{path}</guid>"
        f"<pubDate>{d.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for t, path, d in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Statements</title>'
            f"<link>{base}/</link><description>d</description>{entries}</channel></rss>")


def test_feed_whose_items_are_documents(tmp_path, site, shared_dir):
    site.pages["/feed.xml"] = Page(rss(site.base, [
        ("Shipyard statement", "/docs/shipyard.pdf", T0),
        ("ISL statement", "/docs/solidarity.pdf", T0 + timedelta(days=1)),
        ("Shipyard, Word version", "/docs/shipyard.docx", T0 + timedelta(days=2)),
        ("Shipyard, OpenDocument", "/docs/shipyard.odt", T0 + timedelta(days=3)),
    ]), content_type="application/rss+xml")
    site.pages["/docs/shipyard.pdf"] = fixture("statement-2col.pdf")
    site.pages["/docs/solidarity.pdf"] = fixture("seed003.pdf")
    site.pages["/docs/shipyard.docx"] = fixture("statement-tracked.docx", DOCX)
    site.pages["/docs/shipyard.odt"] = fixture("statement.odt", ODT)
    config = load(tmp_path, f"sources:\n  - id: union\n    url: {site.url('/feed.xml')}\n"
                            "    kind: feed\n")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.new_documents == 2 and outcome.duplicates == 2, outcome
    docs = {d.url: d for d in store_of(config).iter_documents()}
    shipyard = docs[site.url("/docs/shipyard.pdf")]
    assert shipyard.method == "pdf" and shipyard.title == TITLE
    assert shipyard.text == EXPECTED
    # the feed item's date is trusted before the date in the document's text
    assert shipyard.published_at == T0
    seed = docs[site.url("/docs/solidarity.pdf")]
    assert seed.text == canonical_form(
        (shared_dir / "seeds" / "003_7a40c7074827a100.txt").read_text("utf-8"))
    records = {r["url"]: r for r in index_of(config)}
    assert records[site.url("/docs/shipyard.pdf")]["method"] == "pdf"
    hows = {loc["url"]: loc["how"] for loc in records[site.url("/docs/shipyard.pdf")][
        "locations"]}
    # the Word and OpenDocument copies of the same statement are exact duplicates
    assert hows[site.url("/docs/shipyard.docx")] == "exact"
    assert hows[site.url("/docs/shipyard.odt")] == "exact"


ARTICLE_POINTER = """<!doctype html><html lang="en"><head><title>{title} | Union</title></head>
<body><header><nav class="menu"><a href="/">Home</a> <a href="/press/">Press</a>
<a href="/files/annual-report.pdf">Annual report (PDF)</a></nav></header>
<main><article><h1>{title}</h1><p class="date">12 March 2025</p>
<p>Read the statement (<a href="/files/{slug}.pdf">PDF, 20 KB</a>).</p></article></main>
<footer><a href="/privacy/">Privacy</a></footer></body></html>"""


def listing_page(base: str, rows: list[tuple[str, str, str]]) -> str:
    cards = "".join(f'<article class="news-item"><h2><a href="{base}{path}">{escape(t)}</a>'
                    f'</h2><time datetime="{d}">{d}</time></article>' for t, path, d in rows)
    return (f'<!doctype html><html lang="en"><head><title>Press</title></head><body>'
            f'<nav class="menu"><a href="{base}/">Home</a> <a href="{base}/about/">About</a>'
            f'</nav><main><h1>Press releases</h1>{cards}</main></body></html>')


def test_article_page_that_only_links_to_its_pdf_is_followed_and_both_urls_kept(tmp_path, site):
    site.pages["/press/"] = Page(listing_page(site.base, [
        ("Dockworkers will not accept the closure", "/press/shipyard-closure-statement",
         "2025-03-12")]))
    site.pages["/press/shipyard-closure-statement"] = Page(ARTICLE_POINTER.format(
        title="Dockworkers will not accept the closure", slug="shipyard-closure"))
    site.pages["/files/shipyard-closure.pdf"] = fixture("statement-2col.pdf")
    config = load(tmp_path, f"sources:\n  - id: union\n    url: {site.url('/press/')}\n"
                            "    kind: page\n")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.new_documents == 1, outcome
    doc, = store_of(config).iter_documents()
    assert doc.url == site.url("/files/shipyard-closure.pdf")
    assert doc.method == "pdf" and doc.text == EXPECTED
    assert site.requests_for("/files/annual-report.pdf") == []  # navigation is not followed
    record, = index_of(config)
    assert record["method"] == "pdf" and record["url"] == site.url("/files/shipyard-closure.pdf")
    assert {(loc["url"], loc["how"]) for loc in record["locations"]} >= {
        (site.url("/press/shipyard-closure-statement"), "page")}
    # the web page says where the text came from and links the document's own address
    store = store_of(config)
    with running(config, store) as srv:
        tree = LexborHTMLParser(httpx.get(f"{srv.url}/d/{doc.id}").text)
    store.close()
    meta = dict(zip([d.text() for d in tree.css("dt")], [d.text() for d in tree.css("dd")],
                    strict=True))
    assert meta["Text from"] == "PDF document"
    assert meta["Address"] == site.url("/files/shipyard-closure.pdf")
    places = {(row.css("td")[1].text(), row.css("td")[3].text()) for row in tree.css("tbody tr")}
    assert (site.url("/press/shipyard-closure-statement"), "page") in places


def press_table(base: str) -> str:
    rows = []
    for n, (title, date) in enumerate([("Statement on the shipyard closure", "14.03.2025"),
                                       ("Dockworkers and the regional plan", "15.03.2025")]):
        cells = " | ".join(f'<a href="{base}/docs/{n}_{code}.pdf">{code.upper()}</a>'
                           for code in ("en", "fr", "es"))
        formats = " ".join(f'<a href="{base}/docs/{n}_en.{ext}">{ext.upper()}</a>'
                           for ext in ("pdf", "docx"))
        rows.append(f"<tr><td>{date}</td><td>{escape(title)}</td><td>{cells}</td>"
                    f"<td>{formats}</td></tr>")
    return (f'<!doctype html><html lang="en"><body><div class="lang-switch"><a href="{base}/fr/">'
            f'FR</a> <a href="{base}/es/">ES</a></div><main><h1>Press releases</h1><table>'
            f'<tbody>{"".join(rows)}</tbody></table></main></body></html>')


@pytest.mark.parametrize(("language", "wanted"), [(None, "en"), ("fr", "fr")])
def test_press_release_table_takes_one_language_and_keeps_the_others(tmp_path, site, language,
                                                                     wanted):
    site.pages["/press/"] = Page(press_table(site.base))
    for n, name in enumerate(["statement-2col.pdf", "seed003.pdf"]):
        for code in ("en", "fr", "es"):
            site.pages[f"/docs/{n}_{code}.pdf"] = fixture(name)
        site.pages[f"/docs/{n}_en.docx"] = fixture("statement-tracked.docx", DOCX)
    lang = f"    language: {language}\n" if language else ""
    config = load(tmp_path, f"sources:\n  - id: un\n    url: {site.url('/press/')}\n"
                            f"    kind: page\n{lang}")
    (_, outcome), = poll(config)
    assert outcome.ok, outcome
    fetched = {r.path for r in site.requests if r.path.startswith("/docs/")}
    assert fetched == {f"/docs/0_{wanted}.pdf", f"/docs/1_{wanted}.pdf"}
    records = index_of(config)
    first = next(r for r in records if r["url"] == site.url(f"/docs/0_{wanted}.pdf"))
    # the row's date, its other languages and formats as locations of the same statement
    assert first["published"].startswith("2025-03-14")
    variants = {loc["url"] for loc in first["locations"] if loc["how"] == "variant"}
    assert variants == {site.url(f"/docs/0_{c}.pdf") for c in ("en", "fr", "es") if c != wanted
                        } | {site.url("/docs/0_en.docx")}


def test_document_index_page(tmp_path, site):
    site.pages["/documents/"] = Page(
        '<!doctype html><html><body><nav class="menu"><a href="/about/">About</a></nav>'
        '<main><h1>Documents</h1><ul>'
        f'<li><a href="{site.base}/docs/shipyard-closure-statement.pdf">Statement on the '
        'shipyard closure</a> (PDF, 20 KB), 14 March 2025</li>'
        f'<li><a href="{site.base}/docs/shipyard-statement-tracked.docx">Statement on the '
        'shipyard (Word)</a> (DOCX), 13 March 2025</li>'
        f'<li><a href="{site.base}/docs/solidarity-with-the-palestinian-masses.pdf">Solidarity '
        'with the Palestinian masses</a> (PDF), 10 July 2023</li>'
        '</ul></main></body></html>')
    site.pages["/docs/shipyard-closure-statement.pdf"] = fixture("statement-1col.pdf")
    site.pages["/docs/shipyard-statement-tracked.docx"] = fixture("statement-tracked.docx", DOCX)
    site.pages["/docs/solidarity-with-the-palestinian-masses.pdf"] = fixture("seed003.pdf")
    config = load(tmp_path, f"sources:\n  - id: docs\n    url: {site.url('/documents/')}\n"
                            "    kind: page\n")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.new_documents == 2 and outcome.duplicates == 1, outcome
    # stored oldest first: the Word file (13 March), then the seed; the PDF of the 14th holds
    # the Word file's text and becomes one of its locations
    docs = list(store_of(config).iter_documents())
    assert [d.method for d in docs] == ["pdf", "docx"] or [d.method for d in docs] == [
        "docx", "pdf"]
    assert {d.url for d in docs} == {site.url("/docs/shipyard-statement-tracked.docx"),
                                     site.url("/docs/solidarity-with-the-palestinian-masses.pdf")}


def test_blog_whose_posts_live_on_a_second_host(tmp_path, site, second_host):
    posts = [article(i, f"Party statement number {i}", T0 + timedelta(days=i))
             for i in range(1, 5)]
    cards = "".join(f'<div class="post"><h2><a href="{second_host.base}/{a.slug}/">'
                    f"{escape(a.title)}</a></h2><p>{a.published:%d %B %Y}</p></div>"
                    for a in posts)
    site.pages["/blog/"] = Page(
        '<!doctype html><html><body><nav class="menu"><a href="/about/">About</a></nav><main>'
        '<h1>Blog</h1><p>As <a href="http://127.0.0.3:9/politics/2025/03/minister-resigns-over'
        '-the-port">the Daily News reported</a>, the plan is in trouble.</p>'
        f'<div class="posts">{cards}</div><p><a href="http://127.0.0.4:9/campaigns/support-our'
        '-work">Donate to support our work</a></p><div class="share"><a href="https://twitter.'
        'com/intent/tweet?url=x">Tweet</a></div></main></body></html>')
    for a in posts:
        second_host.pages[f"/{a.slug}/"] = Page(wordpress_page("Party", a, second_host.base))
    config = load(tmp_path, f"sources:\n  - id: party\n    url: {site.url('/blog/')}\n"
                            "    kind: page\n")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.new_documents == 4 and outcome.skipped == 0, outcome
    urls = {d.url for d in store_of(config).iter_documents()}
    assert urls == {f"{second_host.base}/{a.slug}/" for a in posts}
    # politeness applies on the second host too: its robots.txt was asked for
    assert second_host.requests_for("/robots.txt")
    assert all(not k.startswith("http://127.0.0.3") and not k.startswith("http://127.0.0.4")
               for k in seen_details(config))


def test_scan_bomb_and_password_are_handled_and_named(tmp_path, site):
    site.pages["/feed.xml"] = Page(rss(site.base, [
        ("Scanned letter to the minister", "/docs/scan.pdf", T0),
        ("Huge document", "/docs/bomb.pdf", T0 + timedelta(days=1)),
        ("Members only", "/docs/locked.pdf", T0 + timedelta(days=2)),
        ("Tracked statement", "/docs/tracked.docx", T0 + timedelta(days=3)),
    ]), content_type="application/rss+xml")
    site.pages["/docs/scan.pdf"] = fixture("scanned.pdf")
    site.pages["/docs/bomb.pdf"] = Page(docgen.page_bomb(20_000), content_type=PDF)
    site.pages["/docs/locked.pdf"] = fixture("statement-password.pdf")
    site.pages["/docs/tracked.docx"] = fixture("statement-tracked.docx", DOCX)
    config = load(tmp_path, f"sources:\n  - id: union\n    url: {site.url('/feed.xml')}\n"
                            "    kind: feed\n")
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.new_documents == 2 and outcome.skipped == 2, outcome
    docs = {d.url: d for d in store_of(config).iter_documents()}
    scan = docs[site.url("/docs/scan.pdf")]
    assert scan.flags[0] == "scanned" and scan.title == "Scanned letter to the minister"
    tracked = docs[site.url("/docs/tracked.docx")]
    assert tracked.text == EXPECTED and docgen.DELETED_WORDS not in tracked.text
    seen = seen_details(config)
    status, detail = seen[site.url("/docs/bomb.pdf")]
    assert status == "failed" and "source union" in detail and site.url("/docs/bomb.pdf") in \
        detail and "page-count bomb" in detail
    status, detail = seen[site.url("/docs/locked.pdf")]
    assert status == "failed" and "password-protected" in detail and "source union" in detail


def test_check_shows_method_pages_and_first_document(tmp_path, site):
    site.pages["/feed.xml"] = Page(rss(site.base, [("Shipyard", "/docs/shipyard.pdf", T0)]),
                                   content_type="application/rss+xml")
    site.pages["/docs/shipyard.pdf"] = fixture("statement-2col.pdf")
    config = load(tmp_path, f"sources:\n  - id: union\n    url: {site.url('/feed.xml')}\n"
                            "    kind: feed\n")
    out = io.StringIO()
    code = asyncio.run(dry_run(config, source_id="union", url=None, allow_private=True,
                               out=out))
    text = out.getvalue()
    assert code == 0, text
    assert "first document (pdf; 2 pages;" in text
    assert f"from {site.url('/docs/shipyard.pdf')}" in text
    assert TITLE in text


def test_language_key_is_read_and_checked(tmp_path):
    config = load(tmp_path, "sources:\n"
                            "  - id: a\n    url: https://a.example/\n    language: FR\n"
                            "  - id: b\n    url: https://b.example/\n",
                  defaults="  language: es\n")
    assert [s.language for s in config.sources] == ["fr", "es"]
    with pytest.raises(ConfigError, match=r"language.*two-letter language code"):
        load(tmp_path, "sources:\n  - id: a\n    url: https://a.example/\n"
                       "    language: French\n")
