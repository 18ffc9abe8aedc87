"""The only user of httpx for the sites watched (collector.archive talks to the Wayback Machine
with it too): polite, bounded, address-checked HTTP GETs.

What this module owns:

- politeness: a global concurrency limit, per-host concurrency and a minimum delay between
  requests to one host, a cooldown after 429/503, robots.txt (through collector.robots), and a
  User-Agent naming the service and a contact URL;
- conditional GET (ETag, Last-Modified) and a hash of every body, since some servers answer
  200 with an unchanged body or 304 when something changed;
- hard limits on every response: a whole-request deadline across all redirect hops (httpx's
  timeouts are per phase), a cap on *decompressed* bytes (decoding is done here, chunk by chunk,
  with output limits by collector.body, so a gzip or brotli bomb stops at the cap; with
  `FetchPolicy.compact` a compressed body is then kept as sent), redirects followed by hand with
  a hop limit and loop detection, and refusal of content that is not text;
- address safety: every connection, first or after a redirect, is checked against the address
  actually connected to, after DNS, inside collector's own httpx transport (collector.transport);
  loopback, private, link-local, CGNAT and other special ranges are refused unless the
  policy allows private addresses; IPv4-mapped, 6to4, Teredo and NAT64 IPv6 forms are unwrapped.

Every failure leaves as `FetchError` (or `NotModified`) with a stable `kind` and a message that
names the URL; no httpx object leaves this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import re
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin

import httpx

from . import __version__, limits
from .body import Body, Decoding
from .decide import parse_max_age, parse_retry_after
from .documents import CONTENT_TYPES as DOCUMENT_TYPES
from .documents import kind_of as document_kind
from .errors import FetchError, NotModified
from .models import Fetched, Wire
from .robots import RobotsAnswer, RobotsCache
from .sniff import sniff
from .transport import AddressGuard, Blocked, DnsFailed, GuardedTransport, Recorder, Resolver
from .transport import address_problem as address_problem  # re-exported for callers

Expected = Literal["feed", "page", "any"]

_ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/feed+json, "
            "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "any": "*/*",
}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Failures that say the host cannot be reached at all (as opposed to an HTTP answer).
_NETWORK_KINDS = frozenset({"blocked_address", "bad_url", "dns", "refused", "connect", "tls",
                            "timeout", "protocol", "network", "rate_limited"})
#: What the request was doing in each phase (named by the transport's trace events), as a
#: timeout message says it.
_PHASES = {
    "connection.connect_tcp.started": "connect",
    "http11.send_request_headers.started": "send",
    "http11.receive_response_headers.started": "response",
}
_HOST_RE = re.compile(r"[a-z0-9._-]+|[0-9a-f:.]+", re.IGNORECASE)


@dataclass(frozen=True)
class FetchPolicy:
    """Per-request rules, usually derived from a source's configuration."""

    allow_private: bool = False        # allow loopback/private/link-local/... addresses
    robots: bool = True                # honour robots.txt (off for the user's own sites)
    max_bytes: int = limits.MAX_BODY_BYTES
    deadline_s: float = limits.REQUEST_DEADLINE_S
    max_redirects: int = limits.MAX_REDIRECTS
    expected: Expected = "any"         # "feed" refuses HTML pages; all refuse non-text types
    verify_tls: bool = True            # per-source opt-out for self-signed intranet sites
    accept: str | None = None          # Accept header; by default derived from `expected`
    #: longest silence allowed in one phase (connecting, sending, waiting for the response,
    #: between two reads of the body); the deadline bounds the whole request
    phase_timeout_s: float = limits.PHASE_TIMEOUT_S
    #: wait for the host's spacing (per_host_delay, Crawl-delay) before this request; off for
    #: the scripts and data of a page being rendered, which a browser loads together (the
    #: per-host concurrency still applies)
    spaced: bool = True
    documents: bool = False            # also take PDF, DOCX and ODT bodies (a document is due)
    #: keep the last hop's exchange as it went over the wire (`Fetched.wire`, for WARC
    #: capture); off, nothing is copied
    capture: bool = False
    #: keep a compressed body as sent (`Fetched.body`, decoded at each read) rather than
    #: decoded: for a body that waits for a parse worker (collector.body)
    compact: bool = False


def user_agent(contact: str | None = None) -> str:
    """The User-Agent: the service, its version and, if configured, a contact URL."""
    extra = f"; +{contact}" if contact else ""
    return f"collector/{__version__} (statement monitor{extra})"


def body_hash(content: bytes) -> str:
    """Hash stored per source to notice an unchanged body behind a 200."""
    return hashlib.sha256(content).hexdigest()


# --- per-host politeness --------------------------------------------------------------------

@dataclass
class _Host:
    sem: asyncio.Semaphore
    next_start: float = 0.0
    users: int = 0
    delay_s: float = 0.0


# --- the fetcher -----------------------------------------------------------------------------

class Fetcher:
    """Shared by a whole process: one per event loop, used as an async context manager."""

    def __init__(self, *, user_agent: str = user_agent(),
                 global_concurrency: int = limits.GLOBAL_CONCURRENCY,
                 per_host_concurrency: int = limits.PER_HOST_CONCURRENCY,
                 per_host_delay_s: float = limits.PER_HOST_DELAY_S,
                 resolver: Resolver | None = None,
                 allowed_networks: Iterable[str] = (),
                 ssl_context: ssl.SSLContext | None = None,
                 robots_ttl_s: float = limits.ROBOTS_TTL_S,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.user_agent = user_agent
        # the time of the per-host spacing: its decisions are taken on `clock` and waited out
        # with `sleep` (a test drives both to check them whatever the machine's load)
        self._clock = clock
        self._sleep = sleep
        self._global = asyncio.Semaphore(max(1, global_concurrency))
        self._per_host = max(1, per_host_concurrency)
        self._delay = max(0.0, per_host_delay_s)
        self._resolver = resolver
        self._allowed = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks)
        self._ssl_context = ssl_context
        self._max_idle = min(max(1, global_concurrency), limits.MAX_KEEPALIVE_CONNECTIONS)
        self._transports: dict[tuple[bool, bool], GuardedTransport] = {}
        self._hosts: dict[str, _Host] = {}
        self._cooldown: dict[str, float] = {}
        self.robots = RobotsCache(self._fetch_robots, ttl_s=robots_ttl_s)

    async def __aenter__(self) -> Fetcher:
        return self

    @property
    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Networks allowed whatever a policy says (the browser checks web sockets by them)."""
        return self._allowed

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            await transport.aclose()

    # Connections made under a permissive policy never serve a strict request: each
    # (allow_private, verify_tls) pair has its own transport and pool.
    def _transport(self, policy: FetchPolicy) -> GuardedTransport:
        key = (policy.allow_private, policy.verify_tls)
        transport = self._transports.get(key)
        if transport is None:
            guard = AddressGuard(allow_private=policy.allow_private, resolver=self._resolver,
                                 allowed_networks=self._allowed)
            verify: ssl.SSLContext | bool = (self._ssl_context or True) if policy.verify_tls \
                else False
            # building a context loads the CA bundle (about 10 ms): one per transport
            context = httpx.create_ssl_context(verify=verify, trust_env=False)
            transport = GuardedTransport(guard=guard, ssl_context=context,
                                         max_idle=self._max_idle)
            self._transports[key] = transport
        return transport

    @contextlib.asynccontextmanager
    async def _slot(self, host: str, spaced: bool = True) -> AsyncIterator[None]:
        """Per-host concurrency and spacing, then a global slot (taken last, so a request
        waiting for its host's delay does not hold a global slot)."""
        h = self._hosts.get(host)
        if h is None:
            h = self._hosts[host] = _Host(sem=asyncio.Semaphore(self._per_host),
                                          delay_s=self._delay)
        h.users += 1
        try:
            async with h.sem:
                if spaced:
                    now = self._clock()
                    wait = h.next_start - now
                    h.next_start = max(now, h.next_start) + h.delay_s
                    if wait > 0:
                        await self._sleep(wait)
                async with self._global:
                    yield
        finally:
            h.users -= 1
            if h.users == 0 and h.next_start <= self._clock():
                # Forget idle hosts so thousands of sources do not grow this map forever.
                self._hosts.pop(host, None)

    def set_host_delay(self, host: str, delay_s: float) -> None:
        """Raise one host's spacing (a robots.txt Crawl-delay), bounded."""
        h = self._hosts.get(host)
        if h is None:
            h = self._hosts[host] = _Host(sem=asyncio.Semaphore(self._per_host))
        h.delay_s = max(self._delay, min(delay_s, limits.MAX_CRAWL_DELAY_S))

    def _check_cooldown(self, host: str, url: str) -> None:
        until = self._cooldown.get(host)
        if until is None:
            return
        left = until - time.monotonic()
        if left <= 0:
            del self._cooldown[host]
            return
        raise FetchError(f"{host} asked us to wait (429/503); {left:.0f} s left, not fetching "
                         f"{url}", kind="rate_limited", url=url, retry_after=left)

    async def _fetch_robots(self, robots_url: str, policy: FetchPolicy, etag: str | None,
                            last_modified: str | None) -> RobotsAnswer:
        """For RobotsCache: one request for robots.txt, conditional when validators are given.
        A host that cannot be reached at all raises (that is the page's failure too)."""
        sub = replace(policy, robots=False, max_bytes=limits.MAX_ROBOTS_BYTES, expected="any",
                      deadline_s=min(policy.deadline_s, limits.ROBOTS_DEADLINE_S), accept=None)
        try:
            got = await self.fetch(robots_url, etag=etag, last_modified=last_modified,
                                   policy=sub)
        except NotModified as exc:
            return RobotsAnswer(304, etag=exc.headers.get("etag"),
                                last_modified=exc.headers.get("last-modified"),
                                max_age_s=_max_age(exc.headers))
        except FetchError as exc:
            if exc.kind in _NETWORK_KINDS:
                # The host cannot be reached at all: report that, not a robots.txt verdict.
                raise
            if exc.kind == "too_large":
                return RobotsAnswer(None, error=str(exc))
            return RobotsAnswer(exc.status, error=str(exc))
        return RobotsAnswer(got.status, got.content, etag=got.etag,
                            last_modified=got.last_modified, max_age_s=_max_age(got.headers))

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    policy: FetchPolicy = FetchPolicy()) -> Fetched:
        """GET `url` within `policy`. Raises NotModified (304 to a conditional request) or
        FetchError(kind=...), always naming the URL."""
        start = time.monotonic()
        budget = policy.deadline_s
        spent = 0.0
        current, host, parsed = _checked_url(url, url)
        seen = {current}
        conditional = bool(etag or last_modified)
        permanent = True  # every hop so far a 301/308
        for _hop in range(policy.max_redirects + 1):
            if policy.robots:
                try:
                    verdict = await self.robots.check(current, self.user_agent, policy)
                except FetchError as exc:
                    raise FetchError(f"{exc} (checking robots.txt before {current})",
                                     kind=exc.kind, url=url, status=exc.status,
                                     retry_after=exc.retry_after) from exc
                if verdict.crawl_delay:
                    self.set_host_delay(host, verdict.crawl_delay)
                if not verdict.allowed:
                    raise FetchError(f"robots.txt of {host} disallows {current}: "
                                     f"{verdict.reason}", kind="robots", url=current)
            self._check_cooldown(host, current)
            async with self._slot(host, policy.spaced):
                # The deadline counts time on the network only: waiting for a polite slot is
                # our own doing and must not turn into a timeout charged to the server.
                t0 = time.monotonic()
                try:
                    result = await self._one_hop(current, parsed, url, etag, last_modified,
                                                 conditional, policy, start, budget - spent)
                finally:
                    spent += time.monotonic() - t0
            if isinstance(result, Fetched):
                if permanent and current != url:
                    result = replace(result, moved_to=current)
                return result
            location, code = result
            permanent = permanent and code in (301, 308)
            nxt, nxt_host, nxt_parsed = _checked_url(location, url)
            if nxt in seen:
                raise FetchError(f"redirect loop at {current} -> {nxt} (fetching {url})",
                                 kind="redirect_loop", url=url)
            seen.add(nxt)
            current, host, parsed = nxt, nxt_host, nxt_parsed
        raise FetchError(f"more than {policy.max_redirects} redirects fetching {url}",
                         kind="too_many_redirects", url=url)

    async def _one_hop(self, current: str, parsed: httpx.URL, url: str, etag: str | None,
                       last_modified: str | None, conditional: bool, policy: FetchPolicy,
                       start: float, remaining: float) -> Fetched | tuple[str, int]:
        """One request; returns the Fetched result, or a redirect's next URL and status."""
        if remaining <= 0:
            raise _timeout_error(url, policy, current, "start")
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate, br",
                   "Accept": policy.accept or _ACCEPT[policy.expected]}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        transport = self._transport(policy)
        phase = "connect"

        async def trace(event: str, _info: dict[str, Any]) -> None:
            nonlocal phase
            phase = _PHASES.get(event, phase)

        extensions: dict[str, Any] = {
            "timeout": httpx.Timeout(policy.phase_timeout_s).as_dict(), "trace": trace}
        recorder = None
        if policy.capture:
            recorder = extensions["capture"] = Recorder()
        sent_at = datetime.now(UTC)

        try:
            async with asyncio.timeout(remaining):
                request = httpx.Request("GET", parsed, headers=headers, extensions=extensions)
                resp = await transport.handle_async_request(request)
                try:
                    phase = "headers"
                    location = self._check_status(resp, current, url, conditional)
                    if location is not None:
                        return urljoin(current, location), resp.status_code
                    phase = "body"
                    content, body = await _read_body(resp, current, policy)
                finally:
                    await resp.aclose()
        except FetchError:
            raise
        except TimeoutError as exc:
            raise _timeout_error(url, policy, current, phase) from exc
        except Blocked as exc:
            raise FetchError(f"refused to connect for {current}: {exc}", kind="blocked_address",
                             url=url) from exc
        except DnsFailed as exc:
            raise FetchError(f"{exc} (fetching {current})", kind="dns", url=url) from exc
        except httpx.HTTPError as exc:
            raise _classify(exc, current, url, phase, policy) from exc
        except OSError as exc:
            raise FetchError(f"network error fetching {current}: {exc}", kind="network",
                             url=url) from exc
        _check_content(content, resp.headers.get("content-type", ""), current, url, policy)
        hdrs = {k.lower(): v for k, v in resp.headers.items()}
        wire = None
        if recorder is not None:
            wire = Wire(url=current, status=resp.status_code, request=recorder.request,
                        response=bytes(recorder.response), fetched_at=sent_at,
                        decoded_digest="sha256:" + body.sha256(),
                        decoded_length=len(content), ip=recorder.ip)
        del content  # a compact body keeps only its wire bytes from here
        return Fetched(url=url, final_url=current, status=resp.status_code, headers=hdrs,
                       body=body, etag=hdrs.get("etag"),
                       last_modified=hdrs.get("last-modified"),
                       elapsed_s=time.monotonic() - start, wire=wire, fetched_at=sent_at)

    def _check_status(self, resp: httpx.Response, current: str, url: str,
                      conditional: bool) -> str | None:
        """Raise for statuses that are failures; return a redirect's Location; None for 2xx."""
        code = resp.status_code
        host = resp.url.host
        if code in _REDIRECT_STATUSES:
            location = resp.headers.get("location", "").strip()
            if not location:
                raise FetchError(f"HTTP {code} without a Location from {current}",
                                 kind="http_status", url=url, status=code)
            return location
        if code == 304:
            if conditional:
                raise NotModified(url, {k.lower(): v for k, v in resp.headers.items()})
            # Trusting this would pin the source forever: nothing was asked conditionally.
            raise FetchError(f"HTTP 304 to a request without validators from {current}",
                             kind="bad_304", url=url, status=code)
        if code in (429, 503):
            retry = parse_retry_after(resp.headers.get("retry-after"), datetime.now(UTC))
            wait = retry if retry is not None else limits.DEFAULT_HOST_COOLDOWN_S
            if wait > 0:
                self._cooldown[host] = time.monotonic() + wait
            what = "too many requests" if code == 429 else "service unavailable"
            hint = f", retry after {retry:.0f} s" if retry is not None else ""
            raise FetchError(f"HTTP {code} ({what}{hint}) from {current}",
                             kind="rate_limited" if code == 429 else "unavailable",
                             url=url, status=code, retry_after=retry)
        if code in (204, 205):
            raise FetchError(f"HTTP {code}: no content from {current}", kind="empty", url=url,
                             status=code)
        if not 200 <= code < 300:
            phrase = resp.reason_phrase or ""
            raise FetchError(f"HTTP {code} {phrase} from {current}".replace("  ", " "),
                             kind="http_status", url=url, status=code)
        return None


def _max_age(headers: dict[str, str]) -> float | None:
    """The freshness lifetime a response asks for (Cache-Control max-age, or Expires)."""
    return parse_max_age(headers, datetime.now(UTC))


# --- checks and classification --------------------------------------------------------------

def _checked_url(candidate: str, url: str) -> tuple[str, str, httpx.URL]:
    """Validate a URL (the one asked for, or a redirect target) with httpx's own parser;
    return it without its fragment, its host and the parsed URL (parsed once here, not again
    for the request)."""
    if any(c in candidate for c in "\\\x00\r\n\t") or candidate != candidate.strip():
        raise FetchError(f"refusing URL with backslash, control character or white space: "
                         f"{candidate!r} (fetching {url})", kind="bad_url", url=url)
    try:
        parsed = httpx.URL(candidate)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"invalid URL {candidate!r}: {exc} (fetching {url})", kind="bad_url",
                         url=url) from exc
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"refusing non-HTTP URL {candidate!r} (fetching {url})",
                         kind="bad_url", url=url)
    if not parsed.host or not _HOST_RE.fullmatch(parsed.raw_host.decode("ascii", "replace")):
        raise FetchError(f"URL without a valid host: {candidate!r} (fetching {url})",
                         kind="bad_url", url=url)
    if "#" in candidate:  # an empty fragment ("x#") is dropped too
        parsed = parsed.copy_with(fragment=None)
    return str(parsed), parsed.host, parsed


#: What a request in each phase was still waiting for, for the deadline's message.
_WAITING_FOR = {
    "start": "the redirects before it used the time up",
    "connect": "still connecting to {host}",
    "send": "{host} accepted the connection but did not take the whole request",
    "response": "{host} accepted the connection and the request but sent no response",
    "headers": "the response headers from {host} had come, the body had not",
    "body": "the body from {host} was still arriving",
}


def _timeout_error(url: str, policy: FetchPolicy, current: str, phase: str) -> FetchError:
    """The whole-request deadline ran out: say what the request was waiting for then."""
    what = _WAITING_FOR[phase].format(host=current)
    return FetchError(f"no complete answer from {url} within {policy.deadline_s:g} s "
                      f"({what})", kind="timeout", url=url)


def _phase_timeout(exc: httpx.TimeoutException, current: str, phase: str,
                   policy: FetchPolicy) -> str:
    """The message of one phase's timeout: which wait ran out, and after how long."""
    t = f"{policy.phase_timeout_s:g} s"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timed out: no connection to {current} within {t}"
    if isinstance(exc, httpx.WriteTimeout):
        return f"write timed out: {current} took no more of the request for {t}"
    if phase == "body":
        return f"read timed out: the body from {current} stalled (nothing for {t})"
    return (f"response timed out: {current} accepted the connection but sent no response "
            f"within {t} of the request")


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        yield cur
        cur = cur.__cause__ or cur.__context__
        seen += 1


def _classify(exc: httpx.HTTPError, current: str, url: str, phase: str,
              policy: FetchPolicy) -> FetchError:
    """Map an httpx error to a stable kind and a readable message."""
    chain = list(_causes(exc))
    detail = str(exc) or type(exc).__name__
    if any(isinstance(c, ssl.SSLError) for c in chain) or "SSL" in detail or "TLS" in detail:
        reason = next((str(c) for c in chain if isinstance(c, ssl.SSLError)), detail)
        return FetchError(f"TLS failure talking to {current}: {reason}", kind="tls", url=url)
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(_phase_timeout(exc, current, phase, policy), kind="timeout", url=url)
    if isinstance(exc, httpx.ConnectError):
        if any(isinstance(c, ConnectionRefusedError) for c in chain) or "refused" in detail:
            return FetchError(f"connection refused by {current}", kind="refused", url=url)
        return FetchError(f"cannot connect to {current}: {detail}", kind="connect", url=url)
    if isinstance(exc, httpx.RemoteProtocolError):
        if phase == "body":
            return FetchError(f"body cut short by the server at {current}: {detail}",
                              kind="truncated", url=url)
        return FetchError(f"broken HTTP from {current}: {detail}", kind="protocol", url=url)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return FetchError(f"invalid URL {current}: {detail}", kind="bad_url", url=url)
    if isinstance(exc, httpx.DecodingError):
        return FetchError(f"undecodable body from {current}: {detail}", kind="decoding", url=url)
    return FetchError(f"network error fetching {current}: {type(exc).__name__}: {detail}",
                      kind="network", url=url)


#: Structures of a media type's subtype that are text: `application/xml`, its family
#: (`xml-dtd`, `xml-external-parsed-entity`) and every `+xml` type; JSON alike; scripts.
_TEXT_STRUCTURES = frozenset({"xml", "json", "javascript", "ecmascript"})


def _is_textual(ctype: str) -> bool:
    """Whether a media type names text: any `text/*`, or a subtype whose structure (its `+`
    suffix, else its name up to the first '-') is XML, JSON or a script."""
    if not ctype:
        return True
    major, _, minor = ctype.partition("/")
    structure = minor.rpartition("+")[2] if "+" in minor else minor.partition("-")[0]
    return major == "text" or structure in _TEXT_STRUCTURES


async def _read_body(resp: httpx.Response, current: str, policy: FetchPolicy
                     ) -> tuple[bytes, Body]:
    """Stream and decode the body, never holding more than the cap (plus one raw chunk); the
    decoded bytes, and the body as `Fetched` keeps it (its wire bytes too if compact)."""
    url = current
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    # A gzipped file (sitemap.xml.gz) is text once unpacked: unpack it under the same cap.
    gz_file = ctype in ("application/gzip", "application/x-gzip") or (
        ctype == "application/octet-stream" and resp.url.path.endswith(".gz"))
    if (not _is_textual(ctype) and ctype != "application/octet-stream" and not gz_file
            and not (policy.documents and ctype in DOCUMENT_TYPES)):
        raise FetchError(f"{current} is {ctype}, not text", kind="content_type", url=url)
    cap = policy.max_bytes
    declared = resp.headers.get("content-length", "").strip()
    codings = tuple(c.strip().lower() for c in resp.headers.get("content-encoding", "").split(",")
                    if c.strip() and c.strip().lower() != "identity")
    if gz_file:
        codings += ("gzip",)
    if not codings and declared.isdigit() and int(declared[:20]) > cap:
        raise FetchError(f"{current} declares {declared} bytes, more than the {cap}-byte cap",
                         kind="too_large", url=url)
    decoding = Decoding(codings, cap, current)
    wire = bytearray() if policy.compact and codings else None
    async for raw in resp.aiter_raw():
        decoding.feed(raw)
        if wire is not None:
            wire += raw
    content = decoding.finish()
    del decoding  # its buffer: the body is not held twice from here
    held: bytes | None = None
    if wire is not None and len(wire) * 4 <= len(content) * 3:
        held = bytes(wire)  # else not worth decoding again at each read
    elif policy.compact and not codings and len(content) >= limits.COMPACT_PLAIN_BYTES:
        # a large body sent uncompressed waits for the parse worker deflated (in a thread:
        # zlib lets go of the GIL, and the event loop goes on meanwhile)
        held = await asyncio.to_thread(zlib.compress, content, 1)
        codings = ("deflate",)
        if len(held) * 4 > len(content) * 3:
            held = None
    del wire
    if held is None:
        return content, Body(content)
    return content, Body(held, codings, cap=cap, url=current, size=len(content),
                         sha256=hashlib.sha256(content).hexdigest())


def _check_content(content: bytes, content_type: str, current: str, url: str,
                   policy: FetchPolicy) -> None:
    """Refuse empty bodies, binary bodies, and HTML where a feed was expected."""
    if not content.strip():
        raise FetchError(f"empty body from {current}", kind="empty", url=url, status=200)
    kind = sniff(content).kind
    if kind == "binary" and policy.documents and document_kind(content, content_type):
        return
    if kind == "binary":
        raise FetchError(f"{current} returned binary data, not text", kind="content_type",
                         url=url)
    if policy.expected == "feed" and kind == "html":
        ctype = content_type.split(";")[0].strip() or "no content type"
        raise FetchError(f"expected a feed at {current} but got an HTML page ({ctype})",
                         kind="not_a_feed", url=url)
