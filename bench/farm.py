"""A farm of simulated news sites on loopback, for the polling benchmarks (bench/poll.py).

Site `i` listens on its own loopback address (127.20.0.0 + i + 1; all of 127/8 is loopback on
Linux, so no address is created or left behind), so per-host politeness applies as on the
real web. Every site has its own listening socket on one shared port: 10,000 sites take
10,000 descriptors plus the open connections, within the 20,000 of a usual hard limit (`start`
raises the soft limit to the hard one). A single wildcard socket would need fewer descriptors,
but it would also listen on every other interface; per-address sockets keep the farm on
loopback. One aiohttp low-level server answers on all of them and finds the site from the
connection's local address.

Two profiles (`PROFILES`):

- **hard** (bench/poll.py's default): WordPress-like sites (bench/farm_content.py). RSS 2.0
  at `/feed/` or Atom at `/feed/atom/`, 10-20 items, 60 % of the sites with the full post in
  every item (`content:encoded`), median about 65 KB, 13 KB gzipped; gzip when the request
  accepts it; ETag, Last-Modified and 304; article pages `/<yyyy>/<mm>/<slug>-p<k>/` of about
  55 KB (13 KB gzipped); a WordPress robots.txt. 5 % of the sites are faulty, in equal
  shares: 500, a hang (nothing is answered for `hang_s`, 15 s, then the connection
  closes), malformed XML that a lenient parser still reads, a 301 to the feed's new address,
  and a 2 MB feed sent uncompressed whatever the request accepts, without validators. Before
  each cycle after the first, 20 % of the sites (drawn among the readable ones) publish one
  post.
- **easy** (the farm of the earlier rounds, kept so their figures can be reproduced): RSS
  2.0 at `/feed`, 20 short items of about 14 KB, never compressed, article pages `/a/<k>`;
  8 % faulty sites (500, a 2 s hang, malformed, 301, a redirect loop, a 12 MiB body, HTML
  instead of the feed, 429); 5 % of the readable sites publish per cycle.

Every answer waits a latency drawn per request from `latency` (50-300 ms; an asyncio sleep,
so the farm stays cheap). The state of cycle c depends only on the seed and c, so every
contender of one run meets the same farm.

In-process: `Farm(n, ...).start()` ... `.stop()` (or `with Farm(...) as farm:`) runs the
server on a background thread. For measurements the farm should have a core of its own:
`FarmProcess` runs it as a child process (`python -m bench.farm serve`) behind the same
methods (`feed_urls`, `set_cycle`, `reset_stats`, `faults`), and reports its CPU time.
Everything binds to 127.0.0.0/8 only, and every connection is bounded in time (`hang_s`, the
keep-alive timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import hashlib
import ipaddress
import json
import logging
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.web_server import Server

from bench import farm_content as content

#: First address of the farm; site i gets FIRST_ADDRESS + i + 1.
FIRST_ADDRESS = ipaddress.IPv4Address("127.20.0.0")
#: Epoch of the easy profile's publication dates (items an hour apart, newest last).
EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
#: Keep-alive connections idle this long are closed.
KEEPALIVE_S = 30.0
#: gzip level of the compressed answers (Apache's mod_deflate and PHP's zlib default).
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Profile:
    faults: tuple[str, ...]
    fault_share: float
    change_share: float
    change_of_all: bool        # share of all sites (hard) or of the readable ones (easy)
    hang_s: float
    gzip: bool
    items: tuple[int, int]
    full_share: float = 0.0    # hard: share of the sites carrying the full post
    atom_share: float = 0.0    # hard: share of the sites serving Atom
    big_bytes: int = 0         # size of the "oversized"/"big" body


PROFILES = {
    "easy": Profile(("500", "hang", "malformed", "moved", "redirect_loop", "oversized", "html",
                     "429"), fault_share=0.08, change_share=0.05, change_of_all=False,
                    hang_s=2.0, gzip=False, items=(20, 20), big_bytes=12 * 1024 * 1024),
    "hard": Profile(("500", "hang", "malformed", "moved", "big"), fault_share=0.05,
                    change_share=0.20, change_of_all=True, hang_s=15.0, gzip=True,
                    items=(10, 20), full_share=0.6, atom_share=0.3,
                    big_bytes=2 * 1024 * 1024),
}
#: The fault kinds of the easy profile (kept under its old name).
FAULTS = PROFILES["easy"].faults
#: Fault kinds whose feed is still readable (they count among the sites that publish).
READABLE = (None, "moved", "malformed")

_WORDS = ("ministry", "council", "statement", "union", "workers", "strike", "water", "roads",
          "health", "budget", "minister", "agreement", "public", "service", "reform", "energy",
          "prices", "housing", "rail", "port", "transport", "committee", "spokesperson",
          "announced", "today", "said")
_pool_rng = random.Random(20)
#: Word sequences the easy profile's texts are cut from.
_POOL = [[_pool_rng.choice(_WORDS) for _ in range(60)] for _ in range(4096)]


@dataclass
class Site:
    index: int
    ip: str
    fault: str | None
    version: int = 0          # bumped when the site publishes a new item
    shape: content.SiteShape | None = None   # hard profile only


@dataclass
class Stats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_path: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)   # feed, robots, article, other
    bytes_sent: int = 0
    gzip_sent: int = 0        # answers sent gzip-compressed

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "bytes_sent": self.bytes_sent,
                "gzip_sent": self.gzip_sent,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_kind": dict(sorted(self.by_kind.items())),
                "by_path": dict(sorted(self.by_path.items()))}


def site_ip(index: int) -> str:
    return str(FIRST_ADDRESS + index + 1)


def raise_fd_limit() -> int:
    """Raise the soft limit of open files to the hard one; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Farm:
    """N simulated sites on distinct loopback addresses, one shared port."""

    def __init__(self, n: int, *, profile: str = "easy", seed: int = 1,
                 fault_share: float | None = None,
                 latency: tuple[float, float] = (0.05, 0.3), items: int | None = None,
                 change_share: float | None = None, hang_s: float | None = None,
                 port: int = 0) -> None:
        if n < 1 or n > 60_000:
            raise ValueError("the farm holds 1 to 60,000 sites")
        prof = PROFILES[profile]
        self.profile_name = profile
        self.profile = prof
        self.n = n
        self.items = prof.items if items is None else (items, items)
        self.latency = latency
        self.change_share = prof.change_share if change_share is None else change_share
        self.hang_s = prof.hang_s if hang_s is None else hang_s
        self.port = port
        self.cycle = 0
        self.stats = Stats()
        self._seed = seed
        self._rng = random.Random(seed)
        share = prof.fault_share if fault_share is None else fault_share
        n_faulty = round(n * share)
        # Faulty sites are spread over the whole range, so every slice of the farm has some.
        faulty = set(self._rng.sample(range(n), n_faulty)) if n_faulty else set()
        fault_of = {idx: prof.faults[k % len(prof.faults)] for k, idx in enumerate(sorted(faulty))}
        self.sites = [Site(i, site_ip(i), fault_of.get(i)) for i in range(n)]
        self._by_ip = {s.ip: s for s in self.sites}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._web: Server | None = None
        self._lock = threading.Lock()
        self._feeds: dict[int, tuple[int, bytes, str]] = {}   # site -> (version, gzip, etag)
        self._big: bytes = b""
        self._big_blocks = 0
        if profile == "hard":
            shape_rng = random.Random(seed * 31 + 7)
            for s in self.sites:
                full = shape_rng.random() < prof.full_share
                atom = shape_rng.random() < prof.atom_share
                count = shape_rng.randint(*self.items)
                s.shape = content.SiteShape(s.index, "", full=full, atom=atom, items=count)
        else:
            self._big = (b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>big"
                         b"</title>" + b"<!-- padding -->" * (prof.big_bytes // 16)
                         + b"</channel></rss>")

    # --- addresses --------------------------------------------------------------------------

    def feed_path(self, index: int) -> str:
        shape = self.sites[index].shape
        if shape is None:
            return "/feed"
        return "/feed/atom/" if shape.atom else "/feed/"

    def url(self, index: int, path: str | None = None) -> str:
        return f"http://{self.sites[index].ip}:{self.port}{path or self.feed_path(index)}"

    def feed_urls(self) -> list[str]:
        return [self.url(i) for i in range(self.n)]

    def faults(self) -> Counter[str]:
        return Counter(s.fault or "healthy" for s in self.sites)

    # --- cycles -----------------------------------------------------------------------------

    def set_cycle(self, cycle: int) -> list[int]:
        """Put every site in the state of `cycle` (0 = as first seen). In each cycle after
        the first, a share of the readable sites publishes one new item; which ones depends
        only on the seed, so every contender meets the same farm. Returns the sites that
        published in `cycle` itself. The hard profile's feeds are built (and gzipped) here,
        before the cycle's requests."""
        readable = [s.index for s in self.sites if s.fault in READABLE]
        base = self.n if self.profile.change_of_all else len(readable)
        k = min(round(base * self.change_share), len(readable))
        versions = [0] * self.n
        changed: list[int] = []
        for c in range(1, cycle + 1):
            changed = sorted(random.Random(self._seed * 7919 + c).sample(readable, k)) \
                if k else []
            for i in changed:
                versions[i] += 1
        with self._lock:
            for s in self.sites:
                s.version = versions[s.index]
            self.cycle = cycle
        if self.profile_name == "hard" and self._loop is not None:
            for s in self.sites:
                if s.fault in READABLE:
                    self._hard_feed(s)
        return changed

    def reset_stats(self) -> Stats:
        with self._lock:
            old, self.stats = self.stats, Stats()
        return old

    def sizes(self) -> dict[str, float]:
        """Median size of the readable feeds as served now: plain and gzipped bytes."""
        plain, packed = [], []
        for s in self.sites:
            if s.fault in READABLE:
                gz = self._hard_feed(s)[1] if s.shape else b""
                body = zlib.decompress(gz, 31) if gz else self._easy_feed(s)
                plain.append(len(body))
                packed.append(len(gz) if gz else len(body))
        return {"median_bytes": statistics.median(plain) if plain else 0,
                "median_gzip_bytes": statistics.median(packed) if packed else 0}

    # --- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Farm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Farm:
        raise_fd_limit()
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
        try:
            asyncio.run_coroutine_threadsafe(self._listen(), loop).result(600)
        except BaseException:
            self.stop()
            raise
        for s in self.sites:
            if s.shape is not None:
                s.shape.base = f"http://{s.ip}:{self.port}"
        self.set_cycle(self.cycle)
        return self

    async def _listen(self) -> None:
        # aiohttp's access log and its "Error handling request" lines for hung-up clients
        # would cost the farm more than serving.
        logging.getLogger("aiohttp.access").setLevel(logging.CRITICAL)
        logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
        self._web = Server(self._handle, keepalive_timeout=KEEPALIVE_S, access_log=None)
        loop = asyncio.get_running_loop()
        # All sites share one port, found free on the first address.
        for site in self.sites:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((site.ip, self.port))
                sock.listen(1024)
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
            server = await loop.create_server(self._web, sock=sock)
            if not self.port:
                self.port = sock.getsockname()[1]
            self._servers.append(server)

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            for server in self._servers:
                server.close()
            if self._web is not None:
                await self._web.shutdown(2.0)
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(30)
        loop.close()
        self._loop = None
        self._servers = []

    # --- serving ----------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        transport = request.transport
        local = transport.get_extra_info("sockname") if transport is not None else None
        site = self._by_ip.get(local[0]) if local else None
        path = request.path
        kind = self._kind(site, path)
        with self._lock:
            self.stats.by_kind[kind] += 1
        if site is None:
            raise web.HTTPNotFound()
        lo, hi = self.latency
        await asyncio.sleep(lo + (hi - lo) * random.random())
        headers = request.headers
        if site.shape is not None:
            status, hdrs, body, gz = self._route_hard(site, path, headers)
        else:
            status, hdrs, body, gz = self._route_easy(site, path, headers)
        if status == 0:  # a hang: the request is read, nothing is answered, then hang up
            with self._lock:
                self.stats.by_status[0] += 1
            await asyncio.sleep(self.hang_s)
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("hang is over")
        accepts = "gzip" in headers.get("Accept-Encoding", "").lower()
        if gz is not None and accepts:
            body = gz
            hdrs["Content-Encoding"] = "gzip"
            hdrs["Vary"] = "Accept-Encoding"
        elif gz is not None:
            body = zlib.decompress(gz, 31)
        with self._lock:
            st = self.stats
            st.requests += 1
            st.by_status[status] += 1
            st.by_path[path.split("/")[1] if path.count("/") > 1 else path] += 1
            st.bytes_sent += len(body)
            st.gzip_sent += "Content-Encoding" in hdrs
        return web.Response(status=status, headers=hdrs, body=body)

    def _kind(self, site: Site | None, path: str) -> str:
        if path == "/robots.txt":
            return "robots"
        if site is not None and site.shape is not None:
            if path in ("/feed/", "/feed/atom/", "/news/feed/"):
                return "feed"
            return "article" if content.post_number(path) is not None else "other"
        if path in ("/feed", "/feed-new", "/feed-loop"):
            return "feed"
        return "article" if path.startswith("/a/") else "other"

    def _route_hard(self, site: Site, path: str, h: Any
                    ) -> tuple[int, dict[str, str], bytes, bytes | None]:
        shape = site.shape
        assert shape is not None
        newest = site.version + shape.items - 1
        if path == "/robots.txt":
            body = content.ROBOTS + f"Sitemap: {shape.base}/wp-sitemap.xml\n".encode()
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, body, None
        k = content.post_number(path)
        if k is not None:
            if k > newest or path != content.post_path(shape, k):
                return 404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>", None
            page = content.article_body(shape, k, newest)
            return 200, {"Content-Type": "text/html; charset=UTF-8"}, b"", \
                zlib.compress(page, GZIP_LEVEL, 31)
        fault = site.fault
        own = "/feed/atom/" if shape.atom else "/feed/"
        if fault == "moved" and path == own:
            return 301, {"Location": "/news/feed/"}, b"", None
        if path != ("/news/feed/" if fault == "moved" else own):
            return 404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>", None
        if fault == "500":
            return 500, {"Content-Type": "text/html"}, b"<h1>Internal Server Error</h1>", None
        if fault == "hang":
            return 0, {}, b"", None
        ctype = ("application/atom+xml" if shape.atom else "application/rss+xml") + \
            "; charset=UTF-8"
        if fault == "big":
            return 200, {"Content-Type": ctype}, self._big_feed(site), None
        _, gz, etag = self._hard_feed(site)
        modified = email.utils.formatdate(content.EPOCH + content.POST_SPACING_S * newest,
                                          usegmt=True)
        validators = {"ETag": etag, "Last-Modified": modified}
        if h.get("If-None-Match") == etag or (
                "If-None-Match" not in h and h.get("If-Modified-Since") == modified):
            return 304, validators, b"", None
        return 200, {"Content-Type": ctype, **validators}, b"", gz

    def _hard_feed(self, site: Site) -> tuple[int, bytes, str]:
        got = self._feeds.get(site.index)
        if got is None or got[0] != site.version:
            shape = site.shape
            assert shape is not None
            body = content.feed_body(shape, site.version + shape.items - 1,
                                     malformed=site.fault == "malformed")
            etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest()[:16] + '"'
            got = (site.version, zlib.compress(body, GZIP_LEVEL, 31), etag)
            self._feeds[site.index] = got
        return got

    def _big_feed(self, site: Site) -> bytes:
        """A feed of 20 very long posts, `big_bytes` or a little more (built per request)."""
        shape = site.shape
        assert shape is not None
        newest = site.version + shape.items - 1
        if not self._big_blocks:
            probe = len(content.feed_body(shape, newest, items=20, blocks=10, full=True))
            self._big_blocks = 12 * self.profile.big_bytes // probe + 1
        return content.feed_body(shape, newest, items=20, blocks=self._big_blocks, full=True)

    def _route_easy(self, site: Site, path: str, h: Any
                    ) -> tuple[int, dict[str, str], bytes, bytes | None]:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n", None
        if path.startswith("/a/"):
            try:
                k = int(path[3:])
            except ValueError:
                return 404, {"Content-Type": "text/plain"}, b"no such article", None
            return 200, {"Content-Type": "text/html; charset=utf-8"}, \
                self._easy_article(site, k), None
        fault = site.fault
        if path == "/feed" and fault == "moved":
            return 301, {"Location": "/feed-new"}, b"", None
        if path == "/feed" and fault == "redirect_loop":
            return 302, {"Location": "/feed-loop"}, b"", None
        if path == "/feed-loop":
            return 302, {"Location": "/feed"}, b"", None
        if path not in ("/feed", "/feed-new"):
            return 404, {"Content-Type": "text/plain"}, b"not found", None
        if fault == "500":
            return 500, {"Content-Type": "text/html"}, b"<h1>Internal error</h1>", None
        if fault == "hang":
            return 0, {}, b"", None
        if fault == "429":
            return 429, {"Retry-After": "120", "Content-Type": "text/plain"}, b"slow down", None
        if fault == "html":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, \
                self._easy_article(site, 0), None
        if fault == "oversized":
            return 200, {"Content-Type": "application/rss+xml"}, self._big, None
        etag = f'"s{site.index}-v{site.version}"'
        modified = email.utils.formatdate(EPOCH + 3600 * (site.version + self.items[0]),
                                          usegmt=True)
        if h.get("If-None-Match") == etag or (
                "If-None-Match" not in h and h.get("If-Modified-Since") == modified):
            return 304, {"ETag": etag, "Last-Modified": modified}, b"", None
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag,
                     "Last-Modified": modified}, self._easy_feed(site), None

    # --- the easy profile's content ---------------------------------------------------------

    def _text(self, site: int, k: int, words: int) -> str:
        line = _POOL[(site * 7_919 + k * 104_729) % len(_POOL)]
        return " ".join(line[:words])

    def _easy_feed(self, site: Site) -> bytes:
        got = self._feeds.get(site.index)
        if got is None or got[0] != site.version:
            got = (site.version, self._make_easy_feed(site), "")
            self._feeds[site.index] = got
        return got[1]

    def _make_easy_feed(self, site: Site) -> bytes:
        base = f"http://{site.ip}:{self.port}"
        items = self.items[0]
        newest = site.version + items - 1
        out = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
               f"<title>Site {site.index}</title><link>{base}/</link>",
               "<description>Statements</description>"]
        for k in range(newest, newest - items, -1):
            title = self._text(site.index, k, 8).capitalize()
            if site.fault == "malformed" and k == newest:
                title += " & more <b>unclosed"   # raw & and an unclosed tag: not well-formed
            summary = self._text(site.index, k + 7, 60)
            date = email.utils.formatdate(EPOCH + 3600 * k, usegmt=True)
            out.append(f"<item><title>{title}</title><link>{base}/a/{k}</link>"
                       f"<guid isPermaLink=\"false\">s{site.index}-{k}</guid>"
                       f"<pubDate>{date}</pubDate><description>{summary}.</description></item>")
        out.append("</channel></rss>\n")
        return "\n".join(out).encode()

    def _easy_article(self, site: Site, k: int) -> bytes:
        title = self._text(site.index, k, 8).capitalize()
        paras = "".join(f"<p>{self._text(site.index, k * 31 + j, 50).capitalize()}.</p>"
                        for j in range(5))
        return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title} | Site "
                f"{site.index}</title></head><body><nav><a href=\"/\">Home</a></nav><main>"
                f"<article><h1>{title}</h1>{paras}</article></main><footer>Site "
                f"{site.index}</footer></body></html>").encode()


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


# --- the farm as a child process ------------------------------------------------------------

def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def serve_main(args: argparse.Namespace) -> int:
    """Run a farm; one JSON command per stdin line, one JSON answer per stdout line; stops at
    the end of stdin (so it ends with the process that started it)."""
    farm = Farm(args.n, profile=args.profile, seed=args.seed, hang_s=args.hang_s)
    out = sys.stdout
    with farm:
        wait_until_reachable(farm)
        out.write(json.dumps({"port": farm.port, "pid": os.getpid(), "urls": farm.feed_urls(),
                              "faults": dict(farm.faults()), "cpu_s": _cpu_s(),
                              **farm.sizes()}) + "\n")
        out.flush()
        for line in sys.stdin:
            cmd = json.loads(line)
            if cmd["cmd"] == "cycle":
                changed = farm.set_cycle(int(cmd["cycle"]))
                answer: dict[str, Any] = {"changed": len(changed), **farm.sizes()}
            elif cmd["cmd"] == "stats":
                answer = farm.reset_stats().as_dict()
            else:
                answer = {"error": f"unknown command {cmd['cmd']!r}"}
            answer["cpu_s"] = _cpu_s()
            out.write(json.dumps(answer) + "\n")
            out.flush()
    return 0


class FarmProcess:
    """A Farm in a child process, optionally pinned to `cpus`; `stop` (or the end of this
    process, which closes the child's stdin) ends it."""

    def __init__(self, n: int, *, profile: str = "hard", seed: int = 1,
                 hang_s: float | None = None, cpus: set[int] | None = None,
                 python: str = sys.executable, cwd: Path | None = None) -> None:
        self.n = n
        self.profile = profile
        self._argv = [python, "-m", "bench.farm", "serve", "--n", str(n), "--profile", profile,
                      "--seed", str(seed)]
        if hang_s is not None:
            self._argv += ["--hang-s", str(hang_s)]
        self._cpus = cpus
        self._cwd = cwd or Path(__file__).resolve().parents[1]
        self._proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self._cpu_mark = 0.0

    def __enter__(self) -> FarmProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout_s: float = 900.0) -> FarmProcess:
        cpus = self._cpus
        preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self._proc = subprocess.Popen(self._argv, cwd=self._cwd, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True,
                                      preexec_fn=preexec)
        try:
            self.info = self._read(timeout_s)
        except BaseException:
            self.stop()
            raise
        self._cpu_mark = self.info["cpu_s"]
        return self

    def _read(self, timeout_s: float) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            line = proc.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise RuntimeError(f"the farm process ended (rc {proc.poll()})")
        got: dict[str, Any] = json.loads(line)
        return got

    def _ask(self, cmd: dict[str, Any], timeout_s: float = 600.0) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        proc.stdin.write(json.dumps(cmd) + "\n")
        proc.stdin.flush()
        return self._read(timeout_s)

    @property
    def port(self) -> int:
        return int(self.info["port"])

    def feed_urls(self) -> list[str]:
        return list(self.info["urls"])

    def faults(self) -> dict[str, int]:
        return dict(self.info["faults"])

    def set_cycle(self, cycle: int) -> dict[str, Any]:
        """Put the farm in the state of `cycle`; the number of sites that published and the
        median feed sizes."""
        got = self._ask({"cmd": "cycle", "cycle": cycle})
        self._cpu_mark = got["cpu_s"]
        return got

    def reset_stats(self) -> dict[str, Any]:
        """What the farm answered since the last reset, with the farm's CPU seconds since."""
        got = self._ask({"cmd": "stats"})
        got["farm_cpu_s"] = round(got["cpu_s"] - self._cpu_mark, 3)
        self._cpu_mark = got["cpu_s"]
        return got

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        self._proc = None


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run a farm, driven by JSON lines on stdin")
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--profile", choices=sorted(PROFILES), default="hard")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--hang-s", type=float, default=None)
    z = sub.add_parser("sizes", help="print the median feed sizes of a farm and exit")
    z.add_argument("--n", type=int, default=1000)
    z.add_argument("--profile", choices=sorted(PROFILES), default="hard")
    z.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if args.cmd == "serve":
        return serve_main(args)
    with Farm(args.n, profile=args.profile, seed=args.seed) as farm:
        big = [s for s in farm.sites if s.fault in ("big", "oversized")][:1]
        size = 0
        if big and big[0].shape is not None:
            size = len(farm._big_feed(big[0]))
        elif big:
            size = len(farm._big)
        print(json.dumps({"n": farm.n, "faults": dict(farm.faults()), **farm.sizes(),
                          "big_bytes": size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

