"""The real pipeline against a real HTTP server on loopback: feeds, pages, store, corpus."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from collector import document, pipeline
from tests.helpers import load, poll, store_of
from tests.pages import article, atom_feed, joomla_page, rss_feed, wordpress_page
from tests.webserver import Page

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _wordpress_site(site, items):
    base = site.base
    site.pages["/feed/"] = Page(rss_feed("Red Dawn", base, items), "application/rss+xml",
                                etag='"wp-1"')
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red Dawn", a, base))


def _joomla_site(site, items):
    base = site.base
    site.pages["/index.php?format=feed&type=atom"] = Page(
        atom_feed("Vanguard", base, items), "application/atom+xml",
        last_modified="Wed, 01 May 2024 09:00:00 GMT")
    for a in items:
        site.pages[f"/index.php/statements/{a.slug}"] = Page(joomla_page("Vanguard", a, base))


def _config(tmp_path, site):
    return load(tmp_path, f"""sources:
  - id: reddawn
    name: Red Dawn
    url: {site.url('/feed/')}
    kind: feed
  - id: vanguard
    name: Vanguard League
    url: {site.url('/index.php?format=feed&type=atom')}
    kind: feed
""")


def test_feeds_become_documents_in_database_and_corpus(tmp_path, site):
    wp = [article(i, f"Dockers strike {i}", T0.replace(day=i)) for i in (1, 2, 3)]
    jm = [article(i, f"Vanguard statement {i}", T0.replace(day=i)) for i in (4, 5)]
    _wordpress_site(site, wp)
    _joomla_site(site, jm)
    config = _config(tmp_path, site)

    results = poll(config)

    assert {s.id: o.ok for s, o in results} == {"reddawn": True, "vanguard": True}
    store = store_of(config)
    docs = list(store.iter_documents())
    assert sorted(d.title for d in docs) == sorted(a.title for a in wp + jm)
    assert [d.seq for d in docs] == list(range(5))
    docs_dir = config.settings.documents_dir
    for d in docs:
        path = docs_dir / document.file_name(d.seq, d.id)
        text = path.read_text(encoding="utf-8")
        assert document.validate(text) == [], path
        parsed = document.parse(text)
        source_article = next(a for a in wp + jm if a.title == d.title)
        assert list(parsed.blocks) == source_article.paragraphs
        assert "comment" not in text.lower() and "Share this" not in text
        assert d.id == document.document_id(d.canonical_url)
    index = [json.loads(line) for line in
             (docs_dir / "index.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["file"] for r in index) == sorted(p.name for p in docs_dir.glob("*.txt"))
    assert all(r["published"] for r in index)


def test_second_poll_of_unchanged_feeds_is_conditional_and_stores_nothing(tmp_path, site):
    _wordpress_site(site, [article(1, "Dockers strike", T0)])
    _joomla_site(site, [article(2, "Vanguard statement", T0)])
    config = _config(tmp_path, site)
    poll(config)
    before = store_of(config).count_documents()

    results = poll(config)

    assert all(o.ok and o.not_modified for _, o in results)
    assert store_of(config).count_documents() == before == 2
    wp_feed = site.requests_for("/feed/")
    assert wp_feed[-1].headers.get("if-none-match") == '"wp-1"'
    jm_feed = site.requests_for("/index.php?format=feed&type=atom")
    assert jm_feed[-1].headers.get("if-modified-since") == "Wed, 01 May 2024 09:00:00 GMT"


def _polled_then_one_more_post(tmp_path, site):
    """A site of two posts polled once, then a third post published: (config, the new post)."""
    items = [article(1, "Dockers strike", T0), article(2, "Second statement", T0.replace(day=2))]
    _wordpress_site(site, items)
    site.pages["/index.php?format=feed&type=atom"] = Page(atom_feed("V", site.base, []),
                                                          "application/atom+xml")
    config = _config(tmp_path, site)
    poll(config)
    newest = article(3, "Third statement on the port", T0.replace(day=3))
    _wordpress_site(site, [newest, *items])
    site.pages["/feed/"].etag = '"wp-2"'
    return config, newest


def test_a_new_feed_entry_yields_exactly_one_new_document(tmp_path, site):
    config, newest = _polled_then_one_more_post(tmp_path, site)

    results = dict((s.id, o) for s, o in poll(config))

    assert results["reddawn"].new_documents == 1
    store = store_of(config)
    docs = list(store.iter_documents())
    assert [d.title for d in docs][-1] == newest.title
    assert len(docs) == 3
    assert not docs[-1].backfill and docs[0].backfill
    files = sorted(config.settings.documents_dir.glob("*.txt"))
    assert len(files) == 3 and files[-1].name.startswith("002_")


def test_a_listings_body_is_let_go_before_its_items_are_fetched(tmp_path, site, monkeypatch):
    """Items wait for the parse workers without their feed's body: it is spent once they are
    parsed, and the poll's record still gets the feed's digest (the next, unchanged poll is
    skipped by it)."""
    config, _ = _polled_then_one_more_post(tmp_path, site)
    listings: list[pipeline.Listing] = []
    bodies_at_item_fetch: list[list[bool]] = []

    class Kept(pipeline.Listing):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            listings.append(self)

    real_fetch_page = pipeline.Pipeline.fetch_page

    async def fetch_page(self, *args, **kwargs):
        bodies_at_item_fetch.append([x.fetched.body.spent for x in listings
                                     if x.fetched is not None and x.candidates])
        return await real_fetch_page(self, *args, **kwargs)

    monkeypatch.setattr(pipeline, "Listing", Kept)
    monkeypatch.setattr(pipeline.Pipeline, "fetch_page", fetch_page)
    results = dict((s.id, o) for s, o in poll(config))

    assert results["reddawn"].new_documents == 1
    assert bodies_at_item_fetch == [[True]]
    # the same bytes again (no validators this time): not parsed, by the digest recorded
    site.pages["/feed/"].etag = None
    results = dict((s.id, o) for s, o in poll(config))
    assert results["reddawn"].not_modified


def test_one_failing_source_does_not_stop_the_others(tmp_path, site):
    _wordpress_site(site, [article(1, "Dockers strike", T0)])
    config = load(tmp_path, f"""sources:
  - id: reddawn
    url: {site.url('/feed/')}
    kind: feed
  - id: dead
    url: http://127.0.0.1:9/feed/
    kind: feed
  - id: notfound
    url: {site.url('/missing.xml')}
    kind: feed
""")
    results = dict((s.id, o) for s, o in poll(config))

    assert results["reddawn"].ok and results["reddawn"].new_documents == 1
    assert not results["dead"].ok and not results["notfound"].ok
    states = {s.id: s for s in store_of(config).source_states()}
    assert states["dead"].consecutive_failures == 1 and states["dead"].last_error
    assert "404" in (states["notfound"].last_error or "")
    assert states["dead"].next_poll_at > datetime.now(UTC)


def test_a_failed_poll_leaves_the_seen_state_untouched(tmp_path, site):
    """RELIABILITY 27: a failure must not mark items seen (or unseen)."""
    items = [article(1, "Dockers strike", T0)]
    _wordpress_site(site, items)
    config = load(tmp_path, f"sources:\n  - id: r\n    url: {site.url('/feed/')}\n"
                            "    kind: feed\n    backfill: 0\n")
    poll(config)
    newer = article(2, "A statement during the outage", T0.replace(day=2))
    _wordpress_site(site, [newer, *items])
    site.pages["/feed/"].status = 503
    (_, outcome), = poll(config)
    assert not outcome.ok
    assert store_of(config).seen_keys("r", [f"id:{site.base}/statement-2/"]) == set()
    site.pages["/feed/"].status = 200
    site.pages["/feed/"].etag = '"wp-2"'
    (_, outcome), = poll(config)
    assert outcome.ok and outcome.new_documents == 1


def test_a_reordered_or_refetched_feed_yields_nothing_new(tmp_path, site):
    """RELIABILITY 37: reordering, and dropping then re-adding an item, are not news."""
    items = [article(i, f"Statement {i}", T0.replace(day=i)) for i in (1, 2, 3)]
    _wordpress_site(site, items)
    config = load(tmp_path, f"sources:\n  - id: r\n    url: {site.url('/feed/')}\n"
                            "    kind: feed\n")
    poll(config)
    _wordpress_site(site, list(reversed(items)))
    site.pages["/feed/"].etag = '"reordered"'
    assert poll(config)[0][1].new_documents == 0
    _wordpress_site(site, items[:2])
    site.pages["/feed/"].etag = '"dropped"'
    assert poll(config)[0][1].new_documents == 0
    _wordpress_site(site, items)
    site.pages["/feed/"].etag = '"re-added"'
    assert poll(config)[0][1].new_documents == 0
    assert store_of(config).count_documents() == 3


def test_overlapping_ticks_are_skipped(tmp_path, site):
    """RELIABILITY 44: a tick that fires while the previous one runs does nothing."""
    import asyncio

    from collector.scheduler import Worker
    from collector.store import Store

    _wordpress_site(site, [article(1, "Dockers strike", T0)])
    config = load(tmp_path, f"sources:\n  - id: r\n    url: {site.url('/feed/')}\n"
                            "    kind: feed\n")

    async def main() -> int:
        store = Store(config.settings.database_url)
        worker = Worker(config, store)
        try:
            await worker.start()
            await asyncio.gather(worker.tick(), worker.tick(), worker.tick())
        finally:
            await worker.close()
            store.close()
        return len(site.requests_for("/feed/"))

    assert asyncio.run(main()) == 1
