"""The HTTP side of `collector run`: a read-only web page, the Atom feeds, /healthz, /metrics.

    /                 latest statements, filtered and sorted (collector.web.pages)
    /d/<id>           one document: its text, its metadata, every place it was published
    /search?q=        full-text search (collector.store.search), with the same filters
    /sources          the health of every source, worst first
    /o/<id>           one organisation: its health, last errors and statements
    /feeds/<id>.atom  a feed digest's Atom file, or `all` for the combined feed
    /healthz          200 when the database answers and the scheduler ticks, else 503 + reason
    /metrics          Prometheus text format (collector.metrics plus gauges read from the store)
    /api/v1/          the read-only JSON API and its OpenAPI description (collector.web.api)

Pages are plain server-rendered HTML (Jinja2 with autoescape on, whatever a template is
called), with no script and a Content-Security-Policy that allows none. Every response, error
pages included, carries the security headers; error pages escape what they echo (RELIABILITY.md
row 15). The server runs on the service's event loop; store calls are synchronous, so they run
in threads and never block the loop. Its connections pass through collector.webguard (a cap,
deadlines for slow and idle clients, counted log lines for what clients do wrong).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from . import health as health_module
from . import metrics as metrics_module
from . import webguard
from .config import Config
from .document import file_name
from .document import parse as parse_document
from .errors import CollectorError, StoreError
from .store import Store
from .store import capture as stored_captures
from .store.browse import source_states_light
from .store.search import MAX_QUERY_CHARS
from .web import history
from .web.api import Api
from .web.api import register as register_api
from .web.pages import MAX_PAGE, Pages
from .web.pages import register as register_pages

log = logging.getLogger("collector.server")

WEB_DIR = Path(__file__).parent / "web"

#: /healthz calls the scheduler dead when its last tick finished longer ago than this. Ticks
#: start every 15 s, but one tick waits for all the polls it started, each bounded by its own
#: request deadlines, so a busy tick can legitimately last minutes.
HEALTH_MAX_TICK_AGE_S = 15 * 60
#: /healthz calls the database unavailable when a trivial query takes longer than this.
HEALTH_DB_TIMEOUT_S = 5.0
#: Seconds the server gives requests in progress to finish when the service stops (the whole
#: stop has a budget of its own, see collector.scheduler).
SHUTDOWN_TIMEOUT_S = 1.0
#: Longest text an error page echoes back (it is escaped; the cap keeps the page small).
MAX_ECHO_CHARS = 200

ATOM_TYPE = "application/atom+xml"
METRICS_TYPE = metrics_module.CONTENT_TYPE
HEALTH_STATES = health_module.STATES

_DOC_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")


# ---------------------------------------------------------------------------------------------
# Pure decisions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthReport:
    ok: bool
    reason: str
    last_tick_age_s: float | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "ok" if self.ok else "unavailable",
                               "reason": self.reason}
        if self.last_tick_age_s is not None:
            out["last_tick_age_s"] = round(self.last_tick_age_s, 3)
        return out


def judge_health(*, database_error: str | None, scheduler: bool, last_tick: datetime | None,
                 now: datetime, max_tick_age_s: float = HEALTH_MAX_TICK_AGE_S) -> HealthReport:
    """Ready and alive when the database answers and (if there is a scheduler) it has
    finished a tick within `max_tick_age_s` of `now`."""
    if database_error is not None:
        return HealthReport(False, f"database: {database_error}")
    if not scheduler:
        return HealthReport(True, "database answers (no scheduler in this process)")
    if last_tick is None:
        return HealthReport(False, "starting: no scheduler tick has finished yet")
    age = (now - last_tick).total_seconds()
    if age > max_tick_age_s:
        return HealthReport(False, f"scheduler: last tick finished {age:.0f} s ago "
                                   f"(limit {max_tick_age_s:.0f} s)", age)
    return HealthReport(True, "database answers and the scheduler ticks", age)


def parse_bind(bind: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` → (host, port)."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"bind address {bind!r} must look like 127.0.0.1:8080")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    number = int(port)
    if number > 65535:
        raise ValueError(f"bind address {bind!r}: port out of range")
    return host, number


def max_connections_of(config: Config) -> int:
    """The cap on open HTTP connections: the setting, or derived from the file limit."""
    if config.settings.http_max_connections is not None:
        return config.settings.http_max_connections
    return webguard.auto_max_connections(webguard.file_limit(),
                                         config.settings.fetch.concurrency)


def web_link(url: str | None) -> bool:
    """Only http(s) addresses become links (no javascript:, data: or file: hrefs)."""
    return bool(url) and urlsplit(str(url)).scheme.lower() in ("http", "https")


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _echo(text: str) -> str:
    return text if len(text) <= MAX_ECHO_CHARS else text[:MAX_ECHO_CHARS] + "…"


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _environment() -> Environment:
    # autoescape=True for every template, not chosen by file extension: a template name
    # that did not match an extension list would otherwise render unescaped.
    env = Environment(loader=FileSystemLoader(WEB_DIR / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["iso"] = _iso
    env.filters["when"] = _when
    env.filters["web_link"] = web_link
    return env


CSS = (WEB_DIR / "style.css").read_text(encoding="utf-8")
#: The page's only style sheet is inline; the CSP admits exactly it by hash, nothing else.
CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode()
SECURITY_HEADERS = {
    "Content-Security-Policy": (f"default-src 'none'; style-src '{CSS_HASH}'; "
                                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class _Problem(Exception):
    """A request the server answers with an error page (message shown escaped)."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class _Place:
    organisation: str
    url: str
    seen_at: datetime
    how: str


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class HttpServer:
    """The service's HTTP server: `await start()`, then `await stop()`.

    `digests` (a DigestRunner) says where feed files are; without it they are looked for in
    the data directory's feeds/. `last_tick` returns when the scheduler last finished a tick
    (None before the first); without it /healthz checks the database only. `metrics` is the
    registry to expose (the process registry by default).
    """

    def __init__(self, config: Config, store: Store, *, digests: Any = None,
                 last_tick: Callable[[], datetime | None] | None = None,
                 metrics: metrics_module.Registry | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 bind: str | None = None, max_tick_age_s: float = HEALTH_MAX_TICK_AGE_S,
                 monotonic: Callable[[], float] = time.monotonic):
        self.config = config
        self.store = store
        self.digests = digests
        self.last_tick = last_tick
        self.metrics = metrics if metrics is not None else metrics_module.REGISTRY
        self.clock = clock
        self.max_tick_age_s = max_tick_age_s
        self.bind_address = bind or config.settings.bind
        try:
            self.host, self.port = parse_bind(self.bind_address)
        except ValueError as exc:
            raise CollectorError(f"{exc} (the setting `bind` in sources.yaml, or "
                                 "COLLECTOR_BIND)") from None
        #: problems of the last sources.yaml reload that was refused (shown on /sources)
        self.refused_reload: tuple[str, ...] = ()
        self.env = _environment()
        self.app = self._make_app()
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self.monotonic = monotonic  # the connection deadlines' clock
        self.tally = webguard.Tally(log, clock=monotonic)
        self._client_errors = webguard.ClientErrors(self.tally)
        self.guard: webguard.ConnectionGuard | None = None
        self.max_connections = max_connections_of(config)

    # -- life cycle ----------------------------------------------------------------------------

    async def bind(self) -> None:
        """Take the bind address without serving yet; CollectorError (naming the setting)
        when that fails. `start` serves (and binds first if this was not called)."""
        if self._listener is not None:
            return
        self._runner = web.AppRunner(self.app, access_log=None,
                                     shutdown_timeout=SHUTDOWN_TIMEOUT_S,
                                     keepalive_timeout=webguard.IDLE_TIMEOUT_S,
                                     lingering_time=webguard.BODY_TIMEOUT_S)
        await self._runner.setup()
        assert self._runner.server is not None  # set up above
        self.guard = webguard.ConnectionGuard(self._runner.server,
                                              max_connections=self.max_connections,
                                              tally=self.tally, clock=self.monotonic)
        try:
            self._listener = await asyncio.get_running_loop().create_server(
                self.guard, self.host, self.port, reuse_address=True, start_serving=False)
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise CollectorError(
                f"cannot listen on {self.bind_address}: {why} (the setting `bind` in "
                "sources.yaml, or COLLECTOR_BIND)") from None
        # aiohttp's reports of clients' malformed requests go to this server's tally
        logging.getLogger("aiohttp.server").addFilter(self._client_errors)
        if self.port == 0:  # an ephemeral port (tests): learn which one was given
            sockets = self._listener.sockets
            if sockets:
                self.port = int(sockets[0].getsockname()[1])

    async def start(self) -> None:
        await self.bind()
        assert self._listener is not None and self.guard is not None
        await self._listener.start_serving()
        self.guard.start()
        log.info("HTTP server listening on %s (at most %d connections)", self.url,
                 self.max_connections)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self.guard is not None:
            await self.guard.stop()
            self.guard.close_idle()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        logging.getLogger("aiohttp.server").removeFilter(self._client_errors)

    @property
    def names(self) -> dict[str, str]:
        """Source id → organisation name, from the configuration in force (reloads change it)."""
        return {s.id: s.name for s in self.config.sources}

    @property
    def feeds(self) -> set[str]:
        return {"all"} | {d.id for d in self.config.digests if d.channel == "feed"}

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- application ---------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors])
        register_pages(app, Pages(self))
        register_api(app, Api(self))
        app.router.add_get("/d/{doc_id}", self.document)
        app.router.add_get("/feeds/{feed}", self.feed)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_text)
        app.on_response_prepare.append(self._headers)
        return app

    @staticmethod
    async def _headers(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        response.headers["Server"] = "collector"

    @web.middleware
    async def _errors(self, request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
        try:
            return await self._answer(request, handler)
        finally:
            if self.guard is not None:
                self.guard.answered(request.transport)

    async def _answer(self, request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
        try:
            return await handler(request)
        except _Problem as p:
            return self._error_page(p.status, p.message)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            if exc.status == 404:
                message = f"There is no page at {_echo(request.path)}."
            elif exc.status == 405:
                message = f"{_echo(request.method)} is not allowed here; this site is read-only."
            else:
                message = exc.reason
            response = self._error_page(exc.status, message)
            if "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        except StoreError as exc:
            log.warning("HTTP %s: %s", request.path, exc)
            return self._error_page(503, "The database is not answering; try again shortly.")
        except Exception:
            log.exception("HTTP %s: unexpected error", request.path)
            return self._error_page(500, "Something went wrong on the server.")

    def _error_page(self, status: int, message: str) -> web.Response:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        return self._html("error.html.j2", status, status=status, reason=reason,
                          message=message)

    def _html(self, template: str, http_status: int = 200, /, **context: Any) -> web.Response:
        context.setdefault("query", "")
        context.setdefault("active", "")
        html = self.env.get_template(template).render(css=Markup(CSS),
                                                      max_query=MAX_QUERY_CHARS, **context)
        return web.Response(text=html, status=http_status, content_type="text/html",
                            charset="utf-8", headers={"Cache-Control": "no-cache"})

    # -- what collector.web.pages uses ---------------------------------------------------------

    def render(self, template: str, /, **context: Any) -> web.Response:
        """A page rendered from `template` (status 200)."""
        return self._html(template, 200, **context)

    @staticmethod
    def problem(status: int, message: str) -> Exception:
        """The exception that makes the server answer with an error page saying `message`."""
        return _Problem(status, message)

    def page_number(self, request: web.Request) -> int:
        return self._page(request)

    def accept_config(self, config: Config) -> None:
        """A reloaded configuration is in force: pages, feeds and metrics use it."""
        self.config = config
        self.refused_reload = ()

    def refuse_config(self, problems: list[str]) -> None:
        """A reload was refused: the sources page shows why until a good one is accepted."""
        self.refused_reload = tuple(problems)

    def reload_errors(self) -> list[str]:
        """Problems of the last refused reload of sources.yaml (none when it was accepted)."""
        return list(self.refused_reload)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _page(request: web.Request) -> int:
        raw = request.query.get("page", "1")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
            raise _Problem(400, f"The page number must be a whole number from 1 to {MAX_PAGE}, "
                                f"not {_echo(raw)!r}.")
        return int(raw)

    def _organisation(self, source_id: str) -> str:
        return self.names.get(source_id, source_id)

    # -- pages ---------------------------------------------------------------------------------

    async def document(self, request: web.Request) -> web.Response:
        doc_id = request.match_info["doc_id"]
        doc = None
        if _DOC_ID.match(doc_id):
            doc = await asyncio.to_thread(self.store.document_by_id, doc_id)
        if doc is None:
            raise _Problem(404, f"There is no document {_echo(doc_id)!r}.")
        locations = await asyncio.to_thread(self.store.locations, [doc.id])
        try:
            blocks = parse_document(doc.text).blocks
        except ValueError:
            blocks = ()
        places = [_Place(self._organisation(loc.source_id), loc.url, loc.seen_at, loc.how)
                  for loc in locations.get(doc.id, []) if loc.how != "alias"]
        story = await asyncio.to_thread(history.build, self.store, doc.id)
        capture = await asyncio.to_thread(stored_captures.latest, self.store, doc.id)
        return self._html("document.html.j2", doc=doc, blocks=blocks, locations=places,
                          history=story, organisation=self._organisation(doc.source_id),
                          file_name=file_name(doc.seq, doc.id), capture=capture)

    async def feed(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["feed"]
        feed_id = name[:-len(".atom")] if name.endswith(".atom") else None
        # Only known feed ids map to files: nothing from the URL reaches the file system.
        if feed_id is None or feed_id not in self.feeds:
            raise _Problem(404, f"There is no feed {_echo(name)!r}.")
        path = (self.digests.feed_path(feed_id) if self.digests is not None
                else self.config.settings.feeds_dir / f"{feed_id}.atom")
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise _Problem(404, f"The feed {feed_id!r} has not been written yet.") from None
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            return web.Response(status=304, headers=headers)
        return web.Response(body=data, content_type=ATOM_TYPE, charset="utf-8", headers=headers)

    # -- health and metrics --------------------------------------------------------------------

    async def _database_error(self) -> str | None:
        try:
            # max(seq) is one index lookup, so this asks the database a question whatever
            # its size, without scanning anything.
            await asyncio.wait_for(asyncio.to_thread(self.store.max_seq), HEALTH_DB_TIMEOUT_S)
        except TimeoutError:
            return f"no answer within {HEALTH_DB_TIMEOUT_S:.0f} s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        return None

    async def healthz(self, request: web.Request) -> web.Response:
        last = self.last_tick() if self.last_tick is not None else None
        database_error = await self._database_error()
        report = judge_health(database_error=database_error,
                              scheduler=self.last_tick is not None, last_tick=last,
                              now=self.clock(), max_tick_age_s=self.max_tick_age_s)
        body = report.body()
        if database_error is None:
            # Listed, but the status stays 200: a restart does not cure a quarantined source,
            # only `collector sources release` (or a new URL) does.
            body["quarantined"] = await self._quarantined()
            body["sources"] = await self._source_counts()
        return web.Response(text=json.dumps(body), status=200 if report.ok else 503,
                            content_type="application/json", headers={"Cache-Control": "no-store"})

    async def _quarantined(self) -> list[dict[str, str | None]]:
        try:
            rows = await asyncio.wait_for(
                asyncio.to_thread(self.store.sources_in_health, "quarantined"),
                HEALTH_DB_TIMEOUT_S)
        except Exception:  # the database check above answered; this is only an extra
            return []
        return [{"id": sid, "reason": error} for sid, error in rows if sid in self.names]

    async def _source_counts(self) -> dict[str, int]:
        """Sources per health state, judged now as every other surface judges them."""
        try:
            states = await asyncio.wait_for(asyncio.to_thread(source_states_light, self.store),
                                            HEALTH_DB_TIMEOUT_S)
        except Exception:  # an extra, like the quarantined list
            return {}
        now = self.clock()
        enabled = {s.id: s.enabled for s in self.config.sources}
        return dict(health_module.counts(
            health_module.source_health(st, now, enabled=enabled[st.id])
            for st in states if st.id in enabled))

    def _store_samples(self) -> list[metrics_module.Sample]:
        S = metrics_module.Sample
        samples = [S("collector_documents", "Documents stored in the database.", (),
                     self.store.count_documents())]
        pending = self.store.count_pending()
        digests = {d.id for d in self.config.digests} | set(pending)
        samples += [S("collector_digest_pending", "Statements waiting for a digest.",
                      (("digest", d),), pending.get(d, 0)) for d in sorted(digests)]
        now = self.clock()
        enabled = {s.id: s.enabled for s in self.config.sources}
        states = [s for s in self.store.source_states() if s.id in enabled]
        words = {s.id: health_module.source_health(s, now, enabled=enabled[s.id])
                 for s in states}
        counts = Counter(words.values())
        samples += [S("collector_sources", "Configured sources, by health state.",
                      (("health", h),), counts.get(h, 0))
                    for h in sorted(set(HEALTH_STATES) | set(counts))]
        samples += [S("collector_source_health", "The health state of a source (1 = current).",
                      (("source", s.id), ("health", words[s.id])), 1) for s in states]
        samples += [S("collector_source_consecutive_failures",
                      "Failed polls in a row of a source.", (("source", s.id),),
                      s.consecutive_failures) for s in states]
        return samples

    async def metrics_text(self, request: web.Request) -> web.Response:
        S = metrics_module.Sample
        extra: list[metrics_module.Sample] = []
        try:
            extra = await asyncio.to_thread(self._store_samples)
            extra.append(S("collector_database_up", "1 when the database answered this scrape.",
                           (), 1))
        except Exception as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            extra = [S("collector_database_up", "1 when the database answered this scrape.",
                       (), 0)]
        if self.last_tick is not None:
            last = self.last_tick()
            if last is not None:
                extra.append(S("collector_scheduler_last_tick_age_seconds",
                               "Seconds since the scheduler last finished a tick.", (),
                               max(0.0, (self.clock() - last).total_seconds())))
        return web.Response(text=self.metrics.render(extra),
                            headers={"Content-Type": METRICS_TYPE, "Cache-Control": "no-store"})
