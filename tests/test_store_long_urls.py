"""Article URLs of every length are stored, on SQLite and on PostgreSQL (where the location's
url_key was once a VARCHAR(64), and every longer URL failed its source)."""

from __future__ import annotations

from datetime import UTC, datetime

from collector.config import Source
from collector.dedup import url_key
from collector.store import NewDocument, Store

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def test_a_long_article_url_is_stored_and_found_again(database_url):
    url = ("https://www.ohchr.org/en/press-releases/2024/02/"
           + "-".join(["gaza-un-experts-condemn-the-killing-of-civilians"] * 6))
    key = url_key(url)
    assert len(key) > 300
    store = Store(database_url)
    try:
        store.upgrade()
        store.sync_sources([Source(id="s1", name="S1", url="https://www.ohchr.org/",
                                   kind="feed")], T0)
        done = store.insert_document(NewDocument(
            id="00000000000000a1", source_id="s1", url=url, canonical_url=url, url_key=key,
            title="A statement", text="A statement\n\nBody.\n", published_at=None,
            content_hash="h" * 64, signature=None, method="page", language="en", author=None,
            word_count=1, flags=(), backfill=False), seen_key=url, digests=[], now=T0)
        assert done.created
        found = store.document_by_url_key(key)
        assert found is not None and found[0].url == url and found[1]
        assert store.add_location("00000000000000a1", source_id="s1", url=url + "-copy",
                                  url_key=key + "-copy", how="near", seen_key="other",
                                  now=T0)
    finally:
        store.close()
