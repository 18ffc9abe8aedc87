"""Helpers for the HTTP server tests: a config with sources and a feed digest, documents put
straight into a real SQLite store, and the real server running on 127.0.0.1 in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from collector.config import Config
from collector.document import document_id, render
from collector.server import HttpServer
from collector.store import NewDocument, Store, StoredDocument
from tests.helpers import load

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)

SOURCES = """sources:
  - id: reddawn
    name: Red Dawn
    url: http://127.0.0.1:9/feed/
    kind: feed
  - id: vanguard
    name: Vanguard League
    url: http://127.0.0.1:9/vanguard/
    kind: page
  - id: odd
    name: Odd <b>Bold</b> & Co
    url: http://127.0.0.1:9/odd/
    kind: feed
digests:
  - id: labour
    channel: feed
    title: Labour feed
    schedule: immediate
"""


def make_world(tmp_path: Path) -> tuple[Config, Store]:
    config = load(tmp_path, SOURCES)
    store = Store(config.settings.database_url)
    store.upgrade()
    store.sync_sources(config.sources, T0)
    return config, store


def add_doc(store: Store, source_id: str, slug: str, title: str, paragraphs: list[str], *,
            published: datetime | None = T0, now: datetime = T0,
            url: str | None = None) -> StoredDocument:
    url = url or f"http://127.0.0.1:9/{source_id}/{slug}/"
    text = render(title, paragraphs)
    doc = NewDocument(id=document_id(url), source_id=source_id, url=url, canonical_url=url,
                      url_key=url, title=title, text=text, published_at=published,
                      content_hash=f"hash-{slug}", signature=None, method="feed",
                      language="en", author=None,
                      word_count=sum(len(p.split()) for p in paragraphs), flags=(),
                      backfill=False)
    return store.add_document(doc, seen_key=url, digests=[], now=now)


def add_many(store: Store, n: int, *, source_id: str = "reddawn") -> list[StoredDocument]:
    return [add_doc(store, source_id, f"s{i}", f"Statement number {i}",
                    [f"Paragraph of statement {i} about the harbour."],
                    published=T0 + timedelta(hours=i), now=T0 + timedelta(hours=i))
            for i in range(n)]


@contextmanager
def running(config: Config, store: Store, bind: str = "127.0.0.1:0",
            **kwargs: Any) -> Iterator[HttpServer]:
    """The real server on an ephemeral port (of 127.0.0.1 unless `bind` says otherwise), its
    event loop in a thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = HttpServer(config, store, bind=bind, **kwargs)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
