"""The pages people read: the latest statements, search, the sources, one organisation.

    /            latest statements (filters: org, tag, lang, from, to; sort=published|collected)
    /search?q=   full-text search, with the same filters
    /sources     every source, worst health first, with counts by state at the top
    /o/<id>      one organisation: its health, its latest polls, its last errors and its
                 statements

Each handler reads the configuration through the server at request time (a reload changes
it), asks the store in a thread, and renders a template; `collector.server` registers the
routes and owns the rest of HTTP. The health word and the error in words come from
`collector.health`, like every other surface's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from .. import health as health_module
from .. import status as status_module
from ..config import Source
from ..store import PollRecord, SourceState, StoredDocument, browse
from ..store.search import MAX_LIMIT, MAX_QUERY_CHARS
from ..store.search import search as search_documents

if TYPE_CHECKING:
    from ..server import HttpServer

#: Statements per page of a list: enough to scan a day's statements, small enough that a page
#: stays a few dozen kilobytes.
PAGE_SIZE = 50
#: Highest page number served; deeper pages cost the database an OFFSET scan for nothing a
#: reader needs (filters and search narrow better).
MAX_PAGE = 1000
SORTS = {"published": "publication date", "collected": "collection date"}
#: The date column's heading for each sort (publication falls back to collection when a
#: statement gives no date).
DATE_LABELS = {"published": "Published", "collected": "Collected"}


class BadRequest(Exception):
    """A filter a person typed that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Org:
    id: str
    name: str
    known: bool = True            # configured now (has a page); False for a removed source


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    org: Org
    date: str
    date_iso: str
    also: tuple[Org, ...]


@dataclass(frozen=True)
class Poll:
    """One row of an organisation's poll history, in words."""

    at: datetime
    ok: bool
    result: str                       # "Succeeded", "Unchanged" or "Failed"
    found: str
    elapsed: str
    error_words: str | None
    error: str | None                 # the raw error, shown on request


def _poll_view(p: PollRecord, url: str) -> Poll:
    if not p.ok:
        result = "Failed"
    elif p.not_modified:
        result = "Unchanged"
    else:
        result = "Succeeded"
    found = "" if p.not_modified and p.ok else (
        f"{p.new_documents} new, {p.duplicates} duplicate{'s' if p.duplicates != 1 else ''}")
    if not p.ok and not (p.new_documents or p.duplicates):
        found = ""
    words = health_module.describe_error(p.error_kind, p.error, url) if not p.ok else None
    raw = f"{p.error_kind or 'error'}: {p.error}" if not p.ok and p.error else None
    return Poll(p.polled_at, p.ok, result, found, f"{p.elapsed_s:.1f} s", words, raw)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class ListView:
    """What the filter form and a list of statements need from the query string."""

    org: str
    tag: str
    lang: str
    since: str
    until: str
    sort: browse.Sort
    filters: browse.Filters

    def params(self, **extra: str) -> dict[str, str]:
        values = {"org": self.org, "tag": self.tag, "lang": self.lang, "from": self.since,
                  "to": self.until, "sort": "" if self.sort == "published" else self.sort}
        return {k: v for k, v in {**extra, **values}.items() if v}

    @property
    def active(self) -> bool:
        return any((self.org, self.tag, self.lang, self.since, self.until))


def _sort(value: str) -> browse.Sort:
    value = value.strip() or "published"
    if value == "published":
        return "published"
    if value == "collected":
        return "collected"
    raise BadRequest(f"Sort by 'published' or 'collected', not {value[:40]!r}.")


def _day(value: str, what: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"The {what} date must look like 2024-05-31, not {value[:40]!r}.") \
            from None


def parse_view(query: Any, sources: tuple[Source, ...]) -> ListView:
    """The filters of a list page from its query string (validated, in words when wrong)."""
    org = query.get("org", "").strip()
    tag = query.get("tag", "").strip()
    lang = query.get("lang", "").strip()[:16]
    sort = _sort(query.get("sort", ""))
    since = _day(query.get("from", ""), "from")
    until = _day(query.get("to", ""), "to")
    if since and until and until < since:
        raise BadRequest("The 'to' date is before the 'from' date.")
    ids: tuple[str, ...] | None = None
    known = {s.id for s in sources}
    if org:
        if org not in known:
            raise BadRequest(f"There is no organisation {org[:64]!r}.")
        ids = (org,)
    if tag:
        tagged = tuple(s.id for s in sources if tag in s.tags)
        ids = tagged if ids is None else tuple(i for i in ids if i in tagged)
    filters = browse.Filters(
        sources=ids, language=lang or None,
        since=datetime.combine(since, time(), UTC) if since else None,
        # "to" is a whole day: everything before the next midnight
        until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None)
    return ListView(org, tag, lang, since.isoformat() if since else "",
                    until.isoformat() if until else "", sort, filters)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Pages:
    """The handlers; `server` gives the configuration, the store and rendering."""

    def __init__(self, server: HttpServer):
        self.server = server

    # -- shared pieces --------------------------------------------------------------------------

    def _orgs(self) -> dict[str, str]:
        return {s.id: s.name for s in self.server.config.sources}

    def _org(self, source_id: str, names: dict[str, str] | None = None) -> Org:
        names = names if names is not None else self._orgs()
        return Org(source_id, names.get(source_id, source_id), source_id in names)

    def _view(self, request: web.Request) -> ListView:
        try:
            return parse_view(request.query, self.server.config.sources)
        except BadRequest as exc:
            raise self.server.problem(400, str(exc)) from None

    async def _rows(self, docs: list[StoredDocument], sort: browse.Sort) -> list[Row]:
        store = self.server.store
        locations = await asyncio.to_thread(store.locations, [d.id for d in docs])
        names = self._orgs()
        rows = []
        for d in docs:
            also: list[Org] = []
            for loc in locations.get(d.id, []):
                org = self._org(loc.source_id, names)
                if (loc.how not in ("original", "alias") and loc.source_id != d.source_id
                        and org not in also):
                    also.append(org)
            when = d.collected_at if sort == "collected" else (d.published_at
                                                                or d.collected_at)
            rows.append(Row(d.id, d.title, self._org(d.source_id, names),
                            when.astimezone(UTC).strftime("%Y-%m-%d"), _iso(when),
                            tuple(also)))
        return rows

    def _form(self, view: ListView, languages: list[str]) -> dict[str, Any]:
        sources = sorted(self.server.config.sources, key=lambda s: s.name.casefold())
        tags = sorted({t for s in self.server.config.sources for t in s.tags})
        return {"view": view,
                "org_choices": [Choice(s.id, s.name) for s in sources],
                "tag_choices": [Choice(t, t) for t in tags],
                "lang_choices": [Choice(lang, lang) for lang in languages],
                "sort_choices": [Choice(k, v) for k, v in SORTS.items()]}

    @staticmethod
    def _page_links(path: str, page: int, more: bool, params: dict[str, str]
                    ) -> dict[str, str | None]:
        def link(n: int) -> str:
            query = {**params, "page": str(n)} if n > 1 else dict(params)
            return path + ("?" + urlencode(query) if query else "")

        return {"newer_url": link(page - 1) if page > 1 else None,
                "older_url": link(page + 1) if more and page < MAX_PAGE else None}

    def _caption(self, view: ListView, lead: str, page: int) -> str:
        parts = [lead]
        if view.org:
            parts.append(f"from {self._org(view.org).name}")
        if view.tag:
            parts.append(f"tagged {view.tag}")
        if view.lang:
            parts.append(f"in {view.lang}")
        if view.since:
            parts.append(f"from {view.since}")
        if view.until:
            parts.append(f"to {view.until}")
        return (" ".join(parts) + f", newest first by {SORTS[view.sort]} (page {page})")

    # -- pages ----------------------------------------------------------------------------------

    async def latest(self, request: web.Request) -> web.Response:
        srv = self.server
        page = srv.page_number(request)
        view = self._view(request)
        docs = await asyncio.to_thread(browse.list_documents, srv.store, view.filters,
                                       sort=view.sort,
                                       limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        languages = await asyncio.to_thread(browse.languages, srv.store)
        # why digests hold nothing although statements are listed (first polls' baseline)
        note = await self._baseline_note() if page == 1 and not view.active else None
        rows = await self._rows(docs[:PAGE_SIZE], view.sort)
        return srv.render("latest.html.j2", active="latest", rows=rows, page=page,
                          date_label=DATE_LABELS[view.sort],
                          caption=self._caption(view, "Statements", page),
                          baseline_note=note,
                          **self._form(view, languages),
                          **self._page_links("/", page, len(docs) > PAGE_SIZE, view.params()))

    async def _baseline_note(self) -> str | None:
        srv = self.server
        pending = await asyncio.to_thread(srv.store.count_pending)
        baseline = await asyncio.to_thread(browse.count_baseline, srv.store)
        documents = await asyncio.to_thread(srv.store.count_documents)
        if not srv.config.digests:
            return None
        return status_module.baseline_note(
            documents=documents, baseline=baseline,
            pending=sum(pending.get(d.id, 0) for d in srv.config.digests))

    async def search(self, request: web.Request) -> web.Response:
        srv = self.server
        query = request.query.get("q", "")[:MAX_QUERY_CHARS].strip()
        page = srv.page_number(request)
        view = self._view(request)
        rows: list[Row] = []
        more = False
        if query:
            # The best MAX_LIMIT matches are ranked, then filtered and paged: a search narrows
            # to a few hundred statements long before anyone pages that far.
            docs = await asyncio.to_thread(search_documents, srv.store, query, MAX_LIMIT, 0)
            if view.active:
                keep = await asyncio.to_thread(browse.matching_seqs, srv.store,
                                               [d.seq for d in docs], view.filters, view.sort)
                docs = [d for d in docs if d.seq in keep]
            start = (page - 1) * PAGE_SIZE
            more = len(docs) > start + PAGE_SIZE
            rows = await self._rows(docs[start:start + PAGE_SIZE], view.sort)
        languages = await asyncio.to_thread(browse.languages, srv.store)
        caption = self._caption(view, f"Statements containing every word of “{query}”", page)
        caption = caption.replace(", newest first by", ", best match first; dates by")
        return srv.render("search.html.j2", query=query, rows=rows, page=page, caption=caption,
                          date_label=DATE_LABELS[view.sort],
                          **self._form(view, languages),
                          **self._page_links("/search", page, more, view.params(q=query)))

    async def sources(self, request: web.Request) -> web.Response:
        srv = self.server
        states = await asyncio.to_thread(srv.store.source_states)
        reports = status_module.build(srv.config.sources, states, srv.clock())
        summary = health_module.counts(r.health for r in reports)
        return srv.render("sources.html.j2", active="sources", reports=reports,
                          summary=summary, reload_errors=srv.reload_errors())

    async def organisation(self, request: web.Request) -> web.Response:
        srv = self.server
        source_id = request.match_info["source_id"]
        source = next((s for s in srv.config.sources if s.id == source_id), None)
        if source is None:
            raise srv.problem(404, f"There is no organisation {source_id[:64]!r}.")
        page = srv.page_number(request)
        try:
            sort = _sort(request.query.get("sort", ""))
        except BadRequest as exc:
            raise srv.problem(400, str(exc)) from None
        # every source's state with its document counts (the same read as the sources page);
        # None for a source a reload added that no tick has registered yet
        states = await asyncio.to_thread(srv.store.source_states)
        state: SourceState | None = next((st for st in states if st.id == source_id), None)
        reports = (status_module.build((source,), [state], srv.clock())
                   if state is not None else [])
        report = reports[0] if reports else None
        filters = browse.Filters(sources=(source_id,))
        docs = await asyncio.to_thread(browse.list_documents, srv.store, filters,
                                       sort=sort,
                                       limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        items = await asyncio.to_thread(browse.item_errors, srv.store, source_id)
        history = await asyncio.to_thread(browse.poll_history, srv.store, source_id)
        polls = [_poll_view(p, (state.resolved_url if state else None) or source.url)
                 for p in history]
        summary = health_module.summarise_polls(history, state) if history else None
        rows = await self._rows(docs[:PAGE_SIZE], sort)
        params: dict[str, str] = {"sort": sort} if sort != "published" else {}
        return srv.render(
            "organisation.html.j2", active="sources", source=source, report=report,
            rows=rows, page=page, item_errors=items, polls=polls, poll_summary=summary,
            date_label=DATE_LABELS[sort],
            caption=f"Statements of {source.name}, newest first by {SORTS[sort]} (page {page})",
            **self._page_links(f"/o/{source_id}", page, len(docs) > PAGE_SIZE, params))


def register(app: web.Application, pages: Pages) -> None:
    """The routes of these pages."""
    app.router.add_get("/", pages.latest)
    app.router.add_get("/search", pages.search)
    app.router.add_get("/sources", pages.sources)
    app.router.add_get("/o/{source_id}", pages.organisation)
