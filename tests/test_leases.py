"""Leases at start-up on SQLite: a worker frees only the leases of processes that are gone.

A one-shot `collector poll` started while `collector run` polls (or the other way round) must
not take the other's sources: that would poll one source from two processes at once."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import text

from collector.scheduler import Worker, owner_dead, worker_id
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


@pytest.mark.skipif(bool(os.environ.get("COLLECTOR_TEST_DATABASE_URL")),
                    reason="on PostgreSQL a start frees no lease: they run out by themselves")
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


class _HoldingSite:
    """Feeds at /<id>.xml; a path in `held` is answered only once its event is set."""

    def __init__(self) -> None:
        self.held: dict[str, threading.Event] = {}
        self.requests: list[str] = []
        self.arrived = threading.Condition()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with site.arrived:
                    site.requests.append(self.path)
                    site.arrived.notify_all()
                event = site.held.get(self.path)
                if event is not None:
                    event.wait(30)
                body = FEED.encode() if self.path.endswith(".xml") else b"nothing"
                self.send_response(200 if self.path.endswith(".xml") else 404)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, check, timeout_s: float = 30) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: check(self.requests), timeout_s)

    def stop(self) -> None:
        for event in self.held.values():
            event.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_poll_that_outlives_its_lease_is_not_claimed_again_by_its_own_worker(
        tmp_path: Path):
    """A tick goes on claiming while its polls run; a slow poll's lease may run out meanwhile
    (a loaded machine, a short lease). The source must not be claimed again by the worker that
    is still polling it: the claim takes the next due source instead."""
    site = _HoldingSite()
    try:
        site.held = {"/a.xml": threading.Event(), "/b.xml": threading.Event()}
        config = load(tmp_path, "sources:\n" + "".join(
            f"  - id: {n}\n    url: {site.base}/{n}.xml\n    kind: feed\n    robots: false\n"
            for n in ("a", "b", "c")),
            settings_extra="    poll_concurrency: 2\n")
        t0 = datetime(2031, 1, 1, tzinfo=UTC)
        clock = [t0]
        store = store_of(config)
        store.sync_sources(config.sources, t0)
        with store.engine.begin() as conn:     # a, then b, then c: the order claims take
            for hours, sid in ((3, "a"), (2, "b"), (1, "c")):
                conn.execute(text("UPDATE sources SET next_poll_at = :t WHERE id = :i"),
                             {"t": (t0 - timedelta(hours=hours)).replace(tzinfo=None),
                              "i": sid})

        async def main() -> list[str]:
            worker = Worker(config, store, clock=lambda: clock[0])
            worker.lease_s = 60
            await worker.start()
            tick = asyncio.ensure_future(worker.tick())
            try:
                assert await asyncio.to_thread(
                    site.wait_for, lambda r: {"/a.xml", "/b.xml"} <= set(r))
                # both polls hang; their leases run out
                clock[0] = t0 + timedelta(seconds=120)
                site.held["/b.xml"].set()
                # b's slot is free again: the tick claims the next due source
                assert await asyncio.to_thread(
                    site.wait_for, lambda r: "/c.xml" in r or r.count("/a.xml") > 1)
                site.held["/a.xml"].set()
                await asyncio.wait_for(tick, 60)
            finally:
                await worker.close()
            return list(site.requests)

        requests = asyncio.run(main())
        assert requests.count("/a.xml") == 1, requests
        assert requests.count("/c.xml") == 1
        store.close()
    finally:
        site.stop()
