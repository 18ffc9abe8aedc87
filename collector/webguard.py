"""What keeps slow, idle or many clients from taking the web server (and the service) down.

The HTTP server (collector.server) speaks HTTP through aiohttp; this module owns the
connections underneath it:

- **A cap on open connections.** At most `max_connections` are open at once (the setting
  `http_max_connections`; by default derived from the process's file limit, leaving the
  fetcher its connections, see `auto_max_connections`). A connection that arrives at the cap
  evicts the one that has waited longest for a request; when every open connection is busy
  with a request, the newcomer is answered 503 and closed. So a crowd of idle clients cannot
  lock out /healthz, and the server never takes the file descriptors the fetcher needs.
- **Deadlines.** A request head must arrive completely within `HEAD_TIMEOUT_S` of the
  connection opening (or of its first byte, on a kept-alive connection); a kept-alive
  connection that sends nothing is closed after `IDLE_TIMEOUT_S`. A request body is read for
  at most `BODY_TIMEOUT_S` (aiohttp's lingering time; no page here reads a body).
- **No log flood.** What clients do wrong (malformed requests, timeouts, evictions) and what
  the system refuses (`accept()` out of file descriptors) is counted in a `Tally`: the first
  event of each kind in an interval gets one line, the rest one summary line with a count at
  the end of the interval. None of it carries a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("collector.server")

#: Seconds a client has to send a whole request head (slowloris clients are cut off here).
HEAD_TIMEOUT_S = 10.0
#: Seconds a kept-alive connection may sit without starting its next request.
IDLE_TIMEOUT_S = 15.0
#: Seconds a request body is read (and thrown away: no page here takes a body).
BODY_TIMEOUT_S = 5.0
#: How often deadlines are checked; a deadline is enforced within this much of passing.
SWEEP_S = 1.0
#: Events of one kind are summarised once per this many seconds.
SUMMARY_INTERVAL_S = 60.0
#: Longest client-supplied text quoted in a log line.
MAX_QUOTE_CHARS = 160
#: File descriptors kept out of the web server's reach besides the fetcher's connections:
#: the database, the corpus files being written, parse worker pipes, the log.
RESERVED_FDS = 128
#: Bounds of the derived cap: enough for a page read by a handful of people and a monitor;
#: never so many that the event loop spends its time on idle sockets.
MIN_CONNECTIONS = 16
MAX_AUTO_CONNECTIONS = 1000

_BUSY_REPLY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
               b"Content-Length: 29\r\nConnection: close\r\nRetry-After: 5\r\n\r\n"
               b"Too many connections; retry.\n")


def file_limit() -> int:
    """The process's soft limit on open files (RLIMIT_NOFILE)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def auto_max_connections(nofile: int, fetch_concurrency: int) -> int:
    """Half of what the file limit leaves after the fetcher's connections and RESERVED_FDS,
    within [MIN_CONNECTIONS, MAX_AUTO_CONNECTIONS]. 1,024 files and 256 fetches give 320."""
    spare = nofile - fetch_concurrency - RESERVED_FDS
    return max(MIN_CONNECTIONS, min(MAX_AUTO_CONNECTIONS, spare // 2))


def quote(text: object) -> str:
    """Client-supplied text for a log line: one line, bounded."""
    s = " ".join(str(text).split())
    return s if len(s) <= MAX_QUOTE_CHARS else s[:MAX_QUOTE_CHARS] + "…"


class Tally:
    """Counts repeated events by kind; logs the first of each kind per interval at once and
    the rest as one summary line with a count when the interval ends (`flush`)."""

    def __init__(self, logger: logging.Logger, *, interval_s: float = SUMMARY_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic, level: int = logging.INFO):
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self.level = level
        self._since = clock()
        self._counts: dict[str, int] = {}
        self._latest: dict[str, str] = {}
        #: every event counted since start, by kind (for tests and metrics)
        self.totals: dict[str, int] = {}

    def add(self, kind: str, detail: str = "") -> None:
        self.totals[kind] = self.totals.get(kind, 0) + 1
        seen = self._counts.get(kind, 0)
        self._counts[kind] = seen + 1
        if seen == 0:
            self.logger.log(self.level, "%s%s", kind, f": {detail}" if detail else "")
        else:
            self._latest[kind] = detail
        self.maybe_flush()

    def maybe_flush(self) -> None:
        if self.clock() - self._since >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        """One line per kind seen more than once in the interval; the interval restarts."""
        span = self.clock() - self._since
        for kind, count in self._counts.items():
            if count > 1:
                latest = self._latest.get(kind, "")
                self.logger.log(self.level, "%s: %d more in the last %.0f s%s", kind,
                                count - 1, span, f" (latest: {latest})" if latest else "")
        self._counts.clear()
        self._latest.clear()
        self._since = self.clock()


class ClientErrors(logging.Filter):
    """Installed on aiohttp's server logger: a client's malformed request or dropped
    connection is an ordinary event, so it becomes a count in the tally (one line, no
    traceback) instead of an ERROR with a traceback. Anything else passes unchanged."""

    def __init__(self, tally: Tally):
        super().__init__()
        self.tally = tally

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not _client_fault(exc):
            return True
        peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        self.tally.add("HTTP: malformed request", quote(f"from {peer}: {exc}"))
        return False


def _client_fault(exc: BaseException) -> bool:
    from aiohttp.http_exceptions import HttpProcessingError

    return isinstance(exc, HttpProcessingError | ConnectionError)


def exception_handler(tally: Tally) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]],
                                                None]:
    """An event loop exception handler: running out of file descriptors (asyncio retries
    `accept()` every second while it lasts) is counted; everything else goes to asyncio's
    default handler."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE,
                                                      errno.ENOBUFS, errno.ENOMEM):
            tally.add("HTTP: cannot accept connections", quote(
                f"{context.get('message', '')}: {exc.strerror or exc}"))
            return
        loop.default_exception_handler(context)

    return handle


class _Conn(asyncio.Protocol):
    """One client connection: passes everything to aiohttp's protocol and keeps the state
    the guard's deadlines need (waiting for a request, or busy with one)."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol):
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.first = True            # no request finished on this connection yet
        self.heads = 0               # request heads seen
        self.done = 0                # requests answered
        self.since = guard.clock()   # start of the current wait
        self.started = False         # a byte of the next head has arrived
        self.admitted = False        # handed to aiohttp (which must then see it end)
        self._tail = b""

    @property
    def waiting(self) -> bool:
        return self.heads <= self.done

    def deadline(self) -> float:
        if self.started or self.first:
            return self.since + self.guard.head_timeout_s
        return self.since + self.guard.idle_timeout_s

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.guard.admit(self):
            transport.write(_BUSY_REPLY)
            transport.close()
            self.transport = None
            return
        self.admitted = True
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.transport is None:
            return
        if self.waiting and not self.started:
            self.started = True
            if not self.first:
                self.since = self.guard.clock()
        # request heads end with an empty line; the bytes before it are kept across reads
        seen = self._tail + data
        self.heads += seen.count(b"\r\n\r\n")
        self._tail = seen[-3:]
        self.inner.data_received(data)

    def answered(self) -> None:
        """A request on this connection was answered: its keep-alive wait starts."""
        self.done = min(self.done + 1, self.heads)
        self.first = False
        self.started = False
        self.since = self.guard.clock()

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.transport is not None else None

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.release(self)
        if self.admitted:
            self.inner.connection_lost(exc)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class ConnectionGuard:
    """The protocol factory given to `loop.create_server`: wraps aiohttp's, admits at most
    `max_connections` connections and closes those that miss their deadline."""

    def __init__(self, factory: Callable[[], asyncio.Protocol], *, max_connections: int,
                 tally: Tally, head_timeout_s: float = HEAD_TIMEOUT_S,
                 idle_timeout_s: float = IDLE_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic):
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.factory = factory
        self.max_connections = max_connections
        self.tally = tally
        self.head_timeout_s = head_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock
        #: open connections, oldest first
        self.open: dict[_Conn, None] = {}
        self._by_transport: dict[int, _Conn] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def __call__(self) -> asyncio.Protocol:
        return _Conn(self, self.factory())

    # -- admission -----------------------------------------------------------------------------

    def admit(self, conn: _Conn) -> bool:
        if len(self.open) >= self.max_connections:
            victim = min((c for c in self.open if c.waiting), key=lambda c: c.since,
                         default=None)
            if victim is None:
                self.tally.add("HTTP: connection refused",
                               f"all {self.max_connections} connections are busy")
                return False
            self.tally.add("HTTP: idle connection closed to make room",
                           f"at the cap of {self.max_connections}")
            self._drop(victim)
        self.open[conn] = None
        assert conn.transport is not None
        self._by_transport[id(conn.transport)] = conn
        return True

    def release(self, conn: _Conn) -> None:
        """Forget a connection that has ended (or is being closed)."""
        self.open.pop(conn, None)
        if conn.transport is not None:
            self._by_transport.pop(id(conn.transport), None)

    def _drop(self, conn: _Conn) -> None:
        """Close a connection now; its place is free at once (aiohttp hears of the end
        through the transport, as of any other)."""
        self.release(conn)
        if conn.transport is not None:
            conn.transport.abort()

    def answered(self, transport: object) -> None:
        """Called by the application when it has answered a request on `transport`."""
        conn = self._by_transport.get(id(transport))
        if conn is not None:
            conn.answered()

    # -- deadlines -----------------------------------------------------------------------------

    def sweep(self) -> int:
        """Close every connection past its deadline; how many were closed."""
        now = self.clock()
        late = [c for c in self.open if c.waiting and now >= c.deadline()]
        for conn in late:
            if conn.started or conn.first:
                self.tally.add("HTTP: connection closed: no complete request within "
                               f"{self.head_timeout_s:g} s")
            else:
                self.tally.add(f"HTTP: idle connection closed after {self.idle_timeout_s:g} s")
            self._drop(conn)
        self.tally.maybe_flush()
        return len(late)

    def start(self) -> None:
        async def run() -> None:
            while True:
                await asyncio.sleep(SWEEP_S)
                self.sweep()

        self._sweeper = asyncio.get_running_loop().create_task(run())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        self.tally.flush()

    def close_idle(self) -> None:
        """Close every connection not busy with a request (the service is stopping)."""
        for conn in [c for c in self.open if c.waiting]:
            self._drop(conn)
