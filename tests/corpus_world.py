"""A small stored corpus for the export and API tests: three tagged sources, statements in two
languages over several days (one without a date, one found again elsewhere, one corrected),
stored through the real store in a real database (SQLite file, or PostgreSQL on that lane)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.config import Config
from collector.document import document_id, render
from collector.models import Provenance
from collector.store import NewDocument, Store, StoredDocument
from tests.helpers import load

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)

SOURCES = """sources:
  - id: reddawn
    name: Red Dawn
    url: http://127.0.0.1:9/feed/
    kind: feed
    tags: [labour, left]
  - id: vanguard
    name: Vanguard League
    url: http://127.0.0.1:9/vanguard/
    kind: page
    tags: [left]
  - id: odd
    name: Odd "Quoted", Co
    url: http://127.0.0.1:9/odd/
    kind: feed
    tags: [other]
"""


def make(tmp_path: Path) -> tuple[Config, Store]:
    config = load(tmp_path, SOURCES)
    store = Store(config.settings.database_url)
    store.upgrade()
    store.sync_sources(config.sources, T0)
    return config, store


def add(store: Store, source_id: str, slug: str, title: str, paragraphs: list[str], *,
        language: str | None = "en", published: datetime | None = T0,
        now: datetime = T0, author: str | None = None) -> StoredDocument:
    url = f"http://127.0.0.1:9/{source_id}/{slug}/"
    # a page's text tells how it was fetched; a feed's own text (the odd source) only its hash
    digest = "sha256:" + hashlib.sha256(url.encode()).hexdigest()
    provenance = Provenance(text_hash=digest) if source_id == "odd" else \
        Provenance(text_hash=digest, requested_url=url + "?from=feed", final_url=url,
                   status=200, fetched_at=now - timedelta(seconds=2),
                   warc_record_id=f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>")
    doc = NewDocument(id=document_id(url), source_id=source_id, url=url, canonical_url=url,
                      url_key=url, title=title, text=render(title, paragraphs),
                      published_at=published, content_hash=f"hash-{slug}", signature=None,
                      method="feed", language=language, author=author,
                      word_count=sum(len(p.split()) for p in paragraphs),
                      flags=("short",) if len(paragraphs) == 1 else (), backfill=False,
                      provenance=provenance)
    return store.add_document(doc, seen_key=url, digests=[], now=now)


def populate(store: Store) -> list[StoredDocument]:
    """Eight statements; see the module's docstring."""
    day = timedelta(days=1)
    docs = [
        add(store, "reddawn", "a", "Dockers strike", ["The harbour is closed, \"says\" one.",
                                                      "Line two\twith a tab."],
            published=T0, now=T0),
        add(store, "reddawn", "b", "Grève des dockers", ["Le port est fermé."], language="fr",
            published=T0 + day, now=T0 + day, author="Comité, central"),
        add(store, "vanguard", "c", "Harbour election", ["Vote on Sunday.", "Second."],
            published=None, now=T0 + 2 * day),
        add(store, "vanguard", "d", "Élection", ["Votez dimanche."], language="fr",
            published=T0 + 3 * day, now=T0 + 3 * day),
        add(store, "odd", "e", "Odd, \"quoted\" title\u2028", ["Multi\nline?"],
            published=T0 + 4 * day, now=T0 + 4 * day),
        add(store, "odd", "f", "No language", ["Text."], language=None,
            published=T0 + 5 * day, now=T0 + 5 * day),
        add(store, "reddawn", "g", "Later strike", ["More.", "Again."],
            published=T0 + 6 * day, now=T0 + 6 * day),
        add(store, "vanguard", "h", "Last word", ["Bye."], published=T0 + 7 * day,
            now=T0 + 7 * day),
    ]
    # the first statement was found again on vanguard's site: it belongs to both
    store.add_location(docs[0].id, source_id="vanguard", url="http://127.0.0.1:9/v/copy/",
                       url_key="http://127.0.0.1:9/v/copy/", how="exact",
                       seen_key="http://127.0.0.1:9/v/copy/", now=T0 + 8 * day)
    # and corrected in place
    store.update_document(docs[0].id, title="Dockers strike",
                          text=render("Dockers strike", ["The harbour is closed again."]),
                          content_hash="hash-a2", signature=None, word_count=5,
                          method="feed", published_at=None, now=T0 + 9 * day)
    return docs


def database(store):
    """What the database holds: the index.jsonl records (the same snapshot index.jsonl is
    rewritten from) with each statement's text, read straight from its row."""
    with store.index_snapshot() as (_generation, records):
        out = list(records)
    for r in out:
        r["text"] = store.document_by_id(r["id"]).text
    return out


def expected_ids(store, *, sources=None, language=None, since=None, until=None, after=None):
    """The filters worked out in Python over every row and location of the database."""
    out = []
    docs = list(store.iter_documents())
    locs = store.locations([d.id for d in docs])
    for d in docs:
        when = d.published_at or d.collected_at
        if sources is not None and not {loc.source_id for loc in locs[d.id]} & set(sources):
            continue
        if language is not None and d.language != language:
            continue
        if since is not None and when < since:
            continue
        if until is not None and when >= until:
            continue
        if after is not None and d.seq <= after:
            continue
        out.append(d.id)
    return out
