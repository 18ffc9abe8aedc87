"""SIGHUP re-reads sources.yaml in a running `collector run`: a valid file adds and removes
sources while a poll is in flight (which finishes and is saved), and a broken file is refused
with its problems logged and shown on the sources page while the old configuration stays.

A real service process, real signals, a loopback site, and one feed whose answer is held back
by the test (an event), so the reload provably happens while that poll runs.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.helpers import write_config
from tests.pages import article, rss_feed, wordpress_page
from tests.webserver import Page, SiteServer

#: Bound on every wait for the service to do something (start, poll, reload, stop).
WAIT_S = 60
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


class HeldFeed:
    """A feed whose answer waits until the test releases it."""

    def __init__(self, body: bytes):
        self.arrived = threading.Event()
        self.release = threading.Event()
        held = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                held.arrived.set()
                held.release.wait(WAIT_S)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class Service:
    """`collector run` in a child process; its log lines are read as they come."""

    def __init__(self, cwd: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        self.proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "run"], cwd=cwd,
                                     env=env, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.url = self.wait_for(r"HTTP server listening on (\S+)").group(1)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first log line (from now on, or already seen) matching `pattern`."""
        for line in self.seen:
            if m := re.search(pattern, line):
                self.seen.remove(line)
                return m
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "the service stopped:\n" + "".join(self.seen)
                continue
            if m := re.search(pattern, line):
                return m
            self.seen.append(line)
        raise AssertionError(f"no log line matching {pattern!r}:\n" + "".join(self.seen))

    def sources_page(self) -> str:
        return httpx.get(self.url + "/sources", timeout=10).text

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def feed_site(site: SiteServer, path: str, name: str, n: int) -> None:
    items = [article(n * 10 + i, f"{name} statement {i}", T0) for i in range(1, 3)]
    site.pages[path] = Page(rss_feed(name, site.base, items), "application/rss+xml")
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page(name, a, site.base))


NAMES = {"a": "Alpha Press", "b": "Bravo Press", "c": "Charlie Press"}


def config_text(**urls: str) -> str:
    return "sources:\n" + "".join(
        f"  - id: {sid}\n    name: {NAMES[sid]}\n    url: {url}\n    kind: feed\n"
        "    backfill: 0\n" for sid, url in urls.items())


@pytest.fixture
def world(tmp_path: Path, site: SiteServer) -> Iterator[tuple[Path, SiteServer, HeldFeed]]:
    feed_site(site, "/b/feed", "Bravo", 1)
    feed_site(site, "/c/feed", "Charlie", 2)
    held = HeldFeed(rss_feed("Alpha", site.base, [article(31, "Alpha statement", T0)]).encode())
    try:
        yield tmp_path, site, held
    finally:
        held.close()


def write(tmp_path: Path, body: str) -> None:
    write_config(tmp_path, body, settings_extra="  bind: 127.0.0.1:0\n  tick: 1s\n")


def test_a_valid_reload_adds_and_removes_sources_while_a_poll_runs(world):
    tmp_path, site, held = world
    write(tmp_path, config_text(a=held.url, b=site.url("/b/feed")))
    service = Service(tmp_path)
    try:
        assert held.arrived.wait(WAIT_S), "the held feed was never asked for"
        service.wait_for(r"source b: ")                     # b's poll is done, a's is held

        write(tmp_path, config_text(b=site.url("/b/feed"), c=site.url("/c/feed")))
        service.proc.send_signal(signal.SIGHUP)
        m = service.wait_for(r"reloaded .*sources\.yaml: (.*)")
        assert m.group(1).startswith("1 sources added (c), 1 removed (a), 0 changed")
        held.release.set()
        # the poll in flight when `a` was removed finishes and is saved, not cancelled
        service.wait_for(r"source a: 0 new, 0 duplicates")
        service.wait_for(r"source c: ")                     # the new source is polled
        assert len(site.requests_for("/c/feed")) >= 1
        page = service.sources_page()
        assert "Charlie Press" in page and "Bravo Press" in page
        assert "Alpha Press" not in page
    finally:
        service.stop()
    assert service.proc.returncode == 0


def test_a_broken_reload_is_refused_logged_and_shown_and_the_old_configuration_stays(world):
    tmp_path, site, held = world
    held.release.set()
    write(tmp_path, config_text(b=site.url("/b/feed")))
    service = Service(tmp_path)
    try:
        service.wait_for(r"source b: ")
        (tmp_path / "sources.yaml").write_text(
            (tmp_path / "sources.yaml").read_text() + "  - id: Bad Id\n    url: nowhere\n"
            "    colour: red\n")
        service.proc.send_signal(signal.SIGHUP)
        problem = service.wait_for(r"reload refused: (.*sources\.yaml:\d+: .*)").group(1)
        service.wait_for(r"reload refused: \d+ problem\(s\) in .*; the configuration in force "
                         r"stays")
        page = service.sources_page()
        assert "sources.yaml was changed but not reloaded" in page
        assert problem.split(": ", 1)[1].strip().replace("'", "&#39;") in page
        assert "Bravo Press" in page                        # the old configuration is in force
        # after a good reload the notice goes away
        write(tmp_path, config_text(b=site.url("/b/feed"), c=site.url("/c/feed")))
        service.proc.send_signal(signal.SIGHUP)
        service.wait_for(r"reloaded .*sources\.yaml: 1 sources added \(c\)")
        page = service.sources_page()
        assert "not reloaded" not in page and "Charlie Press" in page
    finally:
        service.stop()
    assert service.proc.returncode == 0
