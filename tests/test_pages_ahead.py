"""Item pages are not fetched far ahead of the parse worker that must read them.

A poll of many sources, each with a new item whose page parses slowly, on one parse worker:
whenever the server is asked for an item page, at most `PAGES_WAITING_PER_WORKER` +
`PAGES_REQUESTED_PER_WORKER` item pages have been asked for and not yet parsed (counting that
one); every item is still stored.
Without the bound, every poll fetched its page at once and all waited for the worker.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector import extract as extract_module
from collector import limits
from collector.fetch import Fetcher
from collector.isolate import Isolator
from collector.models import Candidate
from collector.pipeline import Pipeline
from collector.store import Store
from tests import hostile_parsers
from tests.helpers import load, poll, store_of
from tests.pages import article, rss_feed, wordpress_page
from tests.pool_tasks import started
from tests.webserver import Page

SOURCES = 10
BOUND = 2


class _Watched(dict):
    """The server's pages: notes, as an item page is asked for, how many were parsed then."""

    def __init__(self, log: Path):
        super().__init__()
        self.log = log
        self.asked: list[tuple[str, int]] = []

    def get(self, path, default=None):  # the server's handler looks pages up with get
        if path.startswith("/i"):
            parsed = sum(n.startswith("parsed:") for n in started(self.log))
            self.asked.append((path, parsed))
        return super().get(path, default)


def test_item_pages_wait_for_the_parse_worker_and_all_are_stored(tmp_path, site, monkeypatch):
    log = tmp_path / "parsed.log"
    monkeypatch.setenv(hostile_parsers.LOG_ENV, str(log))
    monkeypatch.setattr(limits, "PAGES_WAITING_PER_WORKER", 1)
    monkeypatch.setattr(limits, "PAGES_REQUESTED_PER_WORKER", BOUND - 1)
    # the pipeline imports `extract` from its module at each call; the worker imports this
    # replacement by its module path
    monkeypatch.setattr(extract_module, "extract", hostile_parsers.slow_extract)
    site.pages = _Watched(log)
    day = datetime(2024, 5, 1, 9, tzinfo=UTC)
    body = ""
    for i in range(SOURCES):
        a = article(i, f"Statement {i}", day + timedelta(hours=i))
        site.pages[f"/f{i}/"] = Page(rss_feed(f"S{i}", site.base, [a],
                                              path_of=lambda a, i=i: f"/i{i}/{a.slug}/"),
                                     "application/rss+xml")
        site.pages[f"/i{i}/{a.slug}/"] = Page(wordpress_page(f"S{i}", a, site.base))
        body += f"  - id: s{i}\n    url: {site.url(f'/f{i}/')}\n    kind: feed\n"
    config = load(tmp_path, "sources:\n" + body,
                  settings_extra=f"    poll_concurrency: {SOURCES}\n    parse_workers: 1\n")

    outcomes = poll(config)

    assert all(o.ok and o.new_documents == 1 for _, o in outcomes), outcomes
    asked = site.pages.asked
    assert len(asked) == SOURCES
    ahead = [n - parsed for n, (_, parsed) in enumerate(asked, 1)]
    assert max(ahead) <= BOUND, asked
    store = store_of(config)
    try:
        assert len(list(store.iter_documents())) == SOURCES
    finally:
        store.close()


def test_a_deferred_sources_page_takes_no_place(tmp_path, site):
    """A source whose parses are deferred waits behind the others' parses: its page must not
    hold a place the others' pages wait for. Another source's page takes one."""
    day = datetime(2024, 5, 1, 9, tzinfo=UTC)
    for i in range(2):
        a = article(i, f"Statement {i}", day)
        site.pages[f"/i{i}/"] = Page(wordpress_page(f"S{i}", a, site.base))
    config = load(tmp_path, "sources:\n" + "".join(
        f"  - id: s{i}\n    url: {site.url(f'/f{i}/')}\n    kind: feed\n" for i in range(2)))
    store = Store(config.settings.database_url)
    parses = Isolator(1)

    async def main() -> list[int]:
        async with Fetcher() as fetcher:
            p = Pipeline(config, store, fetcher, parses=parses, pages_ahead=1)
            peaks = []
            for i, source in enumerate(config.sources):
                pieces = await p.extract_item(source, Candidate(f"k{i}", site.url(f"/i{i}/")))
                assert pieces[0][1].title == f"Statement {i}"
                assert p.pages_ahead.requested == p.pages_ahead.waiting == 0
                peaks.append(p.pages_ahead.peak)
            return peaks

    try:
        parses.defer("s0")
        assert asyncio.run(main()) == [0, 1]
    finally:
        parses.close()
        store.close()


def test_places_come_back_on_failure_and_cancellation():
    """A place is given back whether its block ends in an error or its task is cancelled
    (waiting for a place, or holding one); the next waiter in line gets it."""
    from collector.pipeline import PagesAhead

    async def main() -> None:
        pages = PagesAhead(1, 1)
        got: list[str] = []

        async def item(name: str, fail: bool = False, hold: asyncio.Event | None = None):
            async with pages.place() as place:
                await place.take()
                got.append(name)
                place.received()
                if hold is not None:
                    await hold.wait()
                if fail:
                    raise RuntimeError(name)

        with_error = asyncio.ensure_future(item("a", fail=True, hold=asyncio.Event()))
        await asyncio.sleep(0)
        assert got == ["a"] and pages.waiting == 1
        queued = [asyncio.ensure_future(item(n)) for n in ("b", "c", "d")]
        await asyncio.sleep(0)
        assert got == ["a"]
        queued[0].cancel()          # cancelled while waiting for a place
        with_error.cancel()         # cancelled while holding one
        results = await asyncio.gather(with_error, *queued, return_exceptions=True)
        assert isinstance(results[0], asyncio.CancelledError)
        assert isinstance(results[1], asyncio.CancelledError)
        assert got == ["a", "c", "d"]
        assert pages.requested == pages.waiting == 0 and not pages._waiters
        try:
            await item("e", fail=True)
        except RuntimeError:
            pass
        assert got[-1] == "e" and pages.requested == pages.waiting == 0

    asyncio.run(main())
