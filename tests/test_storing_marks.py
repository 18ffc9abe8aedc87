"""A new document is one write transaction; its corpus file is marked written later.

The storing stage writes a new document's file (durably) after the document's transaction
committed, and marks it written in the next insert's transaction or at the round's end
(`Storing.flush_index`), for the revision the file holds. A stop in between loses nothing:
the start-up repair writes the file again. A mark never vouches for a newer text."""

from __future__ import annotations

import asyncio
import collections
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from collector.models import Candidate, Extracted
from collector.store import Store
from collector.store.capture import is_known
from collector.storing import Storing
from tests import helpers

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)

one_feed_world = pytest.fixture(helpers.one_feed_world)



def item(n: int) -> tuple[Candidate, str, str, Extracted]:
    url = f"https://example.org/news/statement-{n}"
    blocks = tuple(f"Paragraph {p} of statement {n}, " + " ".join(
        f"w{n}x{p}x{i}" for i in range(40)) for p in range(3))
    ex = Extracted(title=f"Statement {n}", blocks=blocks, published=T0, language="en")
    return Candidate(key=f"guid-{n}", url=url, title=ex.title), f"guid-{n}", url, ex


def unwritten(store: Store) -> list[str]:
    return [d.title for d in store.unwritten_documents()]


async def store_new(storing: Storing, n: int) -> str:
    cand, key, url, ex = item(n)
    source = storing.config.sources[0]
    return await storing.store_text(source, cand, key, url, ex, False)


async def first_document(config: Any, store: Store) -> tuple[Storing, Any]:
    """A storing stage over a reconciled corpus that has stored statement 1, and its row."""
    storing = Storing(config, store, clock=lambda: T0)
    await storing.reconcile_corpus()
    assert await store_new(storing, 1) == "new"
    return storing, store.latest_documents(1)[0]


def test_a_new_document_is_one_write_transaction_and_its_file_is_marked_by_the_next(
        one_feed_world) -> None:
    config, store = one_feed_world
    writes: collections.Counter[str] = collections.Counter()

    @event.listens_for(store.engine, "begin")
    def _begin(conn: Any) -> None:
        if not conn.get_execution_options().get("collector_read", False):
            writes["transactions"] += 1

    async def main() -> None:
        storing = Storing(config, store, clock=lambda: T0)
        await storing.reconcile_corpus()
        writes.clear()
        assert await store_new(storing, 1) == "new"
        assert writes["transactions"] == 1
        # the file is on disk, not yet marked written
        doc = store.latest_documents(1)[0]
        assert storing.corpus.path_for(doc.seq, doc.id).read_text(encoding="utf-8") == doc.text
        assert unwritten(store) == ["Statement 1"]
        assert await store_new(storing, 2) == "new"
        assert writes["transactions"] == 2
        assert unwritten(store) == ["Statement 2"]   # the first marked by the second's insert
        await storing.flush_index()                   # the round's end marks the rest
        assert unwritten(store) == []
        storing.close_files()

    asyncio.run(main())


def test_a_stop_before_the_mark_loses_nothing(one_feed_world) -> None:
    config, store = one_feed_world

    async def main() -> None:
        storing, doc = await first_document(config, store)
        path = storing.corpus.path_for(doc.seq, doc.id)
        path.unlink()   # as if the stop came before the file reached the disk
        # stopped here: no round end, nothing flushed; the next process starts
        again = Storing(config, store, clock=lambda: T0)
        assert await again.reconcile_corpus() == 1
        assert path.read_text(encoding="utf-8") == doc.text
        assert unwritten(store) == []
        assert again.corpus.indexed_ids() == {doc.id}
        assert not await again.flush_index(check=True)   # index.jsonl agrees
        storing.close_files()
        again.close_files()

    asyncio.run(main())


def test_a_mark_for_an_older_text_leaves_a_newer_text_unwritten(one_feed_world) -> None:
    config, store = one_feed_world

    async def main() -> None:
        storing, doc = await first_document(config, store)
        # another writer gives the document a new text; its file is not written yet
        store.update_document(doc.id, title="Statement 1", text=doc.text + "\n\nAn addition.",
                              content_hash="x" * 64, signature=None, word_count=1,
                              method="page", published_at=None, now=T0)
        assert await store_new(storing, 2) == "new"
        await storing.flush_index()
        # the mark of revision 1's file did not mark revision 2 written
        assert unwritten(store) == ["Statement 1"]
        storing.close_files()

    asyncio.run(main())


def test_a_text_is_known_by_any_url_key_of_its_locations_or_by_its_fingerprint(
        one_feed_world) -> None:
    config, store = one_feed_world

    async def main() -> None:
        storing = Storing(config, store, clock=lambda: T0)
        assert await store_new(storing, 1) == "new"
        await storing.flush_index()
        storing.close_files()

    asyncio.run(main())
    doc = store.latest_documents(1)[0]
    own = "//example.org/news/statement-1"
    assert is_known(store, [own], "0" * 64)
    assert is_known(store, ["example.org/other", own], "0" * 64)
    assert is_known(store, ["example.org/a", "example.org/b", own], "0" * 64)
    assert is_known(store, ["example.org/other"], doc.content_hash)
    assert not is_known(store, ["example.org/other", "example.org/b"], "0" * 64)
    assert not is_known(store, [], "0" * 64)
