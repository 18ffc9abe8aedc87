"""RELIABILITY 43, defect: two writers store the same new statement at the same time (a
`collector poll` beside the running service, two workers). The one that inserts second finds
the document (insert-or-find) and counts it as a duplicate; its poll never fails.

The interleaving is driven explicitly: the second writer has done its look-ups and found
nothing, then the first writer stores the document and commits, then the second inserts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from collector.scheduler import Worker
from collector.store import NewDocument, Store
from collector.store.tables import Counter, DocumentRow, Location, OutboxEntry, SeenItem
from tests.helpers import load, store_of
from tests.pages import article, rss_feed, wordpress_page
from tests.webserver import Page

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def new_document(source_id: str = "s1", title: str = "A statement") -> NewDocument:
    return NewDocument(
        id="00000000000000a1", source_id=source_id, url="https://example.org/a",
        canonical_url="https://example.org/a", url_key="example.org/a", title=title,
        text=f"{title}\n\nBody.\n", published_at=None, content_hash="h" * 64, signature=None,
        method="page", language="en", author=None, word_count=1, flags=(), backfill=False)


def count(store: Store, table: Any) -> int:
    with store.session(read=True) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_second_writer_finds_the_document_the_first_committed(tmp_path):
    config = load(tmp_path, "sources:\n  - id: s1\n    url: https://example.org/feed\n"
                            "  - id: s2\n    url: https://example.org/other\n"
                            "digests:\n  - id: everything\n    channel: feed\n"
                            "    schedule: immediate\n")
    first, second = store_of(config), store_of(config)   # two handles on one database
    try:
        first.sync_sources(config.sources, T0)
        done = first.insert_document(new_document("s1"), seen_key="g1",
                                     digests=["everything"], now=T0)
        assert done.created and done.generation is not None
        stored = done.document
        with second.session(read=True) as s:
            seq_before = s.get(Counter, "document_seq").value
        again = second.insert_document(new_document("s2", "Another title"),
                                       seen_key="g2", digests=["everything"], now=T0)
        assert not again.created and again.generation is None
        found = again.document
        # the index generation did not move either: nothing index.jsonl shows changed
        assert second.index_generation() == done.generation
        assert (found.id, found.seq, found.title, found.source_id) == \
            (stored.id, stored.seq, "A statement", "s1")
        # nothing of the second insert was written, and its sequence number was not drawn
        assert count(second, DocumentRow) == 1
        assert count(second, Location) == 1
        assert count(second, OutboxEntry) == 1
        assert count(second, SeenItem) == 1
        with second.session(read=True) as s:
            assert s.get(Counter, "document_seq").value == seq_before
        # add_document (insert-or-find without the flag) gives the stored document too
        assert second.add_document(new_document("s2"), seen_key="g2", digests=[],
                                   now=T0).seq == stored.seq
    finally:
        first.close()
        second.close()


class _Interleaved(Store):
    """A store whose first dedup look-up (the last read before an insert) lets another
    writer run to completion before it returns."""

    def __init__(self, url: str, before_insert: Any):
        super().__init__(url)
        self._before_insert = before_insert

    def lookup(self, **kwargs: Any) -> Any:
        found = super().lookup(**kwargs)
        hook, self._before_insert = self._before_insert, None
        if hook is not None:
            hook()
        return found


def test_poll_beside_another_writer_counts_the_race_as_a_duplicate(tmp_path, site):
    a = article(1, "Dockers strike against arms shipments", T0)
    site.pages[f"/{a.slug}/"] = Page(wordpress_page("Site", a, site.base))
    site.pages["/feed/"] = Page(rss_feed("Site", site.base, [a]), "application/rss+xml")
    config = load(tmp_path, f"sources:\n  - id: s1\n    url: {site.url('/feed/')}\n"
                            "    kind: feed\n")
    source = config.sources[0]

    async def main() -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        other_store = Store(config.settings.database_url)
        other = Worker(config, other_store)
        await other.start()
        outcomes: list[Any] = []

        def the_other_writer_stores_it_first() -> None:
            # runs in this writer's database thread; the other writer polls on the loop
            fut = asyncio.run_coroutine_threadsafe(other.pipeline.poll(source), loop)
            outcomes.append(fut.result(timeout=60))

        store = _Interleaved(config.settings.database_url, the_other_writer_stores_it_first)
        worker = Worker(config, store)
        try:
            await worker.start()
            mine = await worker.pipeline.poll(source)
        finally:
            await worker.close()
            await other.close()
            store.close()
            other_store.close()
        return outcomes[0], mine

    theirs, mine = asyncio.run(main())
    assert theirs.ok and theirs.new_documents == 1
    assert mine.ok, mine.error
    assert (mine.new_documents, mine.duplicates) == (0, 1)
    store = store_of(config)
    try:
        docs = list(store.iter_documents())
        assert [d.title for d in docs] == ["Dockers strike against arms shipments"]
        # one seen item (the same source's item), pointing at that document
        with store.session(read=True) as s:
            rows = s.execute(select(SeenItem.document_id)).all()
        assert rows == [(docs[0].id,)]
    finally:
        store.close()
