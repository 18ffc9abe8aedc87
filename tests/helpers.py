"""Helpers for tests that run the real pipeline: write a config, build a worker, poll."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.config import Config, load_config
from collector.scheduler import Worker
from collector.store import Store
from tests import pg
from tests.pages import article, rss_feed
from tests.webserver import Page


def write_config(tmp: Path, body: str, *, defaults: str = "", settings_extra: str = "") -> Path:
    path = tmp / "sources.yaml"
    db = pg.database_url_for(tmp)   # the PostgreSQL lane gives each test its own database
    path.write_text(
        "settings:\n  data_dir: data\n" + (f"  database_url: {db}\n" if db else "")
        + "  fetch:\n    per_host_delay: 0s\n" + settings_extra
        + "defaults:\n  allow_private_addresses: true\n  every: 30m\n" + defaults + body,
        encoding="utf-8")
    path.chmod(0o644)   # a world-writable file may not allow private addresses
    return path


def load(tmp: Path, body: str, *, env: dict[str, str] | None = None, **kw: Any) -> Config:
    return load_config(write_config(tmp, body, **kw), env=env or {})


def feed_sites(tmp_path: Path, site: Any, n: int, *, concurrency: int, published: datetime,
               id_format: str = "s{i}") -> Config:
    """A configuration of `n` feed sources served by `site` (tests.webserver), each a feed of
    one article published at `published`, polled `concurrency` at a time."""
    items = [article(1, "One", published)]
    body = ""
    for i in range(n):
        site.pages[f"/f{i}/"] = Page(rss_feed(f"S{i}", site.base, items), "application/rss+xml")
        body += (f"  - id: {id_format.format(i=i)}\n    url: {site.url(f'/f{i}/')}\n"
                 "    kind: feed\n")
    return load(tmp_path, "sources:\n" + body,
                settings_extra=f"    poll_concurrency: {concurrency}\n")


def one_feed_world(tmp_path: Path) -> Iterator[tuple[Config, Store]]:
    """A configuration of one feed source and its store (a SQLite file; on the PostgreSQL lane
    that lane's database), its sources synced at 2024-06-01 09:00 UTC, closed after: a
    fixture (`pytest.fixture(one_feed_world)`)."""
    config = load(tmp_path, "sources:\n  - id: s1\n    url: http://127.0.0.1:9/feed.xml\n"
                            "    kind: feed\n")
    store = Store(config.settings.database_url)
    store.upgrade()
    store.sync_sources(config.sources, datetime(2024, 6, 1, 9, 0, tzinfo=UTC))
    try:
        yield config, store
    finally:
        store.close()


def poll(config: Config, ids: list[str] | None = None, *, clock: Any = None) -> list[Any]:
    """One `collector poll` worth of work, on a fresh worker (as the CLI does)."""
    async def main() -> list[Any]:
        store = Store(config.settings.database_url)
        kwargs = {"clock": clock} if clock else {}
        worker = Worker(config, store, **kwargs)
        try:
            await worker.start()
            return await worker.poll_ids(ids or [s.id for s in config.sources])
        finally:
            await worker.close()
            store.close()

    return asyncio.run(main())


def store_of(config: Config) -> Store:
    store = Store(config.settings.database_url)
    store.upgrade()
    return store


def terminate(proc: subprocess.Popen[str], *, timeout_s: float) -> tuple[float, str]:
    """SIGTERM to a `collector` process started with stderr piped as text, and wait for it
    to exit: (seconds from the signal to the exit, what it wrote to stderr). One that outlives
    `timeout_s` is killed (the caller's bound then fails)."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rest = proc.communicate(timeout=timeout_s)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        rest = proc.communicate()[1]
    return time.monotonic() - sent, rest
