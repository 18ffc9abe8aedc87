"""What a one-shot `collector poll` leaves out because nothing would use it: the metrics of
its polls (nothing serves them afterwards) and the browser library (no source renders)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime

from collector import metrics
from collector.scheduler import Worker
from collector.store import Store
from tests.helpers import load
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


def test_the_poll_command_does_not_load_the_browser_library():
    code = ("import sys, collector.cli, collector.pipeline, collector.scheduler; "
            "print('playwright' in sys.modules)")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert got.stdout.strip() == "False"
