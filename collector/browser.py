"""The browser fetcher: pages rendered by a real Chromium, under the same rules as plain fetches.

What this module owns:

- one headless Chromium per process, shared by every source, started on first use in its own
  process group (so it and every renderer it forks can be killed at once), driven through
  Playwright over the DevTools protocol;
- hard bounds: a wall-time bound per page (a page whose script never yields cannot hold a poll
  past it), a cap on pages rendered at once, and a cap on the resident memory of the whole
  process group, checked every `limits.BROWSER_MEMORY_CHECK_S`; a browser over its memory,
  one that crashed, or one that does not close a page it was told to close is killed and a new
  one started for the next page;
- address checks: every request the page makes is intercepted and *fetched by collector's own
  fetcher* (collector.fetch), then handed to the page; Chromium itself never opens an HTTP
  connection. So the address check after DNS, the per-host limits, the User-Agent with its
  contact, the caps on size and time all apply to scripts, XHR, frames and redirects as to any
  fetch, and a frame's document is checked against robots.txt. Web sockets are checked against
  the same address policy (collector.transport.AddressGuard) before Chromium may connect;
- refusals: downloads, pop-ups (any second page), service workers, permission prompts, every
  scheme other than http/https, requests other than GET/HEAD (a reader never submits), and,
  by default, images, media and fonts (they carry no statement text);
- `empty_shell(html)`: whether a fetched page is an empty shell that only a browser fills
  (little text, a script bundle, an empty root element), for `render: auto`, `collector check`
  and `auto` discovery.

The page's own document is the plain fetch made by the caller (robots.txt, conditional GET and
all): the browser renders that body at its final URL, and `render` returns the rendered DOM as a
`Fetched` whose body is UTF-8 HTML, which goes through discovery and extraction like any page.

When Chromium is not installed, `render` fails with `FetchError(kind="browser_missing")` naming
the install command; nothing else is affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from . import limits
from .body import Body
from .config import Source
from .encoding import decode_html
from .errors import FetchError
from .fetch import Fetcher, FetchPolicy
from .models import Fetched
from .transport import AddressGuard, Blocked, DnsFailed

if TYPE_CHECKING:
    from playwright.async_api import Browser as PwBrowser
    from playwright.async_api import BrowserContext, Page, Playwright, Route, WebSocketRoute


def _playwright() -> Any:
    """playwright.async_api, imported when a browser is first needed, not with this module:
    every poll imports this module, most never render a page, and the import costs about
    7 MB of resident memory and 0.15-0.8 s of CPU (`python -m bench.memory imports`)."""
    from playwright import async_api

    return async_api

log = logging.getLogger("collector.browser")

#: Where Chromium is looked for, in order (Debian installs /usr/bin/chromium).
CHROMIUM_PATHS = ("/usr/bin/chromium", "chromium", "chromium-browser")
INSTALL_HINT = "apt-get install chromium"
#: Resource types never loaded: they carry no statement text.
BLOCKED_TYPES = frozenset({"image", "media", "font"})
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-extensions", "--disable-breakpad", "--disable-dev-shm-usage",
          "--mute-audio", "--no-default-browser-check", "--password-store=basic",
          "--dns-prefetch-disable", "--no-pings",
          "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")
_HTML = "text/html; charset=utf-8"
#: The profile's preferences: WebRTC may not send UDP of its own (the command-line switch for
#: this is not honoured by headless Chromium 156: a STUN query still left for a private address)
_PREFERENCES = {"webrtc": {"ip_handling_policy": "disable_non_proxied_udp",
                           "multiple_routes_enabled": False, "nonproxied_udp_enabled": False}}
#: Response headers handed to the page: what decides how the body is read (type, cross-origin
#: rules, attachment) and nothing that would steer Chromium's own network stack.
_PASSED_HEADERS = ("content-type", "last-modified", "cache-control", "content-disposition",
                   "content-language", "access-control-allow-origin",
                   "access-control-allow-credentials", "access-control-expose-headers",
                   "timing-allow-origin", "x-content-type-options")


def find_chromium(explicit: str | None = None) -> str | None:
    """The Chromium executable to run, or None when none is installed."""
    for candidate in ((explicit,) if explicit else CHROMIUM_PATHS):
        path = shutil.which(candidate) if "/" not in candidate else candidate
        if path and os.access(path, os.X_OK):
            return path
    return None


def missing_message(explicit: str | None = None) -> str:
    where = explicit or ", ".join(CHROMIUM_PATHS)
    return (f"Chromium is not installed (looked for {where}); pages with `render: browser` "
            f"need it: install it with `{INSTALL_HINT}`")


def missing_note(sources: Iterable[Source]) -> str | None:
    """What to say once (at start, in `collector check`) when sources need a Chromium that is
    not installed; None when none is missing."""
    needing = [s.id for s in sources if s.enabled and s.render != "plain"]
    if not needing or find_chromium() is not None:
        return None
    return f"{missing_message()}; these sources fail until it is: {', '.join(needing)}"


# --- empty shells ----------------------------------------------------------------------------

#: ids and classes that single-page applications mount into
_ROOT_RE = re.compile(r"^(root|app|__next|__nuxt|___gatsby|svelte|main-app|application|"
                      r"ember-app|react-root|vue-app|ng-app)$", re.IGNORECASE)
_SHELL_MAX_WORDS = 40
_BUNDLE_INLINE_CHARS = 2000


def empty_shell(html: str) -> str | None:
    """Why `html` looks like an empty shell that a script fills in, or None.

    A shell has little visible text, at least one script bundle (an external script or a
    large inline one), and an empty element the script mounts into (an id or class like
    `root`/`app`, or a body whose only content is empty elements). A page of real text is never
    a shell, whatever its scripts.
    """
    tree = LexborHTMLParser(html)
    body = tree.body
    if body is None:
        return None
    scripts = tree.css("script")
    bundles = [s for s in scripts if s.attributes.get("src")
               or len(s.text(deep=True)) >= _BUNDLE_INLINE_CHARS]
    if not bundles:
        return None
    for node in body.css("script, style, noscript, template"):
        node.decompose()
    words = len(body.text(separator=" ", strip=True).split())
    if words > _SHELL_MAX_WORDS:
        return None
    mount = None
    for node in body.css("div, main, section, app-root"):
        names = [node.attributes.get("id") or "", *(node.attributes.get("class") or "").split()]
        if any(_ROOT_RE.match(n) for n in names if n) or node.tag == "app-root":
            mount = node
            break
    if mount is None:
        children = [c for c in body.iter() if c.tag not in ("-text", "-comment")]
        if children and all(not c.text(strip=True) for c in children):
            mount = children[0]
    if mount is None:
        return None
    label = f"{mount.tag}" + (f"#{mount.attributes['id']}" if mount.attributes.get("id") else "")
    return (f"an empty shell: {words} words of text, {len(bundles)} script bundle(s) and an "
            f"empty <{label}> that scripts fill in")


# --- the browser process ---------------------------------------------------------------------

@dataclass
class _Instance:
    """One running Chromium and the Playwright connection to it."""

    process: subprocess.Popen[bytes]
    profile: Path
    browser: PwBrowser
    generation: int
    dead: str | None = None              # why it was killed, once it was


@dataclass
class _Refusals:
    """What one render refused, for the log and for tests."""

    requests: list[str] = field(default_factory=list)
    popups: int = 0
    downloads: int = 0


class Browser:
    """The shared browser of one process: `render` a fetched page; `aclose` at shutdown."""

    def __init__(self, fetcher: Fetcher, *, executable: str | None = None,
                 max_pages: int = limits.BROWSER_MAX_PAGES,
                 page_timeout_s: float = limits.BROWSER_PAGE_TIMEOUT_S,
                 max_rss_bytes: int = limits.BROWSER_MAX_RSS_BYTES,
                 block_types: frozenset[str] = BLOCKED_TYPES,
                 extra_args: tuple[str, ...] = (),
                 quiet_s: float = limits.BROWSER_QUIET_S,
                 settle_s: float = limits.BROWSER_SETTLE_S) -> None:
        self.fetcher = fetcher
        #: after `load`, the page is taken once no request has been open for `quiet_s`, or
        #: `settle_s` after `load` at the latest
        self.quiet_s, self.settle_s = quiet_s, settle_s
        self.extra_args = extra_args
        self.executable = executable
        self.page_timeout_s = page_timeout_s
        self.max_rss_bytes = max_rss_bytes
        self.block_types = block_types
        self._slots = asyncio.Semaphore(max(1, max_pages))
        self._lock = asyncio.Lock()
        self._pw: Playwright | None = None
        self._current: _Instance | None = None
        self._generation = 0
        self._watch: asyncio.Task[None] | None = None
        self._closed = False
        #: how many times a browser was killed (memory, crash, stuck page), for metrics/tests
        self.kills = 0
        self.last_refusals = _Refusals()

    @property
    def pid(self) -> int | None:
        inst = self._current
        return inst.process.pid if inst is not None and inst.dead is None else None

    # -- life cycle ----------------------------------------------------------------------------

    async def _instance(self) -> _Instance:
        async with self._lock:
            if self._closed:
                raise FetchError("the browser is shut down", kind="browser")
            inst = self._current
            if inst is not None and inst.dead is None and inst.process.poll() is None \
                    and inst.browser.is_connected():
                return inst
            if inst is not None:
                await self._kill(inst, inst.dead or "it stopped")
            path = find_chromium(self.executable)
            if path is None:
                raise FetchError(missing_message(self.executable), kind="browser_missing")
            self._current = await self._start(path)
            if self._watch is None or self._watch.done():
                self._watch = asyncio.create_task(self._watch_memory())
            return self._current

    async def _start(self, path: str) -> _Instance:
        profile = Path(tempfile.mkdtemp(prefix="collector-chromium-"))
        (profile / "Default").mkdir()
        (profile / "Default" / "Preferences").write_text(json.dumps(_PREFERENCES))
        heap_mb = max(64, self.max_rss_bytes // (4 * 1024 * 1024))
        args = [path, *_FLAGS, *self.extra_args, f"--user-data-dir={profile}",
                f"--js-flags=--max-old-space-size={heap_mb}", "about:blank"]
        # its own session and process group: killpg reaches every process it forks
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            endpoint = await self._endpoint(process, profile)
            if self._pw is None:
                self._pw = await _playwright().async_playwright().start()
            browser = await asyncio.wait_for(self._pw.chromium.connect_over_cdp(endpoint),
                                             limits.BROWSER_START_TIMEOUT_S)
        except BaseException:
            _killpg(process)
            await asyncio.to_thread(process.wait)
            shutil.rmtree(profile, ignore_errors=True)
            raise
        self._generation += 1
        inst = _Instance(process, profile, browser, self._generation)
        browser.on("disconnected", lambda _b: self._mark_dead(inst, "it disconnected"))
        log.info("browser started: %s (pid %d)", path, process.pid)
        return inst

    async def _endpoint(self, process: subprocess.Popen[bytes], profile: Path) -> str:
        """Chromium writes its DevTools port into the profile once it listens."""
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + limits.BROWSER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise FetchError(f"Chromium exited at start with status {process.returncode}",
                                 kind="browser")
            with contextlib.suppress(OSError, ValueError, IndexError):
                lines = port_file.read_text().split("\n")
                return f"ws://127.0.0.1:{int(lines[0])}{lines[1].strip()}"
            await asyncio.sleep(0.05)
        raise FetchError(f"Chromium did not start within {limits.BROWSER_START_TIMEOUT_S:.0f} s",
                         kind="browser")

    def _mark_dead(self, inst: _Instance, why: str) -> None:
        if inst.dead is None:
            inst.dead = why

    async def _kill(self, inst: _Instance, why: str) -> None:
        counted = why != "shutdown" and inst.process.poll() is None
        if counted:
            log.warning("browser (pid %d) killed: %s", inst.process.pid, why)
        inst.dead = inst.dead or why
        _killpg(inst.process)
        await asyncio.to_thread(inst.process.wait)
        # SIGKILL reaches the group's other processes asynchronously: the next browser starts
        # once the killed one's memory is given back (bounded; a process in the kernel's
        # uninterruptible sleep may take a moment)
        await asyncio.to_thread(wait_group_gone, inst.process.pid, limits.BROWSER_KILL_WAIT_S)
        self.kills += counted
        with contextlib.suppress(_playwright().Error, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(inst.browser.close(), 2.0)
        shutil.rmtree(inst.profile, ignore_errors=True)
        if self._current is inst:
            self._current = None

    async def _watch_memory(self) -> None:
        while not self._closed:
            await asyncio.sleep(limits.BROWSER_MEMORY_CHECK_S)
            inst = self._current
            if inst is None or inst.dead is not None:
                continue
            rss = await asyncio.to_thread(group_rss, inst.process.pid)
            if rss > self.max_rss_bytes:
                why = (f"its processes use {rss // 2**20} MiB, over the "
                       f"{self.max_rss_bytes // 2**20} MiB bound")
                inst.dead = why
                async with self._lock:
                    await self._kill(inst, why)

    async def aclose(self) -> None:
        """Kill the browser (if one runs) and stop Playwright; idempotent."""
        self._closed = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        inst, self._current = self._current, None
        if inst is not None:
            await self._kill(inst, "shutdown")
        pw, self._pw = self._pw, None
        if pw is not None:
            with contextlib.suppress(_playwright().Error, OSError, asyncio.TimeoutError):
                await asyncio.wait_for(pw.stop(), 5.0)

    # -- one page ------------------------------------------------------------------------------

    async def render(self, page: Fetched, policy: FetchPolicy) -> Fetched:
        """The DOM a reader sees once `page` (a plain fetch of an HTML page) has run its
        scripts. Raises FetchError; never outlives `page_timeout_s` plus the kill."""
        async with self._slots:
            inst = await self._instance()
            refusals = _Refusals()
            self.last_refusals = refusals
            context: BrowserContext | None = None
            try:
                async with asyncio.timeout(self.page_timeout_s):
                    context = await inst.browser.new_context(
                        accept_downloads=False, service_workers="block",
                        user_agent=self.fetcher.user_agent, permissions=[],
                        java_script_enabled=True, bypass_csp=False)
                    html, final_url = await self._load(context, page, policy, refusals)
            except TimeoutError:
                # The page (or the browser) did not finish within its bound. Closing its
                # context kills its renderer; a browser that cannot even do that is killed.
                await self._close_or_kill(inst, context, "a page did not close after running "
                                          "past its time bound")
                raise FetchError(f"{page.final_url} did not finish rendering within "
                                 f"{self.page_timeout_s:.0f} s", kind="browser_timeout",
                                 url=page.url) from None
            except _playwright().Error as exc:
                await self._close_or_kill(inst, context, "it failed while rendering")
                why = inst.dead or str(exc).splitlines()[0]
                raise FetchError(f"the browser failed rendering {page.final_url}: {why}",
                                 kind="browser", url=page.url) from None
            await self._close_or_kill(inst, context, "a page did not close")
        if refusals.requests or refusals.popups or refusals.downloads:
            log.info("rendering %s: refused %d request(s), %d pop-up(s), %d download(s)%s",
                     page.final_url, len(refusals.requests), refusals.popups,
                     refusals.downloads,
                     f" (first: {refusals.requests[0]})" if refusals.requests else "")
        body = html.encode("utf-8")
        if len(body) > policy.max_bytes:
            raise FetchError(f"rendered DOM of {page.final_url} exceeds the {policy.max_bytes}"
                             f"-byte cap", kind="too_large", url=page.url)
        return replace(page, final_url=final_url, body=Body(body),
                       headers={**page.headers, "content-type": _HTML})

    async def _close_or_kill(self, inst: _Instance, context: BrowserContext | None,
                             why: str) -> None:
        if context is None or inst.dead is not None:
            if inst.dead is not None:
                async with self._lock:
                    await self._kill(inst, inst.dead)
            return
        try:
            await asyncio.wait_for(context.close(), limits.BROWSER_CLOSE_TIMEOUT_S)
        except (TimeoutError, _playwright().Error):
            async with self._lock:
                await self._kill(inst, why)

    async def _load(self, context: BrowserContext, page: Fetched, policy: FetchPolicy,
                    refusals: _Refusals) -> tuple[str, str]:
        main_url = page.final_url
        served_main = False
        network = _Network()
        guard = AddressGuard(allow_private=policy.allow_private,
                             allowed_networks=self.fetcher.allowed_networks)

        tab: Page | None = None
        closing: set[asyncio.Future[None]] = set()
        #: second pages, met by their first request or by the context's "page" event, which
        #: ever comes first (the event may come after the render has finished)
        popups: set[Page] = set()

        def refuse_popup(other: Page) -> None:
            if other not in popups:
                popups.add(other)
                refusals.popups = len(popups)
                closing.add(asyncio.ensure_future(_quietly(other.close())))

        async def on_request(route: Route) -> None:
            nonlocal served_main
            req = route.request
            url = req.url
            try:
                origin = req.frame.page
            except _playwright().Error:           # a worker's request: it has no frame
                origin = None
            if origin is not tab:
                refusals.requests.append(f"{url}: not from the page itself (a pop-up or worker)")
                if origin is not None:
                    refuse_popup(origin)
                await route.abort("blockedbyclient")
                return
            if not served_main and req.is_navigation_request() and url == main_url:
                served_main = True
                await route.fulfill(status=200, body=page.content, headers={
                    "content-type": page.headers.get("content-type", _HTML)})
                return
            why = self._refusal(url, req.method, req.resource_type)
            if why is not None:
                refusals.requests.append(f"{url}: {why}")
                await route.abort("blockedbyclient")
                return
            document = req.resource_type == "document"
            sub = replace(policy, expected="any", robots=policy.robots and document,
                          spaced=document)
            with network.busy():
                try:
                    got = await self.fetcher.fetch(url, policy=sub)
                except FetchError as exc:
                    refusals.requests.append(f"{url}: {exc.kind}")
                    reason = "addressunreachable" if exc.kind == "blocked_address" \
                        else "failed"
                    await route.abort(reason)
                    return
                headers = {k: v for k, v in got.headers.items() if k in _PASSED_HEADERS}
                await route.fulfill(status=got.status, body=got.content, headers=headers)

        async def on_websocket(ws: WebSocketRoute) -> None:
            parts = urlsplit(ws.url)
            try:
                await guard.permitted(parts.hostname or "",
                                      parts.port or (443 if parts.scheme == "wss" else 80))
            except (Blocked, DnsFailed) as exc:
                refusals.requests.append(f"{ws.url}: {exc}")
                await ws.close(code=1008, reason="refused")
                return
            ws.connect_to_server()

        def on_page(other: Page) -> None:
            if other is not tab:
                refuse_popup(other)

        def on_download(download: Any) -> None:
            refusals.downloads += 1
            closing.add(asyncio.ensure_future(_quietly(download.cancel())))

        await context.route("**/*", on_request)
        await context.route_web_socket(re.compile(".*"), on_websocket)
        tab = await context.new_page()
        context.on("page", on_page)
        tab.on("download", on_download)
        await tab.goto(main_url, wait_until="load")
        # scripts that fetch their content after `load`: wait until none of the page's
        # requests (all of which pass through `on_request`) has been open for a moment, but
        # only so long (a page that polls forever is taken as it stands)
        await network.quiet(self.quiet_s, self.settle_s)
        return await tab.content(), tab.url

    def _refusal(self, url: str, method: str, resource_type: str) -> str | None:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            return f"{scheme}: URLs are not loaded"
        if method not in ("GET", "HEAD"):
            return f"{method} requests are not made (a reader only reads)"
        if resource_type in self.block_types:
            return f"{resource_type} not loaded"
        return None


class _Network:
    """The page's requests in flight, to know when it has gone quiet."""

    def __init__(self) -> None:
        self.open = 0
        self.last_change = time.monotonic()
        self.changed = asyncio.Event()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        self._change(+1)
        try:
            yield
        finally:
            self._change(-1)

    def _change(self, delta: int) -> None:
        self.open += delta
        self.last_change = time.monotonic()
        self.changed.set()

    async def quiet(self, quiet_s: float, bound_s: float) -> None:
        """Return once no request has been open for `quiet_s`, or after `bound_s`."""
        deadline = time.monotonic() + bound_s
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            still = quiet_s - (now - self.last_change)
            if self.open == 0 and still <= 0:
                return
            self.changed.clear()
            wait = min(deadline - now, still if self.open == 0 else deadline - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), wait)


async def _quietly(coro: Any) -> None:
    with contextlib.suppress(_playwright().Error):
        await coro


def _killpg(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _group_members(pgid: int) -> Iterator[tuple[str, str]]:
    """(/proc path, state letter) of every process in process group `pgid` (Linux /proc)."""
    with os.scandir("/proc") as entries:   # closed even when the caller stops early
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                pg, state = int(fields[2]), fields[0]   # field 5 of stat: the process group
            except (OSError, ValueError, IndexError):
                continue
            if pg == pgid:
                yield entry.path, state


def wait_group_gone(pgid: int, timeout_s: float) -> bool:
    """Wait until no live process is left in group `pgid` (zombies waiting for init to reap
    them are dead), at most `timeout_s`; whether the group is gone."""
    deadline = time.monotonic() + timeout_s
    while any(state not in ("Z", "X") for _path, state in list(_group_members(pgid))):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def group_rss(pgid: int) -> int:
    """Memory of every process in process group `pgid` (Linux /proc), in bytes.

    Each process counts its proportional share of the pages it shares with others (PSS):
    Chromium's processes share most of their code and fonts, and adding up their RSS counts
    those pages once per process (bench/browser.py, 4 pages in flight: summed RSS passed 1.7 GiB
    and the browser was killed; summed PSS peaks at about 0.65 GiB).
    """
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for path, _state in _group_members(pgid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += _pss(path, page)
    return total


def _pss(proc: str, page: int) -> int:
    try:
        for line in Path(proc, "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(Path(proc, "statm").read_text().split()[1]) * page


def looks_like_html(page: Fetched) -> bool:
    ctype = page.content_type
    if ctype in ("text/html", "application/xhtml+xml"):
        return True
    return not ctype and page.content.lstrip()[:15].lower().startswith((b"<!doctype html",
                                                                         b"<html"))


async def rendered(browser: Browser, mode: str, page: Fetched, policy: FetchPolicy) -> Fetched:
    """`page` as a source with `render: mode` reads it: as fetched (`plain`), rendered
    (`browser`), or rendered only when it is an empty shell (`auto`)."""
    if mode == "plain" or not looks_like_html(page):
        return page
    if mode == "auto" and empty_shell(decode_html(page.content,
                                                  page.headers.get("content-type"))) is None:
        return page
    return await browser.render(page, policy)
