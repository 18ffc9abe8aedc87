"""HTTP/1.1 for the fetcher: an httpx transport written on h11 and plain asyncio.

What this module owns:

- connecting: names are resolved here, every address is checked before the connect (refusing
  loopback, private and other special addresses unless allowed), and the connection goes to
  exactly the address that was checked, so DNS rebinding between check and connect is
  impossible; TLS with the given context and the host name for SNI and verification;
- the HTTP/1.1 exchange, with h11 doing the parsing (header size bounded);
- a small keep-alive pool per transport: idle connections per origin, the oldest closed first
  beyond `max_idle`, none kept past `keepalive_s` or once the server has closed or sent
  something unasked.

httpx provides the request and response types, the URL parser and the error classes, so the
fetcher above sees an ordinary httpx transport (`handle_async_request`). It replaces httpx's
default stack (httpcore on anyio) for what it cost at scale: most of the CPU of polling
thousands of mostly unchanged feeds went to a pool rescanned on every request, cancel scopes
and a task group per connect. Timeouts come from the request's `timeout` extension (httpx's
connect/read/write phases); the fetcher adds a whole-request deadline on top. A `trace`
extension (httpcore's convention: an async callable taking an event name and a dict) hears
when each phase starts, so a timeout can say what was being waited for:
`connection.connect_tcp.started` (skipped for a kept-alive connection),
`http11.send_request_headers.started` and `http11.receive_response_headers.started`.
A `capture` extension (a `Recorder`) asks for the exchange's bytes as they went over the wire:
the request as sent and the response as received, framing and codings included (for WARC
capture); without it nothing is copied.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import h11
import httpx

from . import limits

#: Resolver hook: (host, port) -> IP address strings. Tests map names like `evil.test` here.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]

#: Reading pauses when this much is buffered and not yet consumed (flow control).
_READ_HIGH_WATER = 256 * 1024
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class Recorder:
    """The bytes of one exchange, filled in by the transport when given as the request's
    `capture` extension: `request` as sent, `response` as received (status line, headers and
    body up to the end of the message, in its transfer and content codings), `ip` the address
    connected to."""

    def __init__(self) -> None:
        self.request = b""
        self.response = bytearray()
        self.ip: str | None = None


class Blocked(Exception):
    """Every address of a host is refused by the address policy."""


class DnsFailed(Exception):
    """The host name cannot be resolved."""


# --- address safety --------------------------------------------------------------------------

def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def address_problem(ip: str) -> str | None:
    """Why connecting to `ip` is refused by default, or None when it is a public address."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_ipv4(addr)
        if inner is not None:
            problem = address_problem(str(inner))
            return f"embeds {inner}: {problem}" if problem else None
    checks = (
        (addr.is_loopback, "loopback"),
        (addr.is_unspecified, "unspecified"),
        (addr.is_link_local, "link-local"),
        (addr.is_multicast, "multicast"),
        (isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT, "shared (CGNAT)"),
        (addr.is_private, "private"),
        (addr.is_reserved, "reserved"),
        (not addr.is_global, "not globally routable"),
    )
    for hit, reason in checks:
        if hit:
            return f"{reason} address"
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


async def system_resolver(host: str, port: int) -> Sequence[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        ip = str(info[4][0])
        if ip not in seen:
            seen.append(ip)
    return seen


class AddressGuard:
    """Resolves a host and returns the addresses the policy permits, or raises."""

    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None,
                 allowed_networks: Networks = ()) -> None:
        self._allow_private = allow_private
        self._resolver = resolver or system_resolver
        self._allowed = allowed_networks

    def problem(self, ip: str) -> str | None:
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
        if any(addr in net for net in self._allowed):
            return None
        if self._allow_private:
            return "unspecified address" if addr.is_unspecified else None
        return address_problem(ip)

    async def permitted(self, host: str, port: int) -> list[str]:
        bare = host.strip("[]")
        addresses: Sequence[str]
        if _is_ip(bare):
            addresses = [bare]
        else:
            try:
                addresses = await self._resolver(bare, port)
            except (OSError, UnicodeError) as exc:
                raise DnsFailed(f"cannot resolve {bare}: {exc}") from exc
            if not addresses:
                raise DnsFailed(f"cannot resolve {bare}: no addresses")
        refused: list[str] = []
        permitted: list[str] = []
        for ip in addresses:
            problem = self.problem(ip)
            if problem:
                refused.append(f"{ip} ({problem})")
            else:
                permitted.append(ip)
        if not permitted:
            raise Blocked(f"{bare} resolves only to refused addresses: {', '.join(refused)}")
        return permitted[: limits.MAX_ADDRESSES_TRIED]


# --- one connection --------------------------------------------------------------------------

async def _wait(future: asyncio.Future[None], timeout: float | None,
                error: type[httpx.TimeoutException], message: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            await future
    except TimeoutError as exc:
        raise error(message) from exc


class _Protocol(asyncio.Protocol):
    """Buffers what arrives and wakes the one reader waiting for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_HIGH_WATER and not self._reading_paused \
                and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def read(self, timeout: float | None) -> bytes:
        """What has arrived (waiting for it if nothing has); b"" at the end of the stream."""
        while not self.buffer:
            if self.eof:
                if self.error is not None:
                    raise httpx.ReadError(f"connection lost: {self.error}") from self.error
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await _wait(self._waiter, timeout, httpx.ReadTimeout,
                            "timed out waiting for the server")
            finally:
                self._waiter = None
        data = bytes(self.buffer)
        self.buffer.clear()
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def write(self, data: bytes, timeout: float | None) -> None:
        if self.transport is None or self.eof:
            raise httpx.WriteError("connection closed before the request was sent")
        self.transport.write(data)
        if self._writing_paused:
            self._drain = asyncio.get_running_loop().create_future()
            try:
                await _wait(self._drain, timeout, httpx.WriteTimeout,
                            "timed out sending the request")
            finally:
                self._drain = None


class _Connection:
    def __init__(self, key: tuple[str, str, int], protocol: _Protocol) -> None:
        self.key = key
        self.protocol = protocol
        self.h11 = h11.Connection(h11.CLIENT,
                                  max_incomplete_event_size=limits.MAX_RESPONSE_HEAD_BYTES)
        self.idle_since = 0.0
        self.reused = False
        #: where the bytes read are copied while a captured exchange runs (else None)
        self.tee: bytearray | None = None
        self.ip: str | None = None

    def reusable_at(self, now: float, keepalive_s: float) -> bool:
        # Anything buffered while idle (or the end of the stream) means the server closed or
        # misbehaves: the connection must not carry another request.
        p = self.protocol
        return (not p.eof and not p.buffer and p.transport is not None
                and not p.transport.is_closing() and now - self.idle_since < keepalive_s)

    async def next_event(self, timeout: float | None) -> Any:
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is h11.NEED_DATA:
                data = await self.protocol.read(timeout)
                if self.tee is not None:
                    self.tee += data
                self.h11.receive_data(data)
                continue
            return event

    def close(self) -> None:
        transport = self.protocol.transport
        if transport is not None and not transport.is_closing():
            transport.abort()


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives; closing it returns the connection to the pool when
    the exchange ended cleanly."""

    def __init__(self, owner: GuardedTransport, conn: _Connection,
                 timeout: float | None) -> None:
        self._owner = owner
        self._conn = conn
        self._timeout = timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            event = await self._conn.next_event(self._timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                tee = self._conn.tee
                if tee is not None:
                    # bytes read past the end of this message are not part of it
                    extra = len(self._conn.h11.trailing_data[0])
                    if extra:
                        del tee[-extra:]
                    self._conn.tee = None
                return

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._conn.tee = None
            self._owner._release(self._conn)


# --- the transport ---------------------------------------------------------------------------

def _timeouts(request: httpx.Request) -> tuple[float | None, float | None, float | None]:
    t = request.extensions.get("timeout") or {}
    return t.get("connect"), t.get("read"), t.get("write")


class GuardedTransport(httpx.AsyncBaseTransport):
    """GET/HEAD-style HTTP/1.1 exchanges over address-checked connections (no proxies, no
    HTTP/2: neither is wanted for polling feeds)."""

    def __init__(self, *, guard: AddressGuard, ssl_context: ssl.SSLContext | None,
                 max_idle: int = limits.MAX_KEEPALIVE_CONNECTIONS,
                 keepalive_s: float = limits.KEEPALIVE_EXPIRY_S) -> None:
        self._guard = guard
        self._ssl = ssl_context
        self._max_idle = max(0, max_idle)
        self._keepalive_s = keepalive_s
        # idle connections by origin, and all of them oldest first (for eviction)
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._order: collections.OrderedDict[int, _Connection] = collections.OrderedDict()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        connect_t, read_t, write_t = _timeouts(request)
        url = request.url
        https = url.scheme == "https"
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}")
        key = (url.scheme, url.host, url.port or (443 if https else 80))
        head = h11.Request(method=request.method, target=url.raw_path,
                           headers=request.headers.raw)
        trace = request.extensions.get("trace")
        recorder: Recorder | None = request.extensions.get("capture")
        for attempt in (1, 2):
            conn = self._checkout(key)
            if conn is None:
                if trace is not None:
                    await trace("connection.connect_tcp.started", {"host": url.host})
                conn = await self._connect(key, https, connect_t)
            try:
                if trace is not None:
                    await trace("http11.send_request_headers.started", {"request": request})
                sent = conn.h11.send(head) + conn.h11.send(h11.EndOfMessage())
                if recorder is not None:
                    recorder.request, recorder.response = sent, bytearray()
                    recorder.ip = conn.ip
                    conn.tee = recorder.response
                await conn.protocol.write(sent, write_t)
                if trace is not None:
                    await trace("http11.receive_response_headers.started", {"request": request})
                event = await conn.next_event(read_t)
                while isinstance(event, h11.InformationalResponse):
                    event = await conn.next_event(read_t)
            except BaseException:
                conn.tee = None
                conn.close()
                raise
            if isinstance(event, h11.ConnectionClosed):
                conn.close()
                # A kept-alive connection the server closed just as we used it: one fresh try.
                if conn.reused and attempt == 1:
                    continue
                raise httpx.RemoteProtocolError("Server disconnected without sending a "
                                                "response.")
            assert isinstance(event, h11.Response)
            return httpx.Response(
                event.status_code, headers=list(event.headers),
                stream=_Body(self, conn, read_t), request=request,
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": event.reason})
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(self, key: tuple[str, str, int], https: bool,
                       timeout: float | None) -> _Connection:
        _scheme, host, port = key
        addresses = await self._guard.permitted(host, port)
        loop = asyncio.get_running_loop()
        last: BaseException | None = None
        for ip in addresses:
            protocol = _Protocol()
            try:
                async with asyncio.timeout(timeout):
                    await loop.create_connection(
                        lambda p=protocol: p, ip, port, ssl=self._ssl if https else None,
                        server_hostname=host.strip("[]") if https else None,
                        ssl_handshake_timeout=timeout if https else None)
            except TimeoutError as exc:
                last = httpx.ConnectTimeout(f"no connection to {ip} port {port} within "
                                            f"{timeout:g} s")
                last.__cause__ = exc
                continue
            except (OSError, ssl.SSLError) as exc:
                last = httpx.ConnectError(str(exc) or type(exc).__name__)
                last.__cause__ = exc
                if isinstance(exc, ssl.SSLError):
                    break  # the certificate will not change with the address
                continue
            conn = _Connection(key, protocol)
            conn.ip = ip
            return conn
        assert last is not None
        raise last

    def _checkout(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            self._order.pop(id(conn), None)
            if conn.reusable_at(now, self._keepalive_s):
                if not idle:
                    del self._idle[key]
                conn.reused = True
                return conn
            conn.close()
        self._idle.pop(key, None)
        return None

    def _release(self, conn: _Connection) -> None:
        h = conn.h11
        if self._max_idle == 0 or h.our_state is not h11.DONE or h.their_state is not h11.DONE:
            conn.close()
            return
        try:
            h.start_next_cycle()
        except h11.LocalProtocolError:
            conn.close()
            return
        now = time.monotonic()
        conn.idle_since = now
        self._idle.setdefault(conn.key, []).append(conn)
        self._order[id(conn)] = conn
        # Close what expired, then the oldest beyond the bound.
        while self._order:
            oldest = next(iter(self._order.values()))
            if len(self._order) <= self._max_idle and \
                    now - oldest.idle_since < self._keepalive_s:
                break
            self._order.popitem(last=False)
            bucket = self._idle.get(oldest.key)
            if bucket is not None:
                bucket.remove(oldest)
                if not bucket:
                    del self._idle[oldest.key]
            oldest.close()

    async def aclose(self) -> None:
        for conn in list(self._order.values()):
            conn.close()
        self._order.clear()
        self._idle.clear()
