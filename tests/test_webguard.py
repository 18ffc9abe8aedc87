"""The web server against slow, idle, many and malformed clients (collector.webguard).

The subprocess tests run the real `collector run` and attack it over loopback sockets: idle
and half-request clients past the file limit, slowloris clients, a flood of malformed
requests. The in-process tests drive the connection deadlines with an explicit clock.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from collector import webguard
from collector.webguard import Tally, auto_max_connections
from tests.helpers import load, write_config
from tests.test_server_helpers import running

FILE_LIMIT = 256


# --- helpers ----------------------------------------------------------------------------------

class Service:
    """`collector run` in a subprocess, its log in a file, its address read from the log."""

    def __init__(self, tmp_path: Path, *, file_limit: int | None = None):
        write_config(tmp_path, "sources: []\n", settings_extra="  bind: 127.0.0.1:0\n  tick: 1s\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        self.log = tmp_path / "service.log"

        def limit_files() -> None:
            if file_limit is not None:
                _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                resource.setrlimit(resource.RLIMIT_NOFILE, (file_limit, hard))

        with open(self.log, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "run"],
                                         cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                         stderr=err, preexec_fn=limit_files)
        deadline = time.monotonic() + 60
        while not (m := re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.text())):
            assert self.proc.poll() is None, self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.05)
        self.port = int(m.group(1))
        self.url = f"http://127.0.0.1:{self.port}"
        # ready once the first tick has finished
        while httpx.get(self.url + "/healthz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.05)

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def service(tmp_path) -> Iterator[Service]:
    svc = Service(tmp_path)
    yield svc
    svc.stop()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _closed(sock: socket.socket, wait_s: float = 0.0) -> bool:
    """Whether the server has closed (or reset) the connection, waiting up to `wait_s`."""
    readable, _, _ = select.select([sock], [], [], wait_s)
    if not readable:
        return False
    try:
        return sock.recv(65536, socket.MSG_PEEK) == b""
    except ConnectionResetError:
        return True


def _closed_at(sock: socket.socket, limit_s: float) -> float | None:
    """Seconds (monotonic) at which the server closed `sock`, within `limit_s`; else None.
    Bytes the server sends before closing (a response) are read and dropped."""
    end = time.monotonic() + limit_s
    while (left := end - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], left)
        if not readable:
            return None
        try:
            if sock.recv(65536) == b"":
                return time.monotonic()
        except ConnectionResetError:
            return time.monotonic()
    return None


# --- the real service -------------------------------------------------------------------------

def test_idle_and_half_request_clients_past_the_file_limit_leave_healthz_answering(tmp_path):
    """Defect: 1,100 idle connections under a 1,024 file limit made the server unreachable
    and flooded the log. Under a limit of 256 files, 400 clients that send nothing or half a
    request head are held to the derived cap (the oldest idle are closed for newcomers);
    /healthz answers at once and the log stays a few lines."""
    svc = Service(tmp_path, file_limit=FILE_LIMIT)
    clients: list[socket.socket] = []
    try:
        for i in range(400):
            sock = _connect(svc.port)
            if i % 2:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            clients.append(sock)
        r = httpx.get(svc.url + "/healthz", timeout=5)
        assert r.status_code == 200, r.text
        cap = auto_max_connections(FILE_LIMIT, 256)
        open_left = sum(not _closed(s, 0.2) for s in clients[-cap:])
        closed_early = sum(_closed(s) for s in clients[:-cap])
        assert closed_early == len(clients) - cap      # every client beyond the cap was closed
        assert open_left >= cap - 1                    # the newest are still being served
    finally:
        for sock in clients:
            sock.close()
        svc.stop()
    text = svc.text()
    assert "Traceback" not in text, text[:3000]
    assert len(text.splitlines()) < 20, text[:3000]
    assert svc.proc.returncode == 0, text[-3000:]


def test_slow_and_idle_clients_are_cut_off_at_their_deadlines(service):
    """A client that sends nothing, one that drips its request head, and one idle after a
    complete request: the first two are closed once the head deadline has passed, the
    third after the keep-alive idle deadline, none before."""
    head, idle = webguard.HEAD_TIMEOUT_S, webguard.IDLE_TIMEOUT_S
    silent = _connect(service.port)
    t_silent = time.monotonic()
    drip = _connect(service.port)
    t_drip = time.monotonic()
    drip.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    kept = _connect(service.port)
    kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = b""
    while b'"status"' not in reply:
        reply += kept.recv(65536)
    t_kept = time.monotonic()
    try:
        closed_drip = None
        deadline = t_drip + head + 6
        while closed_drip is None and time.monotonic() < deadline:
            try:
                drip.sendall(b"X")          # one byte of a header every half second
            except OSError:
                closed_drip = time.monotonic()
                break
            closed_drip = _closed_at(drip, 0.5)
        closed_silent = _closed_at(silent, max(0.0, t_silent + head + 6 - time.monotonic()))
        closed_kept = _closed_at(kept, max(0.0, t_kept + idle + 6 - time.monotonic()))
    finally:
        for sock in (silent, drip, kept):
            sock.close()
    # Lower bounds: never before the deadline (the server starts a connection's clock after
    # the client's connect returned; a kept-alive wait starts as the answer is handed over,
    # just before the client has read it). Upper: the sweep runs every second.
    assert closed_silent is not None and head <= closed_silent - t_silent <= head + 5
    assert closed_drip is not None and head - 0.5 <= closed_drip - t_drip <= head + 5
    assert closed_kept is not None and idle - 0.5 <= closed_kept - t_kept <= idle + 5


def test_a_flood_of_malformed_requests_is_counted_not_logged_each_time(service):
    """Defect: every malformed request logged about nine lines at ERROR with a traceback.
    Now 600 of them give one line when the first comes and a count at the end of the
    interval (or at stop), with no traceback."""
    before = len(service.text().splitlines())
    for i in range(600):
        with _connect(service.port) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nNo colon in header %d\r\n\r\n" % i if i % 2 else
                         b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n")
            _closed_at(sock, 5)
    assert httpx.get(service.url + "/healthz", timeout=5).status_code == 200
    service.stop()
    text = service.text()
    lines = text.splitlines()[before:]
    assert "Traceback" not in text, text[:3000]
    assert not [ln for ln in lines if " ERROR " in ln], text[:3000]
    assert len(lines) <= 8, text
    firsts = [ln for ln in lines if "HTTP: malformed request: from" in ln]
    more = [int(m.group(1)) for ln in lines
            if (m := re.search(r"HTTP: malformed request: (\d+) more", ln))]
    assert len(firsts) + sum(more) == 600, text     # one a minute at most, then counted


@pytest.mark.parametrize("bind", ["taken", "192.0.2.1:8080"])
def test_run_with_a_bind_address_it_cannot_have_says_so_in_one_line(tmp_path, bind):
    """A port in use, or an address not on this host: one line naming the setting, exit 1,
    no traceback."""
    holder = socket.create_server(("127.0.0.1", 0))
    try:
        address = f"127.0.0.1:{holder.getsockname()[1]}" if bind == "taken" else bind
        write_config(tmp_path, "sources: []\n", settings_extra=f"  bind: {address}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        proc = subprocess.run([sys.executable, "-m", "collector.cli", "run"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)
    finally:
        holder.close()
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("collector: ")]
    assert len(errors) == 1, proc.stderr
    assert f"cannot listen on {address}" in errors[0]
    assert "`bind`" in errors[0] and "COLLECTOR_BIND" in errors[0]


# --- the guard, with an explicit clock ----------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _wait_open(server, n: int) -> None:
    deadline = time.monotonic() + 10
    while len(server.guard.open) != n:
        assert time.monotonic() < deadline, len(server.guard.open)
        time.sleep(0.01)


def test_the_cap_closes_the_longest_waiting_connection_and_deadlines_follow_the_clock(
        tmp_path):
    clock = Clock()
    config = load(tmp_path, "sources: []\n", settings_extra="  http_max_connections: 3\n")
    from collector.store import Store

    store = Store(config.settings.database_url)
    store.upgrade()
    try:
        with running(config, store, monotonic=clock) as srv:
            port = srv.port
            first = _connect(port)                  # waits for a head from t = 0
            _wait_open(srv, 1)
            clock.now += 1
            second = _connect(port)                 # from t = 1
            _wait_open(srv, 2)
            clock.now += 1
            kept = _connect(port)                   # answered at t = 2, then idle
            kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while b'"status"' not in reply:
                reply += kept.recv(65536)
            clock.now += 1
            fourth = _connect(port)                 # t = 3: over the cap of 3
            assert _closed(first, 5)                # the longest waiting made room
            _wait_open(srv, 3)
            assert not _closed(second) and not _closed(kept) and not _closed(fourth)

            clock.now = 1000 + 1 + webguard.HEAD_TIMEOUT_S + 0.5     # second's head is late
            assert _closed(second, 5)
            assert not _closed(fourth) and not _closed(kept)
            clock.now = 1000 + 3 + webguard.HEAD_TIMEOUT_S + 0.5     # fourth's head is late
            assert _closed(fourth, 5)
            assert not _closed(kept)
            clock.now = 1000 + 2 + webguard.IDLE_TIMEOUT_S + 0.5     # kept idled too long
            assert _closed(kept, 5)
            assert srv.tally.totals == {
                "HTTP: idle connection closed to make room": 1,
                f"HTTP: connection closed: no complete request within "
                f"{webguard.HEAD_TIMEOUT_S:g} s": 2,
                f"HTTP: idle connection closed after {webguard.IDLE_TIMEOUT_S:g} s": 1}
            for sock in (first, second, kept, fourth):
                sock.close()
    finally:
        store.close()


def test_tally_logs_the_first_event_then_one_count_per_interval(caplog):
    clock = Clock()
    tally = Tally(logging.getLogger("collector.test.tally"), interval_s=60, clock=clock)
    with caplog.at_level(logging.INFO, logger="collector.test.tally"):
        for i in range(1000):
            tally.add("HTTP: malformed request", f"n={i}")
            clock.now += 0.01                       # 10 s in all: one interval
        tally.add("HTTP: cannot accept connections", "Too many open files")
        clock.now += 60
        tally.maybe_flush()
        tally.flush()                               # nothing new: nothing said
    assert [r.getMessage() for r in caplog.records] == [
        "HTTP: malformed request: n=0",
        "HTTP: cannot accept connections: Too many open files",
        "HTTP: malformed request: 999 more in the last 70 s (latest: n=999)",
    ]


def test_out_of_file_descriptors_on_accept_is_counted_by_the_loop_handler(caplog):
    import asyncio
    import errno

    clock = Clock()
    tally = Tally(logging.getLogger("collector.test.emfile"), clock=clock)
    handler = webguard.exception_handler(tally)
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.INFO):
            for _ in range(500):
                handler(loop, {"message": "socket.accept() out of system resource",
                               "exception": OSError(errno.EMFILE, "Too many open files")})
    finally:
        loop.close()
    assert len(caplog.records) == 1
    assert caplog.records[0].levelno == logging.INFO and not caplog.records[0].exc_info
    assert tally.totals == {"HTTP: cannot accept connections": 500}


def test_the_derived_cap_leaves_the_fetcher_its_connections():
    assert auto_max_connections(1024, 256) == 320
    assert auto_max_connections(16384, 256) == webguard.MAX_AUTO_CONNECTIONS
    assert auto_max_connections(256, 256) == webguard.MIN_CONNECTIONS
