"""Deduplication through the real pipeline: one statement, three sites, one document."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from collector.digests import DigestRunner
from tests.helpers import load, poll, store_of
from tests.pages import Article, joomla_page, paragraphs, rss_feed, wordpress_page
from tests.webserver import Page, SiteServer

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def statement(slug, title, paras):
    return Article(slug=slug, title=title, paragraphs=paras, published=T0)


def test_same_statement_on_three_sites_is_one_document_with_three_locations(tmp_path):
    body = paragraphs(4242, count=8)
    sites = [SiteServer().start() for _ in range(3)]
    try:
        a, b, c = sites
        # the international's own site
        orig = statement("solidarity-statement", "Solidarity with the dockers", body)
        a.pages["/feed/"] = Page(rss_feed("International", a.base, [orig]), "application/rss+xml")
        a.pages["/solidarity-statement/"] = Page(wordpress_page("International", orig, a.base))
        # a section: new title, an added introduction, a signature
        sec = statement("dockers", "Statement of the International on the dockers' strike",
                        ["We publish below the statement of our International.", *body,
                         "Executive Committee, June 2024"])
        b.pages["/feed/"] = Page(rss_feed("Section", b.base, [sec], path_of=lambda x:
                                          "/index.php/statements/dockers"),
                                 "application/rss+xml")
        b.pages["/index.php/statements/dockers"] = Page(joomla_page("Section", sec, b.base))
        # another section: the same text, one word changed, and tracking parameters in links
        edited = list(body)
        edited[2] = edited[2].replace("the", "our", 1)
        other = statement("solidarity", "Solidarity with the dockers", edited)
        c.pages["/feed/"] = Page(rss_feed("Other", c.base, [other],
                                          path_of=lambda x: "/solidarity/?utm_source=rss"),
                                 "application/rss+xml")
        c.pages["/solidarity/?utm_source=rss"] = Page(wordpress_page("Other", other, c.base))
        config = load(tmp_path, f"""sources:
  - id: intl
    name: The International
    url: {a.url('/feed/')}
    kind: feed
    backfill: 0
  - id: section
    name: The Section
    url: {b.url('/feed/')}
    kind: feed
    backfill: 0
  - id: other
    name: Other Section
    url: {c.url('/feed/')}
    kind: feed
    backfill: 0
digests:
  - id: all-feed
    channel: feed
    schedule: immediate
""")
        # first polls make the baseline (nothing stored); then the statement appears everywhere
        for s in sites:
            s.pages["/feed/"], saved = Page(rss_feed("x", s.base, []), "application/rss+xml"), \
                s.pages["/feed/"]
            s.saved = saved
        poll(config)
        for s in sites:
            s.pages["/feed/"] = s.saved
        for sid in ("intl", "section", "other"):
            poll(config, [sid])

        store = store_of(config)
        docs = list(store.iter_documents())
        assert len(docs) == 1
        assert docs[0].revision == 1     # new locations of a duplicate are no change of text
        locs = store.locations([docs[0].id])[docs[0].id]
        assert sorted(loc.source_id for loc in locs) == ["intl", "other", "section"]
        files = list(config.settings.documents_dir.glob("*.txt"))
        assert len(files) == 1
        index = [json.loads(x) for x in
                 (config.settings.documents_dir / "index.jsonl").read_text().splitlines()]
        assert len(index) == 1 and len(index[0]["locations"]) == 3
        asyncio.run(DigestRunner(config, store).tick())
        atom = (config.settings.feeds_dir / "all-feed.atom").read_text()
        assert atom.count("<entry>") == 1
        assert "The Section" in atom and "Other Section" in atom   # also published by
    finally:
        for s in sites:
            s.stop()


def test_statement_edited_in_place_updates_the_document_and_keeps_its_id(tmp_path, site):
    body = paragraphs(777, count=6)
    art = statement("s", "A statement", body)
    site.pages["/feed/"] = Page(rss_feed("S", site.base, [art]), "application/rss+xml")
    site.pages["/s/"] = Page(wordpress_page("S", art, site.base))
    config = load(tmp_path, f"sources:\n  - id: s\n    url: {site.url('/feed/')}\n"
                            "    kind: feed\n")
    poll(config)
    first = next(store_of(config).iter_documents())
    fixed = statement("s", "A statement", [*body[:-1], body[-1] + " Corrected."])
    site.pages["/s/"] = Page(wordpress_page("S", fixed, site.base))
    # the feed now carries the item under a new GUID (republished)
    fixed.guid = "republished-1"
    site.pages["/feed/"] = Page(rss_feed("S", site.base, [fixed]), "application/rss+xml")
    poll(config)
    docs = list(store_of(config).iter_documents())
    assert len(docs) == 1
    assert docs[0].id == first.id and docs[0].seq == first.seq
    assert (first.revision, docs[0].revision) == (1, 2)
    assert docs[0].text.rstrip().endswith("Corrected.")
    path = config.settings.documents_dir / f"000_{first.id}.txt"
    assert path.read_text().rstrip().endswith("Corrected.")


def test_a_republished_copy_edited_later_does_not_rewrite_the_original(tmp_path):
    body = paragraphs(9090, count=7)
    a, b = SiteServer().start(), SiteServer().start()
    try:
        orig = statement("orig", "Original statement", body)
        a.pages["/feed/"] = Page(rss_feed("A", a.base, [orig]), "application/rss+xml")
        a.pages["/orig/"] = Page(wordpress_page("A", orig, a.base))
        copy = statement("copy", "Reprinted statement", body)
        b.pages["/feed/"] = Page(rss_feed("B", b.base, [copy]), "application/rss+xml")
        b.pages["/copy/"] = Page(wordpress_page("B", copy, b.base))
        config = load(tmp_path, f"""sources:
  - id: a
    url: {a.url('/feed/')}
    kind: feed
  - id: b
    url: {b.url('/feed/')}
    kind: feed
""")
        poll(config, ["a"])
        poll(config, ["b"])
        edited = statement("copy", "Reprinted statement",
                           [*body, "Comment by the reprinting site."])
        edited.guid = "copy-republished"
        b.pages["/feed/"] = Page(rss_feed("B", b.base, [edited]), "application/rss+xml")
        b.pages["/copy/"] = Page(wordpress_page("B", edited, b.base))
        poll(config, ["b"])
        docs = list(store_of(config).iter_documents())
        assert len(docs) == 1
        assert docs[0].title == "Original statement"
        assert "Comment by the reprinting site." not in docs[0].text
    finally:
        a.stop()
        b.stop()
