"""Document revisions (RELIABILITY row 16): a statement corrected in place becomes a new feed
entry, while ids stay stable otherwise.

Store-level behaviour on a real SQLite file (or a fresh PostgreSQL database on the PostgreSQL
lane), and the whole path through the real pipeline: a site on loopback edits a statement, the
next poll stores the correction, the digest runner writes the feeds, feedparser reads them.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from collector.config import Source
from collector.digests import DigestRunner
from collector.document import render
from collector.notify.atom import entry_id
from collector.store import NewDocument, Store
from collector.store.outbox import StoreOutbox, digest_item
from tests.helpers import load, poll, store_of
from tests.pages import Article, paragraphs, rss_feed, wordpress_page
from tests.smtpd import PASSWORD, USER
from tests.webserver import Page, SiteServer

T0 = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
#: The Atom id entries had before documents had revisions, for the id "3f2a9c0d41e8b7a2":
#: subscribers of existing feeds must see it unchanged for revision 1.
PINNED_ID = "3f2a9c0d41e8b7a2"
PINNED_ENTRY_ID = "urn:uuid:62535c06-3b26-54e8-8b04-023e9d6bc6ad"


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def store(database_url: str) -> Store:
    s = Store(database_url)
    s.upgrade()
    s.sync_sources([Source(id="s0", name="S0", url="http://127.0.0.1:9/0", kind="feed"),
                    Source(id="s1", name="S1", url="http://127.0.0.1:9/1", kind="feed")], T0)
    yield s
    s.close()


def new_document(doc_id: str = "00000000000000d1", *, body: str = "First paragraph.",
                 backfill: bool = False) -> NewDocument:
    text = render("A statement", ["Opening line.", body])
    return NewDocument(id=doc_id, source_id="s0", url=f"https://example.org/{doc_id}",
                       canonical_url=f"https://example.org/{doc_id}", url_key=f"k-{doc_id}",
                       title="A statement", text=text, published_at=None,
                       content_hash=f"h-{body}", signature=None, method="page",
                       language="en", author=None, word_count=len(text.split()), flags=(),
                       backfill=backfill)


def edit(store: Store, doc_id: str, body: str, now: datetime):
    text = render("A statement", ["Opening line.", body])
    return store.update_document(doc_id, title="A statement", text=text,
                                 content_hash=f"h-{body}", signature=None,
                                 word_count=len(text.split()), method="page",
                                 published_at=None, now=now)


def outbox(store: Store) -> StoreOutbox:
    return StoreOutbox(store, item_of=lambda doc, also: digest_item(doc, also, source_name="S0"),
                       source_names={"s0": "S0", "s1": "S1"})


def test_a_new_document_is_revision_1(store: Store):
    stored = store.add_document(new_document(), seen_key="g1", digests=[], now=T0)
    assert stored.revision == 1
    assert store.document_by_id(stored.id).revision == 1
    record = store.index_record(stored, [])
    assert record["revision"] == 1


def test_each_change_of_the_text_adds_one_and_moves_updated(store: Store):
    doc = store.add_document(new_document(), seen_key="g1", digests=[], now=T0)
    second = edit(store, doc.id, "First paragraph, corrected.", T0 + timedelta(hours=1))
    third = edit(store, doc.id, "First paragraph, corrected twice.", T0 + timedelta(hours=2))
    assert (second.revision, third.revision) == (2, 3)
    again = store.document_by_id(doc.id)
    assert again.revision == 3 and again.updated_at == T0 + timedelta(hours=2)
    assert again.collected_at == T0 and again.seq == doc.seq
    assert store.index_record(again, [])["revision"] == 3


def test_the_same_text_again_changes_neither_revision_nor_updated(store: Store):
    doc = store.add_document(new_document(), seen_key="g1", digests=[], now=T0)
    same = edit(store, doc.id, "First paragraph.", T0 + timedelta(hours=1))
    assert same.revision == 1 and same.updated_at == T0


def test_a_new_location_of_a_duplicate_does_not_change_the_revision(store: Store):
    doc = store.add_document(new_document(), seen_key="g1", digests=[], now=T0)
    assert store.add_location(doc.id, source_id="s1", url="https://example.net/copy",
                              url_key="k-copy", how="exact", seen_key="g2",
                              now=T0 + timedelta(hours=1))
    assert store.document_by_id(doc.id).revision == 1


def test_a_corrected_document_is_offered_again_to_a_feed_digest_once(store: Store):
    box = outbox(store)
    doc = store.add_document(new_document(), seen_key="g1", digests=["feed", "mail"], now=T0)
    for digest_id in ("feed", "mail"):
        batch = box.claim(digest_id, limit=10, now=T0)
        box.delivered(digest_id, batch, now=T0)
    assert box.reoffer_revised("feed") == 0      # nothing corrected yet
    edit(store, doc.id, "First paragraph, corrected.", T0 + timedelta(hours=1))
    assert box.reoffer_revised("feed") == 1
    assert box.reoffer_revised("feed") == 0      # pending already: not counted twice
    batch = box.claim("feed", limit=10, now=T0 + timedelta(hours=1))
    assert [(i.id, i.revision) for i in batch.items] == [(doc.id, 2)]
    box.delivered("feed", batch, now=T0 + timedelta(hours=1))
    assert box.reoffer_revised("feed") == 0      # revision 2 went out
    # the email digest is not offered the correction (it is never asked to reoffer)
    assert box.claim("mail", limit=10, now=T0 + timedelta(hours=1)) is None


def test_a_correction_made_while_a_batch_is_out_is_offered_after_it(store: Store):
    """The batch may have been rendered before the correction: it is offered again."""
    box = outbox(store)
    doc = store.add_document(new_document(), seen_key="g1", digests=["feed"], now=T0)
    batch = box.claim("feed", limit=10, now=T0)
    edit(store, doc.id, "First paragraph, corrected.", T0 + timedelta(minutes=1))
    box.delivered("feed", batch, now=T0 + timedelta(minutes=2))
    assert box.reoffer_revised("feed") == 1


def test_feed_fingerprint_changes_with_a_correction_and_not_with_backfill(store: Store):
    doc = store.add_document(new_document(), seen_key="g1", digests=[], now=T0)
    before = store.feed_fingerprint(10)
    store.add_document(new_document("00000000000000d2", backfill=True), seen_key="g2",
                       digests=[], now=T0)
    assert store.feed_fingerprint(10) == before == ((doc.seq, 1),)
    edit(store, doc.id, "First paragraph, corrected.", T0 + timedelta(hours=1))
    assert store.feed_fingerprint(10) == ((doc.seq, 2),)


# ---------------------------------------------------------------------------------------------
# Through the real pipeline
# ---------------------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def publish(site, items: list[Article]) -> None:
    site.pages["/feed/"] = Page(rss_feed("Red Dawn", site.base, items), "application/rss+xml")
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red Dawn", a, site.base))


def config_for(tmp_path, site, smtp=None):
    mail = ""
    settings = ""
    if smtp is not None:
        mail = """  - id: daily
    channel: email
    title: Daily statements
    schedule: immediate
    to: [reader@example.org]
"""
        settings = f"""  smtp:
    host: {smtp.host}
    port: {smtp.port}
    security: starttls
    username: {USER}
    ca_file: {smtp.ca_file}
"""
    return load(tmp_path, f"""sources:
  - id: reddawn
    name: Red Dawn
    url: {site.url('/feed/')}
    kind: feed
    backfill: 0
digests:
  - id: atom
    channel: feed
    title: Red Dawn feed
    schedule: immediate
{mail}""", env={"COLLECTOR_SMTP_PASSWORD": PASSWORD}, settings_extra=settings)


def run_digests(config, clock: Clock) -> None:
    store = store_of(config)
    try:
        asyncio.run(DigestRunner(config, store, clock=clock).tick())
    finally:
        store.close()


def entries(config, name: str) -> list:
    parsed = feedparser.parse((config.settings.feeds_dir / f"{name}.atom").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed.entries


def the_document(config):
    store = store_of(config)
    try:
        docs = list(store.iter_documents())
    finally:
        store.close()
    assert len(docs) == 1
    return docs[0]


@pytest.fixture
def first_statement(tmp_path, site):
    """A site whose statement has been collected once (after a baseline poll) and whose feeds
    have been written by a digest runner that stays, as in `collector run`; gives (config,
    clock, the article, its body, a function running that runner's digest tick)."""
    clock = Clock(T0)
    publish(site, [Article("old", "Old statement", paragraphs(11, count=4), T0 - timedelta(1))])
    config = config_for(tmp_path, site)
    poll(config, clock=clock)                  # baseline: nothing stored
    body = paragraphs(4711, count=6)
    art = Article("strike", "Dockers strike", body, T0)
    publish(site, [art])
    clock.advance(minutes=30)
    poll(config, clock=clock)
    clock.advance(minutes=1)
    store = store_of(config)
    runner = DigestRunner(config, store, clock=clock)

    def tick() -> None:
        asyncio.run(runner.tick())

    tick()
    yield config, clock, art, body, tick
    store.close()


def test_revision_1_keeps_the_entry_id_feeds_have_always_given(first_statement):
    config, _clock, _art, _body, _tick = first_statement
    doc = the_document(config)
    assert doc.revision == 1
    for name in ("atom", "all"):
        (entry,) = entries(config, name)
        assert entry.id == entry_id(doc.id)
    assert entry_id(PINNED_ID) == entry_id(PINNED_ID, 1) == PINNED_ENTRY_ID


def test_the_same_text_fetched_again_keeps_the_entry_id(first_statement, site):
    config, clock, art, _body, tick = first_statement
    before = entries(config, "atom")[0].id
    # republished under a new GUID: the page is fetched again, its text has not changed
    art.guid = "republished-unchanged"
    publish(site, [art])
    clock.advance(hours=1)
    poll(config, clock=clock)
    clock.advance(minutes=1)
    tick()
    assert the_document(config).revision == 1
    assert [e.id for e in entries(config, "atom")] == [before]
    assert [e.id for e in entries(config, "all")] == [before]


def test_an_edit_in_place_becomes_one_new_entry_in_both_feeds(first_statement, site):
    config, clock, art, body, tick = first_statement
    first = the_document(config)
    old_id = entries(config, "atom")[0].id
    fixed = Article(art.slug, art.title, [*body[:-1], body[-1] + " Corrected figures."], T0,
                    guid="republished-corrected")
    publish(site, [fixed])
    clock.advance(hours=2)
    polled_at = clock.now
    poll(config, clock=clock)
    clock.advance(minutes=1)
    tick()
    doc = the_document(config)
    assert (doc.id, doc.seq, doc.revision) == (first.id, first.seq, 2)
    assert doc.updated_at == polled_at
    for name in ("atom", "all"):
        (entry,) = entries(config, name)               # the latest revision, once
        assert entry.id == entry_id(doc.id, 2) != old_id
        assert "Corrected figures." in entry.content[0].value
        assert entry.updated == polled_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    # the index line names the revision
    index = (config.settings.documents_dir / "index.jsonl").read_text(encoding="utf-8")
    assert re.search(rf'"id": "{doc.id}".*"revision": 2', index)


def test_an_email_already_sent_is_not_sent_again_for_a_correction(tmp_path, site, smtp_server):
    clock = Clock(T0)
    publish(site, [Article("old", "Old statement", paragraphs(12, count=4), T0 - timedelta(1))])
    config = config_for(tmp_path, site, smtp_server)
    poll(config, clock=clock)
    body = paragraphs(4712, count=6)
    publish(site, [Article("strike", "Dockers strike", body, T0)])
    clock.advance(minutes=30)
    poll(config, clock=clock)
    run_digests(config, clock)
    assert len(smtp_server.messages) == 1
    publish(site, [Article("strike", "Dockers strike", [*body, "A correction."], T0,
                           guid="corrected")])
    clock.advance(hours=1)
    poll(config, clock=clock)
    run_digests(config, clock)
    assert the_document(config).revision == 2
    assert len(smtp_server.messages) == 1        # mailed once; the feed carries the correction
    assert [e.id for e in entries(config, "atom")] == [entry_id(the_document(config).id, 2)]


def test_a_fuller_copy_replacing_the_text_is_a_new_revision(tmp_path, site):
    other = SiteServer().start()
    try:
        clock = Clock(T0)
        old = Article("old", "Old statement", paragraphs(13, count=4), T0 - timedelta(1))
        publish(site, [old])
        publish(other, [old])
        config = load(tmp_path, f"""sources:
  - id: a
    url: {site.url('/feed/')}
    kind: feed
    backfill: 0
  - id: b
    url: {other.url('/feed/')}
    kind: feed
    backfill: 0
digests:
  - id: atom
    channel: feed
    schedule: immediate
""")
        poll(config, clock=clock)
        body = paragraphs(4713, count=10)
        publish(site, [Article("cut", "Strike statement", body[:7], T0)])
        clock.advance(minutes=10)
        poll(config, ["a"], clock=clock)
        run_digests(config, clock)
        first = the_document(config)
        assert entries(config, "atom")[0].id == entry_id(first.id)
        publish(other, [Article("full", "Strike statement", body, T0)])
        clock.advance(minutes=10)
        poll(config, ["b"], clock=clock)
        run_digests(config, clock)
        doc = the_document(config)
        assert (doc.id, doc.revision, doc.word_count > first.word_count) == (first.id, 2, True)
        assert [e.id for e in entries(config, "atom")] == [entry_id(doc.id, 2)]
    finally:
        other.stop()
