"""Leases at start-up on SQLite: a worker frees only the leases of processes that are gone.

A one-shot `collector poll` started while `collector run` polls (or the other way round) must
not take the other's sources: that would poll one source from two processes at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from collector.scheduler import owner_dead, worker_id
from collector.store import Store
from tests.helpers import load, poll, store_of
from tests.webserver import Page, SiteServer

FEED = ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
        "<link>http://example.org/</link></channel></rss>")


def _set_lease(store: Store, sid: str, owner: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE sources SET lease_owner = :o, lease_until = :u, "
                          "next_poll_at = :n WHERE id = :i"),
                     {"o": owner, "u": datetime.now(UTC) + timedelta(hours=1),
                      "n": datetime.now(UTC) - timedelta(hours=1), "i": sid})


def _owner(store: Store, sid: str) -> str | None:
    with store.engine.connect() as conn:
        return conn.scalar(text("SELECT lease_owner FROM sources WHERE id = :i"), {"i": sid})


def test_a_poll_frees_the_leases_of_dead_processes_only(tmp_path: Path, site: SiteServer):
    for name in ("live", "dead", "elsewhere"):
        site.pages[f"/{name}.xml"] = Page(FEED, "application/rss+xml")
    config = load(tmp_path, "sources:\n" + "".join(
        f"  - id: {n}\n    url: {site.url(f'/{n}.xml')}\n    kind: feed\n    robots: false\n"
        for n in ("live", "dead", "elsewhere")))
    host = socket.gethostname()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        store = store_of(config)
        store.sync_sources(config.sources, datetime.now(UTC))
        _set_lease(store, "live", f"{host}:{alive.pid}:aaaaaa")
        _set_lease(store, "dead", f"{host}:{gone.pid}:bbbbbb")
        # another machine's worker (PostgreSQL-style sharing): never judged from here
        _set_lease(store, "elsewhere", f"{host}-other:{gone.pid}:cccccc")
        store.close()

        results = poll(config)

        polled = {src.id for src, outcome in results}
        assert polled == {"dead"}
        assert site.requests_for("/dead.xml")
        assert not site.requests_for("/live.xml"), "a live process's source was polled again"
        assert not site.requests_for("/elsewhere.xml")
        store = Store(config.settings.database_url)
        try:
            assert _owner(store, "live") == f"{host}:{alive.pid}:aaaaaa"
            assert _owner(store, "elsewhere") == f"{host}-other:{gone.pid}:cccccc"
            assert _owner(store, "dead") is None
        finally:
            store.close()
    finally:
        alive.kill()
        alive.wait()


def test_owner_dead_judges_this_hosts_pids():
    host = socket.gethostname()
    me = worker_id()
    assert me.startswith(f"{host}:{os.getpid()}:")
    # this pid written by an earlier life of the process (not a Worker running now)
    assert owner_dead(me)
    assert not owner_dead(f"{host}:1:abcdef")           # pid 1 always runs
    assert not owner_dead("other-host:12345:abcdef")
    assert not owner_dead("w1")                          # not a worker id: left to expire
    assert not owner_dead(f"{host}:notapid:abcdef")
