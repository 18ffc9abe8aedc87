"""What a one-shot `collector poll` leaves out because nothing would use it: the metrics of
its polls (nothing serves them afterwards), the browser library, the mailbox reader and the
article extractor (loaded when a source first needs them; articles are extracted in the parse
workers, and the main process needs the extractor only for an item's own text)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime

from collector import metrics
from collector.scheduler import Worker
from collector.store import Store
from tests.helpers import feed_sites, load
from tests.pages import article, rss_feed
from tests.webserver import Page

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _polls(config, *, record: bool) -> None:
    async def main() -> None:
        store = Store(config.settings.database_url)
        worker = Worker(config, store, metrics=record)
        try:
            await worker.start()
            await worker.poll_ids([s.id for s in config.sources])
        finally:
            await worker.close()
            store.close()

    asyncio.run(main())


def test_a_worker_told_not_to_records_no_metrics_and_one_by_default_does(tmp_path, site):
    site.pages["/feed/"] = Page(rss_feed("Lean", site.base, [article(1, "One", T0)]),
                                "application/rss+xml")
    config = load(tmp_path, f"sources:\n  - id: lean\n    url: {site.url('/feed/')}\n"
                            "    kind: feed\n")

    def polls() -> float:
        return metrics.REGISTRY.value("collector_polls_total",
                                      (("source", "lean"), ("result", "ok")))

    before = polls()
    _polls(config, record=False)
    assert polls() == before
    _polls(config, record=True)
    assert polls() == before + 1


def test_the_poll_command_loads_neither_the_browser_library_nor_imap_nor_the_extractor():
    code = ("import sys, collector.cli, collector.pipeline, collector.scheduler; "
            "print('playwright' in sys.modules, 'imaplib' in sys.modules, "
            "'collector.extract' in sys.modules)")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert got.stdout.split() == ["False", "False", "False"]


def test_polling_many_sources_holds_one_task_per_slot_and_polls_every_source(tmp_path, site):
    """`poll_ids` runs `poll_concurrency` tasks that take the claimed sources in turn, not a
    task per source; every source is polled once and the results keep the claim order."""
    config = feed_sites(tmp_path, site, 7, concurrency=2, published=T0)
    in_flight: list[int] = []

    async def main() -> list:
        store = Store(config.settings.database_url)
        worker = Worker(config, store)
        try:
            await worker.start()
            return await worker.poll_ids(
                [s.id for s in config.sources],
                progress=lambda _s, _o: in_flight.append(len(worker.in_flight)))
        finally:
            await worker.close()
            store.close()

    results = asyncio.run(main())
    assert sorted(src.id for src, _ in results) == [f"s{i}" for i in range(7)]
    assert all(outcome.ok for _, outcome in results)
    assert len(in_flight) == 7 and max(in_flight) <= 2
