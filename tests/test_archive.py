"""Archiving statements to the Wayback Machine (`archive: wayback`): the outbox entry is
written with the statement, drained to a local server that speaks the Save Page Now 2 API,
under its rate limit; nothing is lost (a 429 or an archive that is down keeps the entries,
retried with backoff) and nothing is sent twice (not after a restart either)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector import limits
from collector.archive import Archiver, RunReport, missing_keys_note
from collector.config import load_config
from collector.errors import ConfigError
from collector.store import Store
from collector.store import archive as outbox
from tests.helpers import load, poll, terminate, write_config
from tests.pages import article, rss_feed, wordpress_page
from tests.wayback import KEY, SECRET, WaybackServer
from tests.webserver import Page, SiteServer

T0 = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
ENV = {"COLLECTOR_WAYBACK_ACCESS_KEY": KEY, "COLLECTOR_WAYBACK_SECRET": SECRET}


@pytest.fixture
def wayback() -> Iterator[WaybackServer]:
    server = WaybackServer().start()
    try:
        yield server
    finally:
        server.stop()


def _site(site: SiteServer, prefix: str, n: int) -> list[str]:
    items = [article(i, f"{prefix} statement {i}", T0.replace(day=i)) for i in range(1, n + 1)]
    for a in items:
        a.slug = f"{prefix}-{a.slug}"
        site.pages[f"/{a.slug}/"] = Page(wordpress_page(prefix, a, site.base))
    site.pages[f"/{prefix}/feed/"] = Page(rss_feed(prefix, site.base, items),
                                          "application/rss+xml")
    return [site.url(f"/{a.slug}/") for a in items]


def _config(tmp_path: Path, site: SiteServer, wayback: WaybackServer, *, per_minute: int = 60,
            digest: bool = False, env: dict[str, str] = ENV):
    body = (f"sources:\n"
            f"  - id: kept\n    url: {site.url('/kept/feed/')}\n    kind: feed\n"
            f"    archive: wayback\n"
            f"  - id: plain\n    url: {site.url('/plain/feed/')}\n    kind: feed\n"
            f"  - id: viadigest\n    url: {site.url('/viadigest/feed/')}\n    kind: feed\n")
    if digest:
        body += ("digests:\n  - id: evidence\n    channel: feed\n    schedule: immediate\n"
                 "    sources: [viadigest]\n    archive: wayback\n")
    return load(tmp_path, body, env=env, defaults="  backfill: 10\n",
                settings_extra=f"  wayback:\n    url: {wayback.url}\n"
                               f"    per_minute: {per_minute}\n")


def _run(config, *, at: datetime) -> RunReport:
    async def main() -> RunReport:
        store = Store(config.settings.database_url)
        archiver = Archiver(config, store, clock=lambda: at)
        try:
            return await archiver.run()
        finally:
            await archiver.aclose()
            store.close()
    return asyncio.run(main())


class Clocked:
    """One archiver across several runs at chosen times (one process's life)."""

    def __init__(self, config):
        self.now = T0
        self.store = Store(config.settings.database_url)
        self.archiver = Archiver(config, self.store, clock=lambda: self.now)
        self.loop = asyncio.new_event_loop()

    def run(self, at: datetime) -> RunReport:
        self.now = at
        return self.loop.run_until_complete(self.archiver.run())

    def close(self) -> None:
        self.loop.run_until_complete(self.archiver.aclose())
        self.loop.close()
        self.store.close()


def _entries(config) -> list[outbox.EntryView]:
    store = Store(config.settings.database_url)
    try:
        return outbox.entries(store)
    finally:
        store.close()


def test_statements_of_archived_sources_and_digests_are_enqueued_with_them(
        tmp_path, site, wayback):
    kept = _site(site, "kept", 2)
    _site(site, "plain", 2)
    via = _site(site, "viadigest", 1)
    config = _config(tmp_path, site, wayback, digest=True)
    results = poll(config, clock=lambda: T0)
    assert all(o.ok and o.new_documents for _, o in results), results
    entries = _entries(config)
    assert sorted(e.url for e in entries) == sorted(kept + via)
    assert all(e.sent_at is None and e.result is None and e.revision == 1 for e in entries)
    assert wayback.requests == []          # polling sends nothing itself


def test_entries_are_drained_to_the_archive_and_their_captures_confirmed(
        tmp_path, site, wayback):
    kept = _site(site, "kept", 2)
    config = _config(tmp_path, site, wayback)
    poll(config, clock=lambda: T0)
    report = _run(config, at=T0)
    assert report.sent == 2
    assert sorted(wayback.saves()) == sorted(kept)
    _m, _p, headers, form = next(r for r in wayback.requests if r[0] == "POST")
    assert headers["Authorization"] == f"LOW {KEY}:{SECRET}"
    assert headers["Accept"] == "application/json"
    assert form["if_not_archived_within"] == [str(limits.WAYBACK_SKIP_WITHIN_S)]
    entries = _entries(config)
    assert all(e.sent_at is not None and e.job_id for e in entries)
    # nothing asked again before the status is due; then the captures are confirmed
    assert _run(config, at=T0 + timedelta(seconds=10)).sent == 0
    assert len(wayback.requests) == 2
    report = _run(config, at=T0 + timedelta(seconds=limits.ARCHIVE_STATUS_AFTER_S))
    assert report.archived == 2 and report.sent == 0
    entries = _entries(config)
    assert all(e.result == "success" for e in entries)
    assert all(e.snapshot and e.snapshot.startswith(f"{wayback.url}/web/") and
               e.snapshot.endswith(e.url) for e in entries)
    assert len(wayback.saves()) == 2       # each URL requested once


def test_the_per_minute_limit_spaces_the_requests(tmp_path, site, wayback):
    _site(site, "kept", 3)
    config = _config(tmp_path, site, wayback, per_minute=4)   # one every 15 s
    poll(config, clock=lambda: T0)
    clocked = Clocked(config)
    try:
        assert clocked.run(T0).sent == 1
        assert clocked.run(T0 + timedelta(seconds=14)).sent == 0
        assert clocked.run(T0 + timedelta(seconds=15)).sent == 1
        assert clocked.run(T0 + timedelta(seconds=30)).sent == 1
    finally:
        clocked.close()
    assert len(wayback.saves()) == 3


def test_a_429_pauses_for_its_retry_after_and_loses_nothing(tmp_path, site, wayback):
    kept = _site(site, "kept", 2)
    config = _config(tmp_path, site, wayback)
    poll(config, clock=lambda: T0)
    wayback.too_many, wayback.retry_after = 1, "120"
    clocked = Clocked(config)
    try:
        report = clocked.run(T0)
        assert report.sent == 0 and report.paused_until == T0 + timedelta(seconds=120)
        assert len(wayback.requests) == 1             # it stopped at the 429
        assert all(e.sent_at is None and e.attempts == 0 for e in _entries(config))
        assert clocked.run(T0 + timedelta(seconds=119)).sent == 0
        assert len(wayback.requests) == 1             # paused: not asked at all
        assert clocked.run(T0 + timedelta(seconds=120)).sent == 2
    finally:
        clocked.close()
    assert sorted(wayback.saves()[1:]) == sorted(kept)


def test_an_archive_that_is_down_keeps_the_entries_and_is_retried_with_backoff(
        tmp_path, site, wayback):
    kept = _site(site, "kept", 2)
    config = _config(tmp_path, site, wayback)
    poll(config, clock=lambda: T0)
    wayback.stop()
    clocked = Clocked(config)
    try:
        report = clocked.run(T0)
        assert report.sent == 0
        first_pause = report.paused_until
        assert first_pause == T0 + timedelta(seconds=limits.ARCHIVE_BACKOFF_S)
        entries = _entries(config)
        assert [e.sent_at for e in entries] == [None, None]
        assert all("ConnectError" in (e.last_error or "") for e in entries)
        # still down at the next try: the pause doubles
        report = clocked.run(first_pause)
        assert report.paused_until == first_pause + timedelta(seconds=2 * limits.ARCHIVE_BACKOFF_S)
        wayback.start()                                # back, on the same address
        assert clocked.run(report.paused_until).sent == 2
    finally:
        clocked.close()
    assert sorted(wayback.saves()) == sorted(kept)


def test_nothing_is_sent_twice_across_a_restart(tmp_path, site, wayback):
    _site(site, "kept", 2)
    config = _config(tmp_path, site, wayback)
    poll(config, clock=lambda: T0)
    assert _run(config, at=T0).sent == 2
    # a new process (a new Archiver, a new Store), before and after the status is due
    assert _run(config, at=T0 + timedelta(seconds=1)).sent == 0
    report = _run(config, at=T0 + timedelta(seconds=limits.ARCHIVE_STATUS_AFTER_S))
    assert report.sent == 0 and report.archived == 2
    assert _run(config, at=T0 + timedelta(days=1)).sent == 0
    assert len(wayback.saves()) == 2 and len(wayback.captures) == 2


def test_a_failed_capture_is_requested_again_and_a_refused_url_is_kept_as_failed(
        tmp_path, site, wayback):
    kept = _site(site, "kept", 2)
    config = _config(tmp_path, site, wayback)
    poll(config, clock=lambda: T0)
    wayback.refuse[kept[1]] = "error:invalid-url-syntax"
    assert _run(config, at=T0).sent == 1
    by_url = {e.url: e for e in _entries(config)}
    assert by_url[kept[1]].result == "failed"
    assert "invalid-url-syntax" in (by_url[kept[1]].last_error or "")
    wayback.failing_jobs.add(by_url[kept[0]].job_id or "")
    t1 = T0 + timedelta(seconds=limits.ARCHIVE_STATUS_AFTER_S)
    report = _run(config, at=t1)
    assert report.retried == 1 and report.sent == 0
    entry = {e.url: e for e in _entries(config)}[kept[0]]
    assert entry.sent_at is None and entry.attempts == 1 and entry.result is None
    # requested again after its backoff (a new capture: the first one failed)
    wayback.captures.clear()
    report = _run(config, at=t1 + timedelta(seconds=limits.ARCHIVE_BACKOFF_S))
    assert report.sent == 1
    assert wayback.saves().count(kept[0]) == 2 and wayback.saves().count(kept[1]) == 1


def test_archive_wayback_takes_a_known_archive_and_says_when_keys_are_missing(tmp_path):
    body = "sources:\n  - id: a\n    url: https://a.org/feed\n    archive: wayback\n"
    assert "COLLECTOR_WAYBACK_ACCESS_KEY" in (missing_keys_note(load(tmp_path, body)) or "")
    assert missing_keys_note(load(tmp_path, body, env=ENV)) is None
    with pytest.raises(ConfigError, match=r"sources.yaml:\d+: source 'a': archive must be one"):
        load(tmp_path, body.replace("wayback", "archive.today"), env=ENV)
    config = load(tmp_path, body, env=ENV, defaults="  archive: wayback\n")
    assert config.sources[0].archive == "wayback" and config.archives
    config = load(tmp_path, body.replace("wayback", "none"), env=ENV,
                  defaults="  archive: wayback\n")
    assert config.sources[0].archive is None and not config.archives
    with pytest.raises(ConfigError, match="settings: wayback: per_minute"):
        load(tmp_path, body, env=ENV, settings_extra="  wayback:\n    per_minute: 0\n")


def test_a_crash_between_the_answer_and_the_mark_makes_no_second_capture(
        tmp_path, site, wayback):
    """At-least-once: an entry whose acceptance was never written (the process died between
    the archive's answer and the transaction) is requested again; the request carries
    if_not_archived_within, so the archive answers with the capture it has."""
    kept = _site(site, "kept", 1)
    config = _config(tmp_path, site, wayback)
    poll(config, clock=lambda: T0)
    assert _run(config, at=T0).sent == 1
    job = _entries(config)[0].job_id
    store = Store(config.settings.database_url)
    try:   # the state a crash before the mark leaves: the entry as it was when claimed
        with store.session() as s:
            s.execute(outbox.update(outbox.A).values(sent_at=None, job_id=None,
                                                     next_attempt_at=None))
    finally:
        store.close()
    assert _run(config, at=T0 + timedelta(seconds=limits.ARCHIVE_CLAIM_S)).sent == 1
    assert wayback.saves() == kept * 2          # requested twice ...
    assert len(wayback.captures) == 1           # ... captured once
    assert _entries(config)[0].job_id == job


def test_without_keys_nothing_is_sent_and_everything_is_kept(tmp_path, site, wayback):
    kept = _site(site, "kept", 1)
    keyless = _config(tmp_path, site, wayback, env={})
    poll(keyless, clock=lambda: T0)                   # polling works and enqueues
    assert _run(keyless, at=T0).sent == 0
    assert wayback.requests == []
    assert [e.url for e in _entries(keyless) if e.sent_at is None] == kept
    config = _config(tmp_path, site, wayback)         # the keys set: the entry goes out
    assert _run(config, at=T0).sent == 1


def test_the_service_polls_and_archives(tmp_path, site, wayback):
    """`collector run`: the statement is stored by a tick and sent by the archive job."""
    kept = _site(site, "kept", 1)
    path = write_config(tmp_path, f"sources:\n  - id: kept\n    url: {site.url('/kept/feed/')}\n"
                                  "    kind: feed\n    archive: wayback\n",
                        settings_extra=f"  tick: 1s\n  wayback:\n    url: {wayback.url}\n"
                                       "    per_minute: 60\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")} | ENV
    proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "--config", str(path),
                             "run", "--no-http"], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not wayback.saves() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
    finally:
        _elapsed, err = terminate(proc, timeout_s=20)
    assert wayback.saves() == kept, err
    entries = _entries(load_config(path, env=ENV))
    assert [(e.url, e.job_id is not None) for e in entries] == [(kept[0], True)]
