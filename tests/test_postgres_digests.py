"""On PostgreSQL, a digest run holds an advisory lock: while one worker runs a digest, another
worker's run of the same digest does nothing (so it is never sent twice at once)."""

from __future__ import annotations

import asyncio

from collector.digests import DigestRunner
from collector.store import Store
from tests.helpers import load
from tests.pg import requires_postgres

pytestmark = requires_postgres


def test_a_digest_run_by_one_worker_is_skipped_by_another(tmp_path):
    config = load(tmp_path, """sources:
  - id: a
    url: https://a.example/feed
digests:
  - id: daily
    channel: email
    schedule: immediate
    to: [reader@example.org]
""", settings_extra="  smtp:\n    host: 127.0.0.1\n    port: 9\n    security: none\n")
    url = config.settings.database_url
    assert url.startswith("postgresql")
    first_store, second_store = Store(url), Store(url)
    try:
        first_store.upgrade()
        sent: list[object] = []
        first = DigestRunner(config, first_store, transport=sent.append)
        second = DigestRunner(config, second_store, transport=sent.append)
        digest = config.digest("daily")
        with first._exclusive("daily") as got:
            assert got
            result = asyncio.run(second.run_digest(digest))
            assert result == "digest daily: another worker is running it"
        # once the first worker is done, the second may run it
        result = asyncio.run(second.run_digest(digest))
        assert "another worker" not in result
        assert sent == []          # nothing was pending: nothing sent by either
    finally:
        first_store.close()
        second_store.close()
