"""A source whose listing crashes the parse worker is quarantined (RELIABILITY row 10).

Real crashes through real polls: a loopback feed server, the real scheduler tick and store,
and a listing parser (tests.quarantine_helpers) that kills its worker process with SIGSEGV when
the feed carries a mark, the way a memory-safety bug in a native parser would.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector import decide, limits, pipeline
from collector.config import Config
from collector.errors import ExtractError
from collector.isolate import Isolator, ParseOverrun, ParserCrash
from collector.metrics import REGISTRY
from collector.scheduler import Worker
from collector.store import Store
from tests import quarantine_helpers
from tests.helpers import load, store_of, write_config
from tests.pages import article, rss_feed, wordpress_page
from tests.test_server_helpers import running
from tests.webserver import Page, SiteServer

STEP = timedelta(days=2)  # longer than any backoff of a few failures: every source is due


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def misbehaving_listings(monkeypatch: pytest.MonkeyPatch) -> None:
    # the pipeline hands this function to the parse worker, which imports it by module path
    monkeypatch.setattr(pipeline, "parse_feed", quarantine_helpers.misbehaving_parse_feed)


def good_feed(site: SiteServer, path: str = "/good/feed", n: int = 2, day: int = 1) -> None:
    items = [article(day * 10 + i, f"Statement {day}-{i}", datetime(2024, 5, day, 9, i,
                                                                  tzinfo=UTC))
             for i in range(1, n + 1)]
    site.pages[path] = Page(rss_feed("Good", site.base, items), "application/rss+xml")
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Good", a, site.base))


def bad_feed(site: SiteServer, path: str, mark: bytes) -> None:
    body = rss_feed("Bad", site.base, [article(99, "Never read", datetime(2024, 5, 1,
                                                                         tzinfo=UTC))])
    site.pages[path] = Page(body.encode() + mark, "application/rss+xml")


def sources(site: SiteServer, bad_path: str = "/bad/feed") -> str:
    return f"""sources:
  - id: bad
    name: Bad Press
    url: {site.url(bad_path)}
    kind: feed
  - id: good
    name: Good Press
    url: {site.url('/good/feed')}
    kind: feed
"""


def ticks(config: Config, clock: Clock, n: int, *, step: timedelta = STEP) -> None:
    """`n` scheduler ticks of one worker (as `collector run` makes them), `step` apart."""
    async def main() -> None:
        store = Store(config.settings.database_url)
        worker = Worker(config, store, clock=clock)
        try:
            await worker.start()
            for _ in range(n):
                await worker.tick()
                clock.now += step
        finally:
            await worker.close()
            store.close()

    asyncio.run(main())


def state(config: Config, source_id: str) -> Any:
    store = store_of(config)
    try:
        return next(s for s in store.source_states() if s.id == source_id)
    finally:
        store.close()


def polls_of(site: SiteServer, path: str) -> int:
    return len(site.requests_for(path))


def crash_errors(source_id: str) -> float:
    return REGISTRY.value("collector_poll_errors_total",
                          (("source", source_id), ("kind", decide.PARSER_CRASH)))


@pytest.fixture
def quarantined(tmp_path: Path, site: SiteServer) -> Iterator[tuple[Config, Clock]]:
    """A world where `bad` has just been quarantined by real crashes and `good` is fine."""
    good_feed(site)
    bad_feed(site, "/bad/feed", quarantine_helpers.CRASH_MARK)
    config = load(tmp_path, sources(site))
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    ticks(config, clock, limits.QUARANTINE_AFTER)
    yield config, clock


# --- the isolator tells a crash apart -------------------------------------------------------


def test_isolator_reports_a_dead_worker_as_parser_crash_and_an_overrun_as_timeout():
    with Isolator(1) as iso:
        with pytest.raises(ParserCrash) as crash:
            iso.call(quarantine_helpers.segfault, timeout_s=30)
        assert crash.value.kind == decide.PARSER_CRASH and "crashed" in str(crash.value)
        with pytest.raises(ParserCrash, match="crashed"):
            iso.call(quarantine_helpers.abort, timeout_s=30)
        with pytest.raises(ParseOverrun) as overrun:
            iso.call(quarantine_helpers.sleep, 30, timeout_s=0.5)
        assert overrun.value.kind == decide.PARSE_TIMEOUT and "longer than" in str(overrun.value)
        with pytest.raises(ExtractError) as refused:
            iso.call(quarantine_helpers.refuse, timeout_s=30)
        assert not isinstance(refused.value, (ParserCrash, ParseOverrun))
        assert getattr(refused.value, "kind", None) is None
        # the pool replaced every dead worker: it still answers
        assert iso.call(sorted, [3, 1, 2], timeout_s=30) == [1, 2, 3]


# --- crashes through real polls -------------------------------------------------------------


def test_crashing_listing_quarantines_its_source_after_the_limit_while_others_work(
        tmp_path, site):
    good_feed(site)
    bad_feed(site, "/bad/feed", quarantine_helpers.CRASH_MARK)
    config = load(tmp_path, sources(site))
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    crashes_before = crash_errors("bad")
    quarantines_before = REGISTRY.value("collector_source_quarantines_total",
                                        (("source", "bad"),))

    for n in range(1, limits.QUARANTINE_AFTER + 1):
        ticks(config, clock, 1)
        st = state(config, "bad")
        assert polls_of(site, "/bad/feed") == n
        assert st.last_error_kind == decide.PARSER_CRASH
        assert (st.health == "quarantined") == (n == limits.QUARANTINE_AFTER), n
    assert crash_errors("bad") - crashes_before == limits.QUARANTINE_AFTER
    assert REGISTRY.value("collector_source_quarantines_total",
                          (("source", "bad"),)) - quarantines_before == 1

    st = state(config, "bad")
    assert "quarantined after 3 parser crashes in a row" in st.last_error
    assert "the parse worker crashed" in st.last_error
    assert st.next_poll_at > clock.now + timedelta(days=365 * 50)
    good = state(config, "good")
    assert good.health == "healthy" and good.documents == 2

    # a month of ticks later: the quarantined source is never claimed, the other still is
    good_before = polls_of(site, "/good/feed")
    ticks(config, clock, 3, step=timedelta(days=10))
    assert polls_of(site, "/bad/feed") == limits.QUARANTINE_AFTER
    assert polls_of(site, "/good/feed") == good_before + 3
    assert state(config, "bad").health == "quarantined"


def test_crashes_only_back_off_until_the_limit(tmp_path, site):
    good_feed(site)
    bad_feed(site, "/bad/feed", quarantine_helpers.CRASH_MARK)
    config = load(tmp_path, sources(site))
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    ticks(config, clock, limits.QUARANTINE_AFTER - 1)
    st = state(config, "bad")
    assert st.health != "quarantined"
    assert st.next_poll_at <= clock.now + timedelta(seconds=limits.MAX_BACKOFF_S)


@pytest.mark.parametrize("mark, kind", [
    (b"", "parseerror"),                             # malformed XML: an ordinary parse error
    (quarantine_helpers.SLOW_MARK, decide.PARSE_TIMEOUT),   # the parse overruns its deadline
])
def test_malformed_feeds_and_parse_timeouts_never_quarantine(tmp_path, site, monkeypatch,
                                                             mark, kind):
    monkeypatch.setattr(limits, "EXTRACT_TIMEOUT_S", 1.0)
    good_feed(site)
    broken = b"<?xml version='1.0'?><notafeed><<<&&" if not mark \
        else rss_feed("Slow", site.base, []).encode()
    site.pages["/bad/feed"] = Page(broken + mark, "application/rss+xml")
    config = load(tmp_path, sources(site))
    clock = Clock(datetime.now(UTC).replace(microsecond=0))

    ticks(config, clock, limits.QUARANTINE_AFTER + 2)

    st = state(config, "bad")
    assert polls_of(site, "/bad/feed") == limits.QUARANTINE_AFTER + 2
    assert st.last_error_kind == kind
    assert st.consecutive_failures == limits.QUARANTINE_AFTER + 2
    assert st.health != "quarantined" and "quarantined" not in st.last_error
    assert st.next_poll_at <= clock.now + timedelta(seconds=limits.MAX_BACKOFF_S)
    assert state(config, "good").health == "healthy"


def test_a_timeout_between_crashes_restarts_the_count(tmp_path, site, monkeypatch):
    monkeypatch.setattr(limits, "EXTRACT_TIMEOUT_S", 1.0)
    good_feed(site)
    config = load(tmp_path, sources(site))
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    for mark in (quarantine_helpers.CRASH_MARK, quarantine_helpers.CRASH_MARK,
                 quarantine_helpers.SLOW_MARK, quarantine_helpers.CRASH_MARK,
                 quarantine_helpers.CRASH_MARK):
        bad_feed(site, "/bad/feed", mark)
        ticks(config, clock, 1)
    st = state(config, "bad")
    assert st.last_error_kind == decide.PARSER_CRASH and st.consecutive_failures == 5
    assert st.health != "quarantined"


# --- what people see, and the deliberate acts that end it -----------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLLECTOR_CONFIG", "COLLECTOR_DATA")}
    return subprocess.run([sys.executable, "-m", "collector.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_status_shows_the_quarantine_with_its_reason(tmp_path, quarantined):
    doc = json.loads(cli("status", "--json", cwd=tmp_path).stdout)
    rows = {r["id"]: r for r in doc["sources"]}
    assert rows["bad"]["health"] == "quarantined"
    assert rows["bad"]["next_poll_at"] is None     # not polled until released
    assert "parser crashed on 3 polls in a row" in rows["bad"]["reason"]
    assert rows["bad"]["last_error"]["kind"] == decide.PARSER_CRASH
    assert rows["good"]["health"] == "healthy" and rows["good"]["reason"] is None
    assert doc["sources"][0]["id"] == "bad"      # worst first
    table = cli("status", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "bad: quarantined: the parser crashed on 3 polls" in table.stdout


def test_sources_page_and_metrics_show_the_quarantined_source(quarantined):
    config, _clock = quarantined
    store = store_of(config)
    try:
        with running(config, store) as srv:
            page = httpx.get(srv.url + "/sources")
            metrics = httpx.get(srv.url + "/metrics").text
    finally:
        store.close()
    assert page.status_code == 200
    assert '<td data-label="Health" class="health-quarantined">quarantined</td>' in page.text
    assert "collector sources release bad" in page.text
    assert 'collector_source_health{health="quarantined",source="bad"} 1.0' in metrics
    assert 'collector_sources{health="quarantined"} 1.0' in metrics


def test_healthz_lists_the_quarantined_source_and_stays_ok(quarantined):
    """A restart cures nothing here, so the service stays healthy (200) and names the
    source and the reason for whoever reads the probe."""
    config, _clock = quarantined
    store = store_of(config)
    try:
        with running(config, store) as srv:
            got = httpx.get(srv.url + "/healthz")
    finally:
        store.close()
    assert got.status_code == 200
    [entry] = got.json()["quarantined"]
    assert entry["id"] == "bad"
    assert "quarantined after 3 parser crashes" in entry["reason"]


def test_release_puts_the_source_back_to_polling_now(tmp_path, site, quarantined):
    config, clock = quarantined
    r = cli("sources", "release", "bad", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "bad: released (was quarantined); health unknown until" in r.stdout
    st = state(config, "bad")
    # unknown until the next poll judges it; the failures it had are still on record
    assert st.health == "unknown" and st.consecutive_crashes == 0
    assert st.consecutive_failures == limits.QUARANTINE_AFTER
    assert st.next_poll_at <= datetime.now(UTC)

    good_feed(site, "/bad/feed", day=3)   # the page was fixed
    ticks(config, clock, 1)
    st = state(config, "bad")
    assert polls_of(site, "/bad/feed") == limits.QUARANTINE_AFTER + 1
    assert st.health == "healthy" and st.documents == 2


def test_released_source_that_still_crashes_is_quarantined_again_after_the_limit(
        tmp_path, site, quarantined):
    config, clock = quarantined
    assert cli("sources", "release", "bad", cwd=tmp_path).returncode == 0
    ticks(config, clock, limits.QUARANTINE_AFTER - 1)
    assert state(config, "bad").health != "quarantined"
    ticks(config, clock, 1)
    assert state(config, "bad").health == "quarantined"
    assert polls_of(site, "/bad/feed") == 2 * limits.QUARANTINE_AFTER


def test_release_of_an_unknown_source_is_refused(tmp_path, site):
    write_config(tmp_path, sources(site))
    r = cli("sources", "release", "nosuch", cwd=tmp_path)
    assert r.returncode == 2 and "unknown source(s): nosuch" in r.stderr


def test_manual_poll_still_polls_a_quarantined_source(site, quarantined):
    config, clock = quarantined

    async def manual() -> list[Any]:
        store = Store(config.settings.database_url)
        worker = Worker(config, store, clock=clock)
        try:
            await worker.start()
            return await worker.poll_ids(["bad"])   # `collector poll bad`
        finally:
            await worker.close()
            store.close()

    [(_source, outcome)] = asyncio.run(manual())
    assert not outcome.ok and outcome.error_kind == decide.PARSER_CRASH
    assert polls_of(site, "/bad/feed") == limits.QUARANTINE_AFTER + 1
    assert state(config, "bad").health == "quarantined"   # it still crashes

    good_feed(site, "/bad/feed", day=4)
    [(_source, outcome)] = asyncio.run(manual())
    assert outcome.ok and outcome.new_documents == 2
    st = state(config, "bad")
    assert st.health == "healthy" and st.next_poll_at < clock.now + timedelta(days=1)


def test_a_new_url_in_sources_yaml_ends_the_quarantine(tmp_path, site, quarantined):
    _config, clock = quarantined
    good_feed(site, "/moved/feed", day=5)
    moved = load(tmp_path, sources(site, bad_path="/moved/feed"))
    ticks(moved, clock, 1)   # the worker's start syncs sources.yaml into the database
    st = state(moved, "bad")
    assert polls_of(site, "/moved/feed") == 1
    assert st.health == "healthy" and st.documents == 2


def test_a_new_url_that_also_crashes_gets_the_full_count_again(tmp_path, site, quarantined):
    _config, clock = quarantined
    bad_feed(site, "/moved/feed", quarantine_helpers.CRASH_MARK)
    moved = load(tmp_path, sources(site, bad_path="/moved/feed"))
    for n in range(1, limits.QUARANTINE_AFTER + 1):
        ticks(moved, clock, 1)
        st = state(moved, "bad")
        assert polls_of(site, "/moved/feed") == n
        assert st.last_error_kind == decide.PARSER_CRASH
        assert (st.health == "quarantined") == (n == limits.QUARANTINE_AFTER), n


def test_digest_health_notes_list_a_quarantined_source_once_with_the_reason(quarantined):
    from collector.store.outbox import StoreOutbox

    config, clock = quarantined
    store = store_of(config)
    try:
        outbox = StoreOutbox(store, item_of=lambda doc, also: None,  # no documents pending
                             source_names={"bad": "Bad Press", "good": "Good Press"},
                             health_after_s=lambda digest_id: 3600.0)
        batch = outbox.claim("d", limit=10, now=clock.now + timedelta(days=1))
        assert batch is not None
        [note] = batch.health_notes
        assert (note.source_id, note.state) == ("bad", "broken")
        assert note.error == ("quarantined: the page made the parser crash on 3 polls in a row;"
                              " not polled until released (collector sources release)")
        outbox.delivered("d", batch, now=clock.now + timedelta(days=1))
        assert outbox.claim("d", limit=10, now=clock.now + timedelta(days=2)) is None
    finally:
        store.close()
