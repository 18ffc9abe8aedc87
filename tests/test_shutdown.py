"""SIGTERM to a real `collector run` in the states where a stop used to wait for a timeout.

Each test starts the service as a subprocess against loopback servers, waits until it is
inside the stalled exchange, sends SIGTERM and measures the time to exit. The budget is 8 s
(docker kills after 10 s). Afterwards the log must end with "stopped", carry no ERROR and no
traceback, and the data must be intact: a digest whose exchange was abandoned is still
pending and goes out once on the next send.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.config import load_config
from collector.digests import DigestRunner
from tests.helpers import load, poll, store_of, write_config
from tests.pages import article, rss_feed, wordpress_page
from tests.webserver import Page

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
BUDGET_S = 8.0


class SilentServer:
    """Accepts TCP connections on loopback and never sends a byte (nor closes them)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.accepted.append(conn)

    def connections(self) -> int:
        with self._lock:
            return len(self.accepted)

    def close(self) -> None:
        self.sock.close()
        with self._lock:
            for conn in self.accepted:
                conn.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def _publish(site, items) -> None:
    site.pages["/feed/"] = Page(rss_feed("Red Dawn", site.base, items), "application/rss+xml")
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red Dawn", a, site.base))


def _with_pending_digest(tmp_path: Path, site, smtp_port: int) -> None:
    """A data directory whose email digest has one statement pending, sent to `smtp_port`."""
    body = f"""sources:
  - id: reddawn
    url: {site.url('/feed/')}
    kind: feed
    backfill: 0
digests:
  - id: daily
    channel: email
    schedule: immediate
    to: [reader@example.org]
"""
    settings = (f"  smtp:\n    host: 127.0.0.1\n    port: {smtp_port}\n    security: none\n"
                "    timeout: 25s\n  tick: 1s\n")
    _publish(site, [article(1, "Old statement", T0)])
    config = load(tmp_path, body, settings_extra=settings)
    poll(config)                       # the baseline: nothing for digests
    _publish(site, [article(1, "Old statement", T0), article(2, "New statement", T0)])
    poll(config)
    store = store_of(config)
    try:
        assert store.count_pending().get("daily") == 1
    finally:
        store.close()


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    log = tmp_path / "service.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "run", *extra],
                                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                text=True)
    return proc, log


def _wait_for(proc: subprocess.Popen[str], log: Path, condition, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert proc.poll() is None, f"exited before {what}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"never {what}:\n{log.read_text()}"
        time.sleep(0.05)


def _terminate(proc: subprocess.Popen[str], log: Path) -> tuple[float, str]:
    """SIGTERM; seconds until the process ended, and its log."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return time.monotonic() - sent, log.read_text()


def _assert_clean_stop(proc: subprocess.Popen[str], took: float, text: str) -> None:
    assert proc.returncode == 0, text
    assert took < BUDGET_S, f"took {took:.1f} s:\n{text}"
    lines = text.strip().splitlines()
    assert lines[-1].endswith(" stopped"), text
    assert sum(ln.endswith(" stopped") for ln in lines) == 1, text
    assert "Traceback" not in text, text
    assert not [ln for ln in lines if " ERROR " in ln], text


def _send_pending(tmp_path: Path, smtp) -> int:
    """`collector digest daily --send` against a working server: what is left pending."""
    config = load_config(tmp_path / "sources.yaml",
                         env={"COLLECTOR_SMTP_HOST": smtp.host,
                              "COLLECTOR_SMTP_PORT": str(smtp.port)})
    store = store_of(config)
    try:
        runner = DigestRunner(config, store)
        result = asyncio.run(runner.run_digest(config.digest("daily"), force=True))
        assert not result.startswith("failed"), result
        return sum(store.count_pending().values())
    finally:
        store.close()


def test_sigterm_while_the_smtp_server_never_greets(tmp_path, site, silent, make_smtp_server):
    """The SMTP server accepts and never says 220: the stop abandons the exchange at once
    (it used to wait for the 25 s SMTP timeout); the digest stays pending and goes out on
    the next send."""
    _with_pending_digest(tmp_path, site, silent.port)
    proc, log = _start(tmp_path, "--no-http")
    _wait_for(proc, log, lambda: silent.connections() > 0, "connected to the SMTP server")
    took, text = _terminate(proc, log)
    _assert_clean_stop(proc, took, text)
    assert "abandoned" in text

    store = store_of(load_config(tmp_path / "sources.yaml", env={}))
    try:
        assert store.count_pending().get("daily") == 1     # nothing marked delivered
    finally:
        store.close()
    good = make_smtp_server(tls="none")
    assert _send_pending(tmp_path, good) == 0
    assert len(good.messages) == 1
    assert b"New statement" in good.messages[0].content


def test_sigterm_while_the_smtp_server_stalls_after_the_message(tmp_path, site,
                                                                 make_smtp_server):
    """The server reads the whole message and never answers it: the stop abandons the
    exchange; the statement is still pending and is sent (once) on the next send."""
    smtp = make_smtp_server(tls="none")
    smtp.fail("stall", seconds=120, times=1)
    _with_pending_digest(tmp_path, site, smtp.port)
    proc, log = _start(tmp_path, "--no-http")
    _wait_for(proc, log, lambda: smtp.faults_hit > 0, "sent the message data")
    took, text = _terminate(proc, log)
    _assert_clean_stop(proc, took, text)
    assert "abandoned" in text

    assert _send_pending(tmp_path, smtp) == 0
    assert len(smtp.messages) == 1
    assert b"New statement" in smtp.messages[0].content


def test_sigterm_during_a_fetch_that_never_answers(tmp_path, silent):
    """A source's server accepts and never answers while the web page is served too: the
    stop cancels the poll without an ERROR or a traceback (a stop is not an error) and
    exits within the budget, "stopped" being the last line."""
    write_config(tmp_path, "sources:\n  - id: hang\n"
                           f"    url: http://127.0.0.1:{silent.port}/feed\n    kind: feed\n"
                           "    robots: false\n",
                 settings_extra="    deadline: 30s\n  tick: 1s\n  bind: 127.0.0.1:0\n")
    proc, log = _start(tmp_path)
    _wait_for(proc, log, lambda: silent.connections() > 0, "fetched")
    took, text = _terminate(proc, log)
    _assert_clean_stop(proc, took, text)
    assert "cancelled 1 polls at shutdown" in text


def test_the_exit_waits_for_threads_only_until_its_deadline():
    """`collector run` waits for blocking calls still running after the stop until the exit
    deadline; one that is still running then is named (and left behind)."""
    from collector.cli import _threads_done

    release = threading.Event()
    blocked = threading.Thread(target=release.wait, name="stuck-call")
    blocked.start()
    try:
        started = time.monotonic()
        busy = asyncio.run(_threads_done(started + 0.3))
        waited = time.monotonic() - started
        assert "stuck-call" in busy     # (other tests may leave idle pool threads behind)
        assert 0.3 <= waited < 5
    finally:
        release.set()
        blocked.join(5)
    assert "stuck-call" not in asyncio.run(_threads_done(time.monotonic()))
