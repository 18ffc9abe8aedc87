"""A farm of simulated news sites on loopback, for the polling benchmark (bench/poll.py).

Site `i` listens on its own loopback address (127.20.0.0 + i + 1; all of 127/8 is loopback on
Linux), so per-host politeness limits apply as they would on the real web. Every site serves:

    /feed          RSS 2.0 with `items` entries, ETag and Last-Modified; 304 to a matching
                   conditional GET; on a `content_share` of the sites every item also carries
                   its full text (`content:encoded`, about 2.5 KB of HTML: a feed of 20 items is
                   about 63 KB), and with `gzip` a feed is sent gzipped to a client that asks
    /a/<k>         the article page of item k
    /robots.txt    allows everything

Every answer waits a latency drawn per request between `latency[0]` and `latency[1]` seconds
(asyncio sleep, so the farm itself stays cheap). A share of the sites is faulty, one fault each
(`FAULTS`): 500s, a hang (the request is read and nothing is answered for `hang_s`), malformed
XML that a lenient parser still reads, a 301 to the feed's new address, a redirect loop, an
oversized body, an HTML page where the feed should be, and 429 with Retry-After.

`set_cycle(c)` puts the farm in the state of cycle c: in each cycle after the first a share
of the healthy sites publishes one new item (a new ETag) and the others keep theirs, so a warm
cycle is mostly 304s. The state depends only on the seed and c, so every contender of one run
meets the same sites.

The farm runs its own event loop in a background thread; `Farm(...).start()` ... `.stop()`, or
use it as a context manager. Everything binds to 127.0.0.0/8 only, and every connection is
bounded in time (`IDLE_S`, `hang_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import ipaddress
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

#: The fault kinds a site may have, cycled through the faulty share of the sites.
FAULTS = ("500", "hang", "malformed", "moved", "redirect_loop", "oversized", "html", "429")
#: First address of the farm; site i gets FIRST_ADDRESS + i + 1.
FIRST_ADDRESS = ipaddress.IPv4Address("127.20.0.0")
#: A connection that sends no complete request head within this long is closed.
IDLE_S = 30.0
#: Body size of an "oversized" site: above the 10 MiB cap of collector's fetcher.
OVERSIZED_BYTES = 12 * 1024 * 1024
#: Epoch of the simulated publication dates (items are an hour apart, newest last).
EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z

_WORDS = ("ministry", "council", "statement", "union", "workers", "strike", "water", "roads",
          "health", "budget", "minister", "agreement", "public", "service", "reform", "energy",
          "prices", "housing", "rail", "port", "transport", "committee", "spokesperson",
          "announced", "today", "said")

_pool_rng = random.Random(20)
#: Word sequences the simulated texts are cut from.
_POOL = [[_pool_rng.choice(_WORDS) for _ in range(60)] for _ in range(4096)]


@dataclass
class Site:
    index: int
    ip: str
    fault: str | None
    version: int = 0          # bumped when the site publishes a new item


@dataclass
class Stats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_path: Counter[str] = field(default_factory=Counter)
    bytes_sent: int = 0


def site_ip(index: int) -> str:
    return str(FIRST_ADDRESS + index + 1)


class Farm:
    """N simulated sites on distinct loopback addresses, one shared port."""

    def __init__(self, n: int, *, seed: int = 1, fault_share: float = 0.08,
                 latency: tuple[float, float] = (0.05, 0.3), items: int = 20,
                 change_share: float = 0.05, hang_s: float = 5.0, port: int = 0,
                 content_share: float = 0.0, gzip: bool = False) -> None:
        if n < 1 or n > 60_000:
            raise ValueError("the farm holds 1 to 60,000 sites")
        self.n = n
        self.items = items
        self.latency = latency
        self.change_share = change_share
        self.hang_s = hang_s
        self.port = port
        self.gzip = gzip
        self.cycle = 0
        self.stats = Stats()
        self._seed = seed
        self._rng = random.Random(seed)
        n_faulty = round(n * fault_share)
        # Faulty sites are spread over the whole range, so every slice of the farm has some.
        faulty = set(self._rng.sample(range(n), n_faulty)) if n_faulty else set()
        order = sorted(faulty)
        fault_of = {idx: FAULTS[k % len(FAULTS)] for k, idx in enumerate(order)}
        self.sites = [Site(i, site_ip(i), fault_of.get(i)) for i in range(n)]
        # which sites publish their items' full text (drawn apart from the faults' draw, so
        # adding it leaves every other property of a seed's farm as it was)
        full_rng = random.Random(seed * 31 + 5)
        self._full = {i for i in range(n) if full_rng.random() < content_share}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._conns: set[asyncio.Task[None]] = set()
        self._feeds: dict[int, tuple[tuple[int, int], bytes, bytes | None]] = {}
        self._lock = threading.Lock()
        self._oversized = (b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>big"
                           b"</title>" + b"<!-- padding -->" * (OVERSIZED_BYTES // 16)
                           + b"</channel></rss>")

    # --- addresses --------------------------------------------------------------------------

    def url(self, index: int, path: str = "/feed") -> str:
        return f"http://{self.sites[index].ip}:{self.port}{path}"

    def feed_urls(self) -> list[str]:
        return [self.url(i) for i in range(self.n)]

    def faults(self) -> Counter[str]:
        return Counter(s.fault or "healthy" for s in self.sites)

    # --- cycles -----------------------------------------------------------------------------

    def set_cycle(self, cycle: int) -> list[int]:
        """Put every site in the state of `cycle` (0 = as first seen). In each cycle after
        the first, a share of the healthy sites publishes one new item; which ones depends
        only on the seed, so every contender meets the same farm. Returns the sites that
        published in `cycle` itself."""
        healthy = [s.index for s in self.sites if s.fault in (None, "moved", "malformed")]
        k = round(len(healthy) * self.change_share)
        versions = [0] * self.n
        changed: list[int] = []
        for c in range(1, cycle + 1):
            changed = sorted(random.Random(self._seed * 7919 + c).sample(healthy, k)) \
                if k else []
            for i in changed:
                versions[i] += 1
        with self._lock:
            for s in self.sites:
                s.version = versions[s.index]
            self.cycle = cycle
        return changed

    def reset_stats(self) -> Stats:
        with self._lock:
            old, self.stats = self.stats, Stats()
        return old

    # --- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Farm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Farm:
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="farm", daemon=True)
        self._thread.start()
        ready.wait(10)
        asyncio.run_coroutine_threadsafe(self._listen(), loop).result(300)
        return self

    async def _listen(self) -> None:
        # All sites share one port, found free on the first address.
        for site in self.sites:
            server = await asyncio.start_server(self._accept, site.ip, self.port,
                                                reuse_address=True, backlog=512)
            if not self.port:
                self.port = server.sockets[0].getsockname()[1]
            self._servers.append(server)

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            for server in self._servers:
                server.close()
            for task in list(self._conns):
                task.cancel()
            if self._conns:
                await asyncio.gather(*self._conns, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(30)
        loop.close()
        self._loop = None
        self._servers = []

    # --- serving ----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            sock = writer.get_extra_info("socket")
            local = sock.getsockname()[0] if sock is not None else ""
            index = int(ipaddress.IPv4Address(local)) - int(FIRST_ADDRESS) - 1
            if not 0 <= index < self.n:
                return
            # Keep-alive, bounded: a client may reuse the connection for a redirect.
            for _ in range(16):
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_S)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                    return
                keep = await self._answer(self.sites[index], head, writer)
                if not keep:
                    return
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def _answer(self, site: Site, head: bytes, w: asyncio.StreamWriter) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        path = parts[1] if len(parts) > 1 else "/"
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        lo, hi = self.latency
        await asyncio.sleep(lo + (hi - lo) * random.random())
        status, hdrs, body, keep = self._route(site, path, headers)
        if status == 0:  # a hang: read the request, never answer
            await asyncio.sleep(self.hang_s)
            return False
        hdrs.setdefault("Content-Length", str(len(body)))
        hdrs["Connection"] = "keep-alive" if keep else "close"
        head_out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Whatever')}"]
        head_out += [f"{k}: {v}" for k, v in hdrs.items()]
        w.write(("\r\n".join(head_out) + "\r\n\r\n").encode("latin-1"))
        if body:
            w.write(body)
        await w.drain()
        with self._lock:
            st = self.stats
            st.requests += 1
            st.by_status[status] += 1
            st.by_path[path.split("/")[1] if path.count("/") > 1 else path] += 1
            st.bytes_sent += len(body)
        return keep

    def _route(self, site: Site, path: str, h: dict[str, str]
               ) -> tuple[int, dict[str, str], bytes, bool]:
        keep = h.get("connection", "").lower() != "close"
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n", keep
        if path.startswith("/a/"):
            try:
                k = int(path[3:])
            except ValueError:
                return 404, {"Content-Type": "text/plain"}, b"no such article", keep
            return 200, {"Content-Type": "text/html; charset=utf-8"}, \
                self._article(site, k), keep
        fault = site.fault
        if path == "/feed" and fault == "moved":
            return 301, {"Location": "/feed-new"}, b"", keep
        if path == "/feed" and fault == "redirect_loop":
            return 302, {"Location": "/feed-loop"}, b"", keep
        if path == "/feed-loop":
            return 302, {"Location": "/feed"}, b"", keep
        if path not in ("/feed", "/feed-new"):
            return 404, {"Content-Type": "text/plain"}, b"not found", keep
        if fault == "500":
            return 500, {"Content-Type": "text/html"}, b"<h1>Internal error</h1>", keep
        if fault == "hang":
            return 0, {}, b"", False
        if fault == "429":
            return 429, {"Retry-After": "120", "Content-Type": "text/plain"}, b"slow down", keep
        if fault == "html":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, \
                self._article(site, 0), keep
        if fault == "oversized":
            return 200, {"Content-Type": "application/rss+xml"}, self._oversized, False
        etag = f'"s{site.index}-v{site.version}"'
        modified = email.utils.formatdate(EPOCH + 3600 * (site.version + self.items),
                                          usegmt=True)
        if h.get("if-none-match") == etag or (
                "if-none-match" not in h and h.get("if-modified-since") == modified):
            return 304, {"ETag": etag, "Last-Modified": modified}, b"", keep
        hdrs = {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag,
                "Last-Modified": modified}
        plain, packed = self._feed(site)
        if packed is not None and "gzip" in h.get("accept-encoding", "").lower():
            hdrs["Content-Encoding"] = "gzip"
            return 200, hdrs, packed, keep
        return 200, hdrs, plain, keep

    # --- content ----------------------------------------------------------------------------

    def _text(self, site: int, k: int, words: int) -> str:
        # Drawn from a fixed pool so that serving stays cheap (the farm must not be the
        # bottleneck of the clients it measures).
        line = _POOL[(site * 7_919 + k * 104_729) % len(_POOL)]
        return " ".join(line[:words])

    def _feed(self, site: Site) -> tuple[bytes, bytes | None]:
        """The feed's body, and its gzipped form when the farm serves gzip (both made once
        per version: the farm must stay cheap)."""
        key = (site.index, site.version)
        body = self._feeds.get(site.index)
        if body is None or body[0] != key:
            plain = self._make_feed(site)
            packed = gzip.compress(plain, 6, mtime=0) if self.gzip else None
            body = self._feeds[site.index] = (key, plain, packed)
        return body[1], body[2]

    def _make_feed(self, site: Site) -> bytes:
        base = f"http://{site.ip}:{self.port}"
        newest = site.version + self.items - 1
        full = site.index in self._full
        ns = ' xmlns:content="http://purl.org/rss/1.0/modules/content/"' if full else ""
        out = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"{ns}><channel>',
               f"<title>Site {site.index}</title><link>{base}/</link>",
               "<description>Statements</description>"]
        for k in range(newest, newest - self.items, -1):
            title = self._text(site.index, k, 8).capitalize()
            if site.fault == "malformed" and k == newest:
                title += " & more <b>unclosed"   # raw & and an unclosed tag: not well-formed
            summary = self._text(site.index, k + 7, 60)
            date = email.utils.formatdate(EPOCH + 3600 * k, usegmt=True)
            body = ""
            if full:
                # a WordPress-like post: paragraphs with links and emphasis, as CDATA
                paras = "".join(
                    f"<p>{self._text(site.index, k * 13 + j, 50).capitalize()}, <a href=\""
                    f"{base}/a/{k}#r{j}\">more</a> <em>{self._text(site.index, j, 4)}</em>.</p>"
                    for j in range(5))
                body = f"<content:encoded><![CDATA[{paras}]]></content:encoded>"
            out.append(f"<item><title>{title}</title><link>{base}/a/{k}</link>"
                       f"<guid isPermaLink=\"false\">s{site.index}-{k}</guid>"
                       f"<pubDate>{date}</pubDate><description>{summary}.</description>"
                       f"{body}</item>")
        out.append("</channel></rss>\n")
        return "\n".join(out).encode()

    def _article(self, site: Site, k: int) -> bytes:
        title = self._text(site.index, k, 8).capitalize()
        paras = "".join(f"<p>{self._text(site.index, k * 31 + j, 50).capitalize()}.</p>"
                        for j in range(5))
        return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title} | Site "
                f"{site.index}</title></head><body><nav><a href=\"/\">Home</a></nav><main>"
                f"<article><h1>{title}</h1>{paras}</article></main><footer>Site "
                f"{site.index}</footer></body></html>").encode()


_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
            404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}


def wait_until_reachable(farm: Farm, timeout_s: float = 10.0) -> None:
    """Connect once to the first and last site (start-up check, bounded in time)."""
    deadline = time.monotonic() + timeout_s
    for i in (0, farm.n - 1):
        while True:
            try:
                with socket.create_connection((farm.sites[i].ip, farm.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
