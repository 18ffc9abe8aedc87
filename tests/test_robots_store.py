"""robots.txt kept in the database for its lifetime: a restart or a one-shot `collector poll`
refetches none still fresh; an expired one is revalidated with a conditional GET."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, text, update

from collector import limits, robots, scheduler
from collector.store import Store
from collector.store.robots import StoredRobots
from collector.store.tables import RobotsRow
from tests.helpers import load, poll, write_config
from tests.webserver import Page, SiteServer

FEED = ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
        "<link>http://example.org/</link></channel></rss>")


def _serve(site: SiteServer, rules: str = "User-agent: *\nDisallow: /private/\n",
           etag: str = '"r1"', max_age: int | None = None) -> None:
    headers = {"Cache-Control": f"max-age={max_age}"} if max_age is not None else {}
    site.pages["/robots.txt"] = Page(rules, "text/plain", etag=etag, headers=headers)
    site.pages["/feed.xml"] = Page(FEED, "application/rss+xml")


def _row(config) -> dict:
    store = Store(config.settings.database_url)
    try:
        with store.session(read=True) as s:
            row = s.scalars(select(RobotsRow)).one()
            return {c: getattr(row, c) for c in ("origin", "agent", "status", "rules", "etag",
                                                 "last_modified", "fetched_at", "expires_at")}
    finally:
        store.close()


def _expire(config, *, ago: timedelta = timedelta(seconds=1)) -> None:
    """The entry's lifetime has run out (as it would have after its max-age)."""
    store = Store(config.settings.database_url)
    try:
        with store.session() as s:
            s.execute(update(RobotsRow).values(expires_at=datetime.now(UTC) - ago))
    finally:
        store.close()


def _config(tmp_path: Path, site: SiteServer):
    return load(tmp_path, f"sources:\n  - id: a\n    url: {site.url('/feed.xml')}\n"
                          "    kind: feed\n")


def test_a_second_poll_within_the_lifetime_fetches_no_robots_txt(tmp_path, site):
    _serve(site, max_age=3600)
    write_config(tmp_path, f"sources:\n  - id: a\n    url: {site.url('/feed.xml')}\n"
                           "    kind: feed\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COLLECTOR_CONFIG", "COLLECTOR_DATA")}
    for run in (1, 2):
        r = subprocess.run([sys.executable, "-m", "collector.cli", "poll"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert len(site.requests_for("/feed.xml")) == run
        assert len(site.requests_for("/robots.txt")) == 1, f"poll {run} fetched robots.txt"
    row = _row(_config(tmp_path, site))
    assert row["origin"] == site.base and row["status"] == 200 and row["etag"] == '"r1"'
    assert row["agent"] == "collector" and "Disallow: /private/" in row["rules"]
    lifetime = (row["expires_at"] - row["fetched_at"]).total_seconds()
    assert lifetime == pytest.approx(3600, abs=2)


def test_an_expired_entry_is_revalidated_and_a_304_renews_it(tmp_path, site):
    _serve(site)
    config = _config(tmp_path, site)
    poll(config)
    first = _row(config)
    assert (first["expires_at"] - first["fetched_at"]).total_seconds() == pytest.approx(
        limits.ROBOTS_TTL_S, abs=2)   # no max-age: 24 h
    _expire(config)
    (_, outcome), = poll(config)
    assert outcome.ok, outcome.error
    asks = site.requests_for("/robots.txt")
    assert len(asks) == 2
    assert "if-none-match" not in asks[0].headers
    assert asks[1].headers.get("if-none-match") == '"r1"'       # answered 304 by the server
    renewed = _row(config)
    assert renewed["expires_at"] > datetime.now(UTC) + timedelta(hours=23)
    assert renewed["rules"] == first["rules"]
    poll(config)
    assert len(site.requests_for("/robots.txt")) == 2          # fresh again: not asked


def test_a_changed_robots_txt_is_picked_up_at_revalidation(tmp_path, site):
    _serve(site)
    config = _config(tmp_path, site)
    (_, outcome), = poll(config)
    assert outcome.ok
    _serve(site, rules="User-agent: collector\nDisallow: /feed\n", etag='"r2"')
    (_, outcome), = poll(config)
    assert outcome.ok, "the saved copy was not used"            # still fresh: old rules
    _expire(config)
    (_, outcome), = poll(config)
    assert not outcome.ok and outcome.error_kind == "robots"
    assert len(site.requests_for("/feed.xml")) == 2
    row = _row(config)
    assert row["etag"] == '"r2"' and "Disallow: /feed" in row["rules"]


def test_max_age_sets_the_lifetime_within_bounds(tmp_path, site):
    config = _config(tmp_path, site)
    for n, (max_age, expected) in enumerate(((3 * 86400, limits.ROBOTS_TTL_S),
                                             (5, limits.ROBOTS_MIN_TTL_S), (7200, 7200))):
        _serve(site, max_age=max_age, etag=f'"v{n}"')     # a new file each time: a 200
        if n:
            _expire(config)
        poll(config)
        row = _row(config)
        assert (row["expires_at"] - row["fetched_at"]).total_seconds() == pytest.approx(
            expected, abs=2), max_age


def test_a_404_is_kept_as_allow_all_and_an_unreachable_answer_is_not_saved(tmp_path, site):
    site.pages["/feed.xml"] = Page(FEED, "application/rss+xml")
    config = _config(tmp_path, site)
    (_, outcome), = poll(config)                                # /robots.txt: 404
    assert outcome.ok
    row = _row(config)
    assert row["status"] == 404 and row["rules"] == ""
    poll(config)
    assert len(site.requests_for("/robots.txt")) == 1
    # a 503 while the entry is expired: the old copy answers, the saved row is left as it was
    _expire(config)
    before = _row(config)
    site.pages["/robots.txt"] = Page("down", "text/plain", status=500)
    (_, outcome), = poll(config)
    assert outcome.ok
    assert _row(config) == before


@pytest.fixture
def sites() -> Iterator[list[SiteServer]]:
    servers = [SiteServer().start() for _ in range(12)]
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()


def test_a_poll_of_many_hosts_writes_their_robots_txt_in_one_transaction(tmp_path, sites):
    for s in sites:
        _serve(s)
    config = load(tmp_path, "sources:\n" + "".join(
        f"  - id: s{i}\n    url: {s.url('/feed.xml')}\n    kind: feed\n"
        for i, s in enumerate(sites)))
    writes: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT INTO ROBOTS_TXT",
                                                   "DELETE FROM ROBOTS_TXT")):
            writes.append(statement.split()[0])

    async def main():
        st = Store(config.settings.database_url)
        # the worker's own store, watched
        event.listen(st.engine, "before_cursor_execute", count)
        worker = scheduler.Worker(config, st)
        try:
            await worker.start()
            return await worker.poll_ids([s.id for s in config.sources])
        finally:
            await worker.close()
            st.close()

    results = asyncio.run(main())
    assert all(o.ok for _, o in results)
    assert all(len(s.requests_for("/robots.txt")) == 1 for s in sites)
    store = Store(config.settings.database_url)
    try:
        with store.engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM robots_txt")) == len(sites)
    finally:
        store.close()
    # one batch: one DELETE of their origins, one for the long-expired, one INSERT (executemany)
    assert writes.count("INSERT") == 1 and writes.count("DELETE") == 2, writes


def test_rules_kept_for_another_product_token_are_not_used():
    saved = robots.Saved("http://h.test", "otherbot", 200, "User-agent: *\nDisallow: /\n",
                         None, None, 0.0, 1e12)
    fetched: list[str] = []

    class Kept:
        def load(self):
            return {saved.origin: saved}

        def save(self, entries):
            pass

    async def fetch(url, policy, etag, last_modified):
        fetched.append(url)
        return robots.RobotsAnswer(200, b"User-agent: *\nAllow: /\n")

    async def go():
        cache = robots.RobotsCache(fetch, store=Kept())
        return await cache.allowed("http://h.test/x", "collector/1.0")
    assert asyncio.run(go()) is True
    assert fetched == ["http://h.test/robots.txt"]


def test_dump_keeps_what_applies_to_the_agent():
    text_ = ("User-agent: other\nDisallow: /\n\nUser-agent: *\nDisallow: /a\nAllow: /a/b$\n"
             "Crawl-delay: 2.5\n")
    parsed = robots.parse(text_)
    again = robots.parse(parsed.dump("collector/1.0"))
    for path in ("/", "/a", "/a/b", "/a/bc", "/z"):
        assert again.allowed(path, "collector/1.0") == parsed.allowed(path, "collector/1.0")
    assert again.crawl_delay("collector/1.0") == 2.5
    assert "other" not in parsed.dump("collector/1.0")
    assert StoredRobots  # the store side is exercised by the poll tests above


def test_hosts_with_the_same_rules_share_one_parsed_file_and_one_kept_text(database_url):
    """Hosts whose robots.txt differ only in what the rules ignore (each names its own
    sitemap) hold one RobotsFile and one text of kept rules, and each answers as its own;
    the texts read back from the store are one string too."""
    bodies = {f"http://h{i}.test/robots.txt":
              (f"User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n"
               f"Sitemap: http://h{i}.test/wp-sitemap.xml\n").encode() for i in range(3)}
    bodies["http://other.test/robots.txt"] = b"User-agent: *\nDisallow: /\n"
    kept: list[robots.Saved] = []

    class Kept:
        def load(self):
            return {}

        def save(self, entries):
            kept.extend(entries)

    async def fetch(url, policy, etag, last_modified):
        return robots.RobotsAnswer(200, bodies[url])

    async def go() -> list[bool]:
        cache = robots.RobotsCache(fetch, store=Kept())
        got = [await cache.allowed(f"http://{h}.test/wp-admin/x", "collector/1.0")
               for h in ("h0", "h1", "h2", "other")]
        got += [await cache.allowed(f"http://{h}.test/wp-admin/admin-ajax.php", "collector/1.0")
                for h in ("h0", "other")]
        await cache.flush()
        assert len({id(e.robots) for e in cache._entries.values()}) == 2
        return got

    assert asyncio.run(go()) == [False, False, False, False, True, False]
    assert len(kept) == 4 and len({id(s.rules) for s in kept}) == 2
    assert len({id(s.agent) for s in kept}) == 1
    store = Store(database_url)
    try:
        store.upgrade()
        StoredRobots(store).save(kept)
        loaded = StoredRobots(store).load()
    finally:
        store.close()
    assert sorted(loaded) == sorted(s.origin for s in kept)
    assert {o: s.rules for o, s in loaded.items()} == {s.origin: s.rules for s in kept}
    assert len({id(s.rules) for s in loaded.values()}) == 2
