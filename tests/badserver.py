"""A misbehaving HTTP server on loopback for tests: one misbehaviour per path.

The server runs its own asyncio loop in a background thread, so tests may be synchronous or
asynchronous. It writes raw bytes (no HTTP library), so it can break the protocol on purpose.
Every request is logged (`requests`) with its headers and peer address, and the highest number
of requests in flight at once is kept (`max_in_flight`).

Use the `badserver` fixture (one server on 127.0.0.1) or `BadServer(host=..., tls=...)`
directly. Paths (query strings noted where they matter):

    /feed               RSS with ETag "v1" and Last-Modified; 304 to a matching conditional GET
    /page               an HTML article
    /json-feed          a JSON Feed (application/feed+json)
    /same-body          the same RSS every time, with no validators
    /etag-drift         304 to conditional requests, with a new ETag every time
    /slow?s=0.3         the feed after a pause (concurrency and spacing tests)
    /hang               reads the request, never answers
    /hang-body          headers, then nothing
    /drip               headers, then one byte every 0.2 s (Content-Length 100000)
    /drip-headers       the status line and headers one byte every 0.2 s
    /endless            chunked body that never ends
    /gzip-bomb          128 MiB of zeros, gzip-compressed (~130 KB on the wire)
    /brotli-bomb        128 MiB of zeros, brotli-compressed (~200 bytes on the wire)
    /sitemap.xml.gz     a gzipped file (application/x-gzip), not a Content-Encoding
    /bad-gzip           Content-Encoding gzip over bytes that are not gzip
    /gzip-ok            a feed, gzip-compressed
    /unknown-encoding   Content-Encoding: x-custom
    /huge-length        Content-Length of a terabyte
    /truncated          Content-Length 1000, 500 bytes sent, connection closed
    /truncated-chunked  one chunk, then the connection closes without the last chunk
    /charset-missing    windows-1251 HTML, charset only in <meta>
    /charset-wrong      UTF-8 HTML labelled iso-8859-1
    /redirect-loop      301 -> /redirect-loop-b -> 301 -> /redirect-loop
    /redirect-self      301 to itself
    /redirect-chain/N   N hops of 302 and then the feed
    /redirect-to?url=U  302 to U (private addresses, other schemes, other hosts)
    /redirect-relative  302 with a relative Location to the feed
    /redirect-no-location  302 without Location
    /429                429 with Retry-After: 120
    /429-garbage        429 with Retry-After: soon
    /429-forever        429 with Retry-After of ten years
    /503-date           503 with Retry-After as an HTTP date one hour ahead
    /500, /404, /403    plain error statuses
    /304-always         304 even to a request without validators
    /malformed-xml      RSS that is not well-formed
    /html-feed          an HTML page served where a feed is expected (text/html)
    /html-as-xml        an HTML page labelled application/rss+xml
    /empty              200 with an empty body
    /binary             200 image/png
    /octet-binary       200 application/octet-stream with binary bytes
    /reset              closes the connection without answering
    /garbage            answers bytes that are not HTTP
    /cache?max_age=N    the feed with Cache-Control: max-age=N
    /robots.txt         `robots_txt` if set (status `robots_status`), else 404

Feed-level modes (items link back to this server's /article, so nothing leaves loopback):

    /article?n=K        a distinct HTML article for each K
    /feed-same-guid     three items sharing one GUID, with distinct links
    /feed-no-ids        two items with neither GUID nor link (text in the description)
    /feed-future        one item dated 2099, one dated in the past
    /feed-bozo          not well-formed (raw `&`, unclosed `<b>`) but readable by a lenient parser
    /feed-unreadable    application/rss+xml whose body is plain prose, not XML
    /feed-redos         one item whose <author> is 16 KB of `a@a.a.a…!` (feedparser#562)
    /feed-laughs        "billion laughs" nested entities in the DOCTYPE
    /feed-xxe           external entities to file:///etc/passwd and to /xxe-probe on this server
    /feed-cp1251        windows-1251 RSS, charset only in the XML declaration
    /feed-charset-wrong UTF-8 RSS labelled `charset=iso-8859-1` in Content-Type
    /xxe-probe          records the request (a parser that fetched an external entity)
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import brotli
import pytest

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Ministry statements</title><link>http://example.org/</link>
<description>Statements</description>
<item><title>Statement on water</title><link>http://example.org/s/1</link>
<guid>s-1</guid><pubDate>Sat, 01 Mar 2025 10:00:00 GMT</pubDate></item>
<item><title>Statement on roads</title><link>http://example.org/s/2</link>
<guid>s-2</guid><pubDate>Fri, 28 Feb 2025 09:00:00 GMT</pubDate></item>
</channel></rss>
"""
PAGE = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Statement</title></head>"
        "<body><h1>Statement on water</h1><p>The ministry said \u201cwater is safe\u201d.</p>"
        "</body></html>").encode()
JSON_FEED = (b'{"version": "https://jsonfeed.org/version/1.1", "title": "S", "items": '
             b'[{"id": "1", "url": "http://example.org/s/1", "title": "One"}]}')
CYRILLIC_TEXT = "Заявление министерства"
CHARSET_MISSING = (
    "<html><head><meta charset=\"windows-1251\"><title>Заявление</title></head>"
    f"<body><h1>{CYRILLIC_TEXT}</h1><p>{CYRILLIC_TEXT}.</p></body></html>"
).encode("windows-1251")
QUOTED_TEXT = "The minister\u2019s \u201cplan\u201d \u2014 caf\u00e9"
CHARSET_WRONG = f"<html><body><h1>{QUOTED_TEXT}</h1></body></html>".encode()
MALFORMED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & bad
<item><title>Unclosed<link>http://example.org/x</item></rss"""
LAST_MODIFIED = "Sat, 01 Mar 2025 10:00:00 GMT"
BOMB_BYTES = 128 * 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)

_bombs: dict[str, bytes] = {}
_bomb_lock = threading.Lock()


def bomb(kind: str) -> bytes:
    """A small body that decompresses to BOMB_BYTES of zeros (made once per process)."""
    with _bomb_lock:
        if kind not in _bombs:
            zeros = bytes(1 << 20)
            if kind == "gzip":
                c = zlib.compressobj(9, zlib.DEFLATED, 31)
                _bombs[kind] = b"".join(c.compress(zeros) for _ in range(BOMB_BYTES >> 20)) \
                    + c.flush()
            else:
                b = brotli.Compressor(quality=5)
                _bombs[kind] = b"".join(b.process(zeros) for _ in range(BOMB_BYTES >> 20)) \
                    + b.finish()
        return _bombs[kind]


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]      # lower-cased names
    peer: str
    at: float                    # time.monotonic() when the request head was read


@dataclass
class BadServer:
    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    robots_txt: str | None = None
    robots_status: int = 200
    requests: list[Seen] = field(default_factory=list)
    max_in_flight: int = 0
    port: int = 0
    connections: int = 0

    def __post_init__(self) -> None:
        self._in_flight = 0
        self._etag_counter = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()

    # --- life cycle --------------------------------------------------------------------------

    def __enter__(self) -> BadServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> BadServer:
        # the bombs are made before anything is served (once per process): made on their
        # first request, their CPU would count against a client's deadline on a busy machine
        bomb("gzip")
        bomb("br")
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.call_soon(ready.set)
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"badserver-{self.host}", daemon=True)
        self._thread.start()
        ready.wait(5)
        fut = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, self.host, self.port or 0, ssl=self.tls,
                                 reuse_address=True), self._loop)
        self._server = fut.result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        loop.close()
        self._loop = None

    def url(self, path: str, *, host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    # --- connection handling -----------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._lock:
            self.connections += 1
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass  # clients hang up on us on purpose all the time
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        if len(head) > 65536:
            return
        lines = head.decode("latin-1").split("\r\n")
        target = [*lines[0].split(" "), "", ""][1]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        peer = writer.get_extra_info("peername")
        seen = Seen(parts.path, query, headers, str(peer[0]) if peer else "", time.monotonic())
        with self._lock:
            self.requests.append(seen)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            await self._respond(seen, writer)
        finally:
            with self._lock:
                self._in_flight -= 1

    # --- responses ---------------------------------------------------------------------------

    @staticmethod
    def _head(status: int, reason: str, headers: dict[str, str]) -> bytes:
        out = [f"HTTP/1.1 {status} {reason}"]
        headers = {"Connection": "close", **headers}
        out += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes = b"",
                    reason: str = "", **headers: str) -> None:
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        hdrs.setdefault("Content-Length", str(len(body)))
        writer.write(self._head(status, reason or _REASONS.get(status, "Whatever"), hdrs) + body)
        await writer.drain()

    async def _respond(self, req: Seen, w: asyncio.StreamWriter) -> None:
        p, q, h = req.path, req.query, req.headers
        rss = "application/rss+xml; charset=utf-8"
        html = "text/html; charset=utf-8"
        if p == "/robots.txt":
            if self.robots_txt is None:
                await self._send(w, 404, b"not found", Content_Type="text/plain")
            else:
                await self._send(w, self.robots_status, self.robots_txt.encode(),
                                 Content_Type="text/plain")
        elif p in ("/feed", "/slow", "/cache"):
            if p == "/slow":
                await asyncio.sleep(float(q.get("s", "0.3")))
            if h.get("if-none-match") == '"v1"' or h.get("if-modified-since") == LAST_MODIFIED:
                await self._send(w, 304, ETag='"v1"')
                return
            extra = {"Cache_Control": f"max-age={q.get('max_age', '0')}"} if p == "/cache" \
                else {}
            await self._send(w, 200, FEED, Content_Type=rss, ETag='"v1"',
                             Last_Modified=LAST_MODIFIED, **extra)
        elif p == "/page":
            await self._send(w, 200, PAGE, Content_Type=html)
        elif p == "/json-feed":
            await self._send(w, 200, JSON_FEED, Content_Type="application/feed+json")
        elif p == "/same-body":
            await self._send(w, 200, FEED, Content_Type=rss)
        elif p == "/etag-drift":
            with self._lock:
                self._etag_counter += 1
                n = self._etag_counter
            if "if-none-match" in h:
                await self._send(w, 304, ETag=f'"d{n}"')
            else:
                await self._send(w, 200, FEED, Content_Type=rss, ETag=f'"d{n}"')
        elif p == "/hang":
            await asyncio.sleep(3600)
        elif p == "/hang-body":
            w.write(self._head(200, "OK", {"Content-Type": rss, "Content-Length": "5000"}))
            await w.drain()
            await asyncio.sleep(3600)
        elif p == "/drip":
            w.write(self._head(200, "OK", {"Content-Type": rss, "Content-Length": "100000"}))
            for _ in range(100000):
                w.write(b"x")
                await w.drain()
                await asyncio.sleep(0.2)
        elif p == "/drip-headers":
            for byte in self._head(200, "OK", {"Content-Type": rss, "X-Pad": "y" * 5000}):
                w.write(bytes([byte]))
                await w.drain()
                await asyncio.sleep(0.2)
        elif p == "/endless":
            w.write(self._head(200, "OK", {"Content-Type": "text/plain",
                                           "Transfer-Encoding": "chunked"}))
            chunk = b"A" * 65536
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            for _ in range(1 << 16):  # 4 GiB at most; the client stops far earlier
                w.write(frame)
                await w.drain()
        elif p == "/gzip-bomb":
            await self._send(w, 200, bomb("gzip"), Content_Type=rss, Content_Encoding="gzip")
        elif p == "/brotli-bomb":
            await self._send(w, 200, bomb("br"), Content_Type=rss, Content_Encoding="br")
        elif p == "/gzip-ok":
            await self._send(w, 200, gzip.compress(FEED), Content_Type=rss,
                             Content_Encoding="gzip")
        elif p == "/sitemap.xml.gz":
            await self._send(w, 200, gzip.compress(FEED), Content_Type="application/x-gzip")
        elif p == "/bad-gzip":
            await self._send(w, 200, b"this is not gzip at all" * 10, Content_Type=rss,
                             Content_Encoding="gzip")
        elif p == "/unknown-encoding":
            await self._send(w, 200, FEED, Content_Type=rss, Content_Encoding="x-custom")
        elif p == "/huge-length":
            w.write(self._head(200, "OK", {"Content-Type": rss,
                                           "Content-Length": str(10**12)}))
            w.write(FEED)
            await w.drain()
            await asyncio.sleep(3600)
        elif p == "/truncated":
            w.write(self._head(200, "OK", {"Content-Type": rss, "Content-Length": "1000"}))
            w.write(FEED[:300])
            await w.drain()
        elif p == "/truncated-chunked":
            w.write(self._head(200, "OK", {"Content-Type": rss,
                                           "Transfer-Encoding": "chunked"}))
            w.write(f"{300:x}\r\n".encode() + FEED[:300] + b"\r\n")
            await w.drain()
        elif p == "/charset-missing":
            await self._send(w, 200, CHARSET_MISSING, Content_Type="text/html")
        elif p == "/charset-wrong":
            await self._send(w, 200, CHARSET_WRONG, Content_Type="text/html; charset=iso-8859-1")
        elif p == "/redirect-loop":
            await self._send(w, 301, Location="/redirect-loop-b")
        elif p == "/redirect-loop-b":
            await self._send(w, 301, Location="/redirect-loop")
        elif p == "/redirect-self":
            await self._send(w, 301, Location=self.url("/redirect-self"))
        elif p.startswith("/redirect-chain/"):
            n = int(p.rsplit("/", 1)[1])
            target = f"/redirect-chain/{n - 1}" if n > 0 else "/feed"
            await self._send(w, 302, Location=target)
        elif p == "/redirect-to":
            await self._send(w, 302, Location=q.get("url", "/feed"))
        elif p == "/redirect-relative":
            await self._send(w, 302, Location="feed")
        elif p == "/redirect-no-location":
            await self._send(w, 302)
        elif p == "/429":
            await self._send(w, 429, b"slow down", Retry_After="120")
        elif p == "/429-garbage":
            await self._send(w, 429, b"slow down", Retry_After="soon")
        elif p == "/429-forever":
            await self._send(w, 429, b"slow down", Retry_After=str(10 * 365 * 86400))
        elif p == "/503-date":
            when = email.utils.formatdate(time.time() + 3600, usegmt=True)
            await self._send(w, 503, b"maintenance", Retry_After=when)
        elif p in ("/500", "/404", "/403"):
            await self._send(w, int(p[1:]), b"error page", Content_Type="text/html")
        elif p == "/304-always":
            await self._send(w, 304)
        elif p == "/malformed-xml":
            await self._send(w, 200, MALFORMED, Content_Type=rss)
        elif p == "/html-feed":
            await self._send(w, 200, PAGE, Content_Type=html)
        elif p == "/html-as-xml":
            await self._send(w, 200, PAGE, Content_Type=rss)
        elif p == "/empty":
            await self._send(w, 200, b"", Content_Type=rss)
        elif p == "/binary":
            await self._send(w, 200, PNG, Content_Type="image/png")
        elif p == "/octet-binary":
            await self._send(w, 200, PNG, Content_Type="application/octet-stream")
        elif p == "/reset":
            return
        elif p == "/garbage":
            w.write(b"SPEAKING NO HTTP TODAY\r\n\r\n")
            await w.drain()
        elif p == "/article":
            n = q.get("n", "0")
            body = (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Statement number"
                    f" {n}</title></head><body><article><h1>Statement number {n}</h1><p>The "
                    f"council published statement {n} on the budget today.</p></article>"
                    "</body></html>").encode()
            await self._send(w, 200, body, Content_Type=html)
        elif p.startswith("/feed-") and p[1:] in _FEED_MODES:
            ctype, body = _FEED_MODES[p[1:]](self.url(""))
            await self._send(w, 200, body, Content_Type=ctype)
        elif p == "/xxe-probe":
            await self._send(w, 200, b"probe", Content_Type="text/plain")
        else:
            await self._send(w, 404, b"no such mode", Content_Type="text/plain")


_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
            403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


@pytest.fixture
def badserver() -> Iterator[BadServer]:
    """A fresh misbehaving server on 127.0.0.1 (see the module docstring for its paths)."""
    with BadServer() as server:
        yield server


# --- feed-level modes ---------------------------------------------------------------------------

RSS_TYPE = "application/rss+xml; charset=utf-8"
FUTURE_TITLE = "Statement from the future"
CP1251_TITLE = "Заявление о воде"
WRONG_CHARSET_TITLE = "The minister\u2019s \u201cplan\u201d"
REDOS_AUTHOR = "a@a." + "a." * 8190 + "!"


def _rss(items: str, *, decl: str = '<?xml version="1.0" encoding="utf-8"?>',
         doctype: str = "") -> str:
    return (f"{decl}\n{doctype}<rss version=\"2.0\"><channel><title>Test feed</title>"
            f"<link>http://127.0.0.1/</link><description>d</description>{items}"
            "</channel></rss>\n")


def _item(base: str, n: int, *, guid: str | None = None, date: str = "Sat, 01 Mar 2025 "
          "10:00:00 GMT", title: str | None = None, extra: str = "") -> str:
    g = f"<guid isPermaLink=\"false\">{guid}</guid>" if guid is not None else ""
    return (f"<item><title>{title or f'Statement {n}'}</title>"
            f"<link>{base}/article?n={n}</link>{g}<pubDate>{date}</pubDate>{extra}</item>")


def _feed_same_guid(base: str) -> tuple[str, bytes]:
    items = "".join(_item(base, n, guid="same-guid-for-all") for n in (1, 2, 3))
    return RSS_TYPE, _rss(items).encode()


def _feed_no_ids(base: str) -> tuple[str, bytes]:
    texts = ("The union said the new rota breaks the agreement on wages and hours.",
             "Flood defences along the river will be finished before the winter storms.")
    items = "".join(
        f"<item><title>Statement without identity {n}</title><description>{text}"
        "</description></item>" for n, text in enumerate(texts, 1))
    return RSS_TYPE, _rss(items).encode()


def _feed_future(base: str) -> tuple[str, bytes]:
    items = (_item(base, 21, date="Fri, 01 Jan 2099 00:00:00 GMT", title=FUTURE_TITLE)
             + _item(base, 22))
    return RSS_TYPE, _rss(items).encode()


def _feed_bozo(base: str) -> tuple[str, bytes]:
    items = _item(base, 31, title="Bread & roses <b>unclosed") + _item(base, 32)
    return RSS_TYPE, _rss(items).encode()


def _feed_unreadable(base: str) -> tuple[str, bytes]:
    return RSS_TYPE, b"This server has no feed today, only this sentence.\n"


def _feed_redos(base: str) -> tuple[str, bytes]:
    return RSS_TYPE, _rss(_item(base, 41, extra=f"<author>{REDOS_AUTHOR}</author>")).encode()


def _feed_laughs(base: str) -> tuple[str, bytes]:
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    doctype = "<!DOCTYPE rss [" + "".join(ents) + "]>\n"
    items = _item(base, 51, title="Laughs &lol9;")
    return RSS_TYPE, _rss(items, doctype=doctype).encode()


def _feed_xxe(base: str) -> tuple[str, bytes]:
    doctype = ('<!DOCTYPE rss [<!ENTITY passwd SYSTEM "file:///etc/passwd">'
               f'<!ENTITY probe SYSTEM "{base}/xxe-probe">]>\n')
    items = _item(base, 61, title="Leak &passwd; &probe;")
    return RSS_TYPE, _rss(items, doctype=doctype).encode()


def _feed_cp1251(base: str) -> tuple[str, bytes]:
    items = (f"<item><title>{CP1251_TITLE}</title><description>Министерство сообщило о "
             "воде.</description><guid>cp-1</guid></item>")
    body = _rss(items, decl='<?xml version="1.0" encoding="windows-1251"?>')
    return "application/rss+xml", body.encode("windows-1251")


def _feed_charset_wrong(base: str) -> tuple[str, bytes]:
    items = (f"<item><title>{WRONG_CHARSET_TITLE}</title><description>Caf\u00e9 policy "
             "\u2014 in full.</description><guid>cw-1</guid></item>")
    return "application/rss+xml; charset=iso-8859-1", _rss(items).encode()


_FEED_MODES = {
    "feed-same-guid": _feed_same_guid, "feed-no-ids": _feed_no_ids,
    "feed-future": _feed_future, "feed-bozo": _feed_bozo, "feed-unreadable": _feed_unreadable,
    "feed-redos": _feed_redos, "feed-laughs": _feed_laughs, "feed-xxe": _feed_xxe,
    "feed-cp1251": _feed_cp1251, "feed-charset-wrong": _feed_charset_wrong,
}
