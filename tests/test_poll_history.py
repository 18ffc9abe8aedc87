"""A source's poll history: written by the real pipeline with each poll's outcome, bounded per
source, and shown on its organisation page newest first with the errors in words.

Real polls of a loopback site (and of a closed port) through the real worker, an explicit
clock, a real SQLite file (or a fresh PostgreSQL database on the PostgreSQL lane), and the real
web server read over HTTP.
"""

from __future__ import annotations

from dataclasses import replace as dataclass_replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from collector import limits
from collector.config import Config
from collector.store import PollRecord, Store
from collector.store.browse import poll_history
from tests.helpers import load, poll, store_of
from tests.test_quarantine import Clock, good_feed
from tests.test_server_helpers import running
from tests.webserver import Page, SiteServer

T0 = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
STEP = timedelta(minutes=30)
#: Nothing listens on the discard port of loopback: the connection is refused.
REFUSED_URL = "http://127.0.0.1:9/feed"


def config_for(tmp: Path, url: str) -> Config:
    """The same source (same database) at `url`: rewriting the config points it elsewhere."""
    return load(tmp, f"""sources:
  - id: press
    name: Harbour Press
    url: {url}
    kind: feed
  - id: other
    name: Other Press
    url: {REFUSED_URL}
    kind: feed
""")


def page(config: Config, now: datetime, path: str = "/o/press") -> LexborHTMLParser:
    store = store_of(config)
    try:
        with running(config, store, clock=lambda: now) as srv:
            r = httpx.get(srv.url + path)
            assert r.status_code == 200
            return LexborHTMLParser(r.text)
    finally:
        store.close()


def rows(doc: LexborHTMLParser) -> list[dict[str, str]]:
    table = doc.css_first("table.polls")
    assert table is not None
    heads = [th.text(strip=True) for th in table.css("thead th")]
    return [dict(zip(heads, (td.text(separator=" ", strip=True) for td in tr.css("td")),
                     strict=True)) | {"class": tr.attributes.get("class") or ""}
            for tr in table.css("tbody tr")]


def test_polls_that_succeed_fail_and_recover_are_listed_newest_first_in_words(
        tmp_path: Path, site: SiteServer):
    feed = site.url("/good/feed")
    good_feed(site)
    clock = Clock(T0)
    config = config_for(tmp_path, feed)

    def at(minutes_after: int, cfg: Config) -> None:
        clock.now = T0 + timedelta(minutes=minutes_after)
        ((source, _outcome),) = poll(cfg, ["press"], clock=clock)
        assert source.id == "press"

    at(0, config)                                      # finds the feed's two statements
    at(30, config)                                     # the same feed again: unchanged
    site.pages["/good/feed"] = Page("down for maintenance", "text/plain", status=500)
    at(60, config)
    at(90, config_for(tmp_path, REFUSED_URL))          # the address moved to a dead port

    doc = page(config, T0 + timedelta(minutes=100))
    summary = doc.css_first("p.poll-summary").text(separator=" ", strip=True)
    assert summary.startswith("2 of the last 4 polls failed; failing since")
    assert "(2 in a row)" in summary
    assert doc.css_first("p.poll-summary time").attributes["datetime"].startswith(
        "2024-05-02T09:00")

    good_feed(site, n=3, day=2)                        # back, with three new statements
    at(120, config)
    doc = page(config, T0 + timedelta(minutes=130))
    got = rows(doc)
    assert [r["Result"] for r in got] == ["✓ Succeeded", "✗ Failed", "✗ Failed",
                                          "✓ Unchanged", "✓ Succeeded"]
    whens = [tr.css_first("time").attributes["datetime"] for tr in doc.css("table.polls tbody tr")]
    assert [w[11:16] for w in whens] == ["10:00", "09:30", "09:00", "08:30", "08:00"]
    assert got[0]["Found"] == "3 new, 0 duplicates"
    assert got[3]["Found"] == ""                       # the same body as before
    assert got[4]["Found"] == "2 new, 0 duplicates"
    # failures: marked by a class and a word, the error in words with the raw one on request
    assert [r["class"] for r in got] == ["", "failed", "failed", "", ""]
    assert got[1]["Error"].startswith("127.0.0.1 refused the connection")
    assert got[2]["Error"].startswith("127.0.0.1 had an internal error (500)")
    raw = doc.css("table.polls tbody tr")[2].css_first("details code").text()
    assert raw.startswith("http_status:") and "500" in raw
    summary = doc.css_first("p.poll-summary").text(separator=" ", strip=True)
    assert summary == "2 of the last 5 polls failed; the latest succeeded."
    assert doc.css_first("table.polls caption").text(strip=True) == \
        "Latest polls of Harbour Press, newest first"

    # the store holds the same, with the kinds and counts the page was drawn from
    store = store_of(config)
    try:
        history = poll_history(store, "press")
    finally:
        store.close()
    assert [(p.ok, p.error_kind, p.new_documents) for p in history] == [
        (True, None, 3), (False, "refused", 0), (False, "http_status", 0), (True, None, 0),
        (True, None, 2)]
    assert [p.not_modified for p in history] == [False, False, False, True, False]
    assert all(p.error and len(p.error) <= limits.POLL_HISTORY_ERROR_CHARS
               for p in history if not p.ok)


def test_a_source_never_polled_says_so(tmp_path: Path):
    config = config_for(tmp_path, REFUSED_URL)
    store = store_of(config)
    store.sync_sources(config.sources, T0)
    store.close()
    doc = page(config, T0)
    assert doc.css_first("table.polls") is None
    assert "No poll of Harbour Press has been recorded yet." in doc.css_first(
        "section[aria-labelledby=polls-h]").text()


def test_pruning_keeps_the_latest_polls_of_each_source(tmp_path: Path, site: SiteServer,
                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(limits, "POLL_HISTORY_PER_SOURCE", 3)
    good_feed(site)
    config = config_for(tmp_path, site.url("/good/feed"))
    clock = Clock(T0)
    for i in range(5):
        clock.now = T0 + i * STEP
        poll(config, ["press", "other"] if i < 2 else ["press"], clock=clock)
    store = store_of(config)
    try:
        kept = poll_history(store, "press", limit=100)
        other = poll_history(store, "other", limit=100)
    finally:
        store.close()
    assert [p.polled_at for p in kept] == [T0 + i * STEP for i in (4, 3, 2)]
    # another source's rows are its own: pruning one leaves the other's untouched
    assert [(p.polled_at, p.ok) for p in other] == [(T0 + STEP, False), (T0, False)]


def test_the_default_bound_holds_over_many_batched_writes(database_url: str):
    """At the default limit, a long run of outcomes written in batches (as the outcome
    writer does) leaves exactly the latest POLL_HISTORY_PER_SOURCE rows of each source."""
    from collector.config import Source

    store = Store(database_url)
    try:
        store.upgrade()
        store.sync_sources([Source(id=f"s{i}", name=f"s{i}", url=f"http://127.0.0.1:9/{i}",
                                   kind="feed") for i in range(2)], T0)
        n = limits.POLL_HISTORY_PER_SOURCE
        total = n + 37
        for start in range(0, total, 16):
            batch = range(start, min(start + 16, total))
            store.save_polls([("s0", {"polls": i + 1}, None) for i in batch],
                             [PollRecord("s0", T0 + timedelta(minutes=i), ok=i % 3 != 0,
                                         error_kind=None if i % 3 else "timeout",
                                         error=None if i % 3 else "x" * 5000)
                              for i in batch])
        store.save_poll("s1", {"polls": 1}, release_owner=None,
                        record=PollRecord("s1", T0, ok=True))
        kept = poll_history(store, "s0", limit=10 * n)
        assert len(kept) == n
        assert kept[0].polled_at == T0 + timedelta(minutes=total - 1)
        assert kept[-1].polled_at == T0 + timedelta(minutes=total - n)
        assert max(len(p.error or "") for p in kept) == limits.POLL_HISTORY_ERROR_CHARS
        assert len(poll_history(store, "s1")) == 1
        assert store.source_state("s0").polls == total
    finally:
        store.close()


def test_the_summary_dates_a_long_failure_from_the_stored_first_failure():
    """Polls are newest first. A run of failures longer than the polls shown began before the
    oldest shown: its start is the source's stored first failure, not the oldest row."""
    from collector.health import summarise_polls
    from collector.store import SourceState

    def polls(*oks: bool) -> list[PollRecord]:
        return [PollRecord("s", T0 - i * STEP, ok=ok) for i, ok in enumerate(oks)]

    assert summarise_polls(polls(True, False, True)) == \
        summarise_polls(polls(True, False, True), None)
    s = summarise_polls(polls(True, False, True))
    assert (s.shown, s.failed, s.failing, s.failing_since) == (3, 1, 0, None)
    s = summarise_polls(polls(False, False, True, False))
    assert (s.failed, s.failing, s.failing_since) == (3, 2, T0 - STEP)
    began = T0 - timedelta(days=3)
    state = SourceState(id="s", name="s", url="http://127.0.0.1:9/", kind="feed",
                        resolved_kind=None, resolved_url=None, resolved_reason=None, etag=None,
                        last_modified=None, body_hash=None, next_poll_at=None,
                        last_poll_at=T0, last_success_at=None, last_items_at=None,
                        first_failure_at=began, consecutive_failures=40,
                        consecutive_empty=0, last_error="x", last_error_kind="timeout",
                        health="broken", polls=90)
    s = summarise_polls(polls(False, False), state)
    assert (s.failing, s.failing_since) == (2, began)
    # a stored first failure newer than the run shown (another streak) is not used
    s = summarise_polls(polls(False, False), dataclass_replace(state, first_failure_at=T0))
    assert s.failing_since == T0 - STEP
