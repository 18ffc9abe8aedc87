"""The read-only JSON API, under /api/v1/ on the service's HTTP server.

    GET /api/v1/documents        statements in sequence order, filtered, a page at a time
    GET /api/v1/documents/<id>   one statement: its record, text, locations and revisions
    GET /api/v1/sources          every configured source with its health (`status --json`)
    GET /api/v1/openapi.json     the OpenAPI 3.1 description of all this

The records are the ones `collector export` writes (collector.store.query), the filters the
export's (collector.selection), the health the status command's (collector.status). A list is
paged by an opaque cursor that stands for the last sequence number returned: sequence numbers
are committed in order (see collector.store.query), so paging loses or repeats nothing while
statements are inserted, and a client that keeps the last cursor asks later for what is new.

Access: with bearer tokens in COLLECTOR_API_TOKENS (comma-separated), every request must carry
one (`Authorization: Bearer <token>`), compared in constant time. Without tokens the API answers
only clients on loopback (a reverse proxy on the same host counts as one, and does its own
authentication): a copy of the whole corpus is a loop of requests away, so it is not handed to
any address that can reach a non-loopback bind; the start-up log says so when the bind is not a
loopback address. Every answer is JSON, errors included: `{"error": {"status", "message",
"parameter"}}`, `parameter` naming the query parameter that was wrong (400).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import status as status_module
from ..errors import CollectorError, StoreError
from ..selection import WHOLE_NUMBER, Selection, SelectionError
from ..selection import build as build_selection
from ..store import query
from ..store.browse import count_baseline
from .openapi import DEFAULT_LIMIT, MAX_LIMIT
from .openapi import document as openapi_document

if TYPE_CHECKING:
    from ..server import HttpServer

log = logging.getLogger("collector.api")

PREFIX = "/api/v1/"
TOKENS_ENV = "COLLECTOR_API_TOKENS"
#: Shortest token accepted: 16 characters of a random token are beyond guessing over HTTP.
MIN_TOKEN_CHARS = 16
#: Query parameters of the list, and those that may be given more than once.
LIST_PARAMETERS = frozenset({"source", "tag", "language", "since", "until", "after_seq",
                             "cursor", "limit", "text"})
REPEATABLE = frozenset({"source"})
_DOC_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
_CURSOR_PREFIX = "s1:"


class ApiError(Exception):
    def __init__(self, status: int, message: str, parameter: str | None = None,
                 headers: dict[str, str] | None = None):
        self.status = status
        self.message = message
        self.parameter = parameter
        self.headers = headers or {}
        super().__init__(message)


def tokens_from_env(environ: dict[str, str] | os._Environ[str] = os.environ
                    ) -> tuple[str, ...]:
    """The bearer tokens configured (none: the API serves loopback clients only)."""
    tokens = tuple(t.strip() for t in environ.get(TOKENS_ENV, "").split(",") if t.strip())
    short = [t for t in tokens if len(t) < MIN_TOKEN_CHARS]
    if short:
        raise CollectorError(f"environment variable {TOKENS_ENV}: a token of {len(short[0])} "
                             f"characters is too easy to guess; use at least "
                             f"{MIN_TOKEN_CHARS} random characters per token")
    return tokens


def token_matches(given: str, tokens: tuple[str, ...]) -> bool:
    """Whether `given` is one of `tokens`, compared in constant time (every token is compared,
    whatever matched first)."""
    raw = given.encode("utf-8")
    found = False
    for token in tokens:
        found |= hmac.compare_digest(raw, token.encode("utf-8"))
    return found


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    number = raw[len(_CURSOR_PREFIX):]
    if not raw.startswith(_CURSOR_PREFIX) or not WHOLE_NUMBER.fullmatch(number):
        raise ApiError(400, "cursor is not one this API gave out (use next_cursor of a "
                            "previous page as it is)", "cursor")
    return int(number)


def _flag(value: str, parameter: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no", ""):
        return False
    raise ApiError(400, f"{parameter} must be true or false", parameter)


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not WHOLE_NUMBER.fullmatch(value.strip()) or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}", "limit")
    return int(value)


class Api:
    """The handlers; `server` gives the configuration (at request time) and the store."""

    def __init__(self, server: HttpServer, tokens: tuple[str, ...] | None = None):
        self.server = server
        self.tokens = tokens_from_env() if tokens is None else tokens
        if not self.tokens and not is_loopback(server.host):
            log.warning("the JSON API (%s) answers loopback clients only: %s is not set and "
                        "the server listens on %s", PREFIX, TOKENS_ENV, server.bind_address)

    # -- the guard every request passes --------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        try:
            self._admit(request)
            return await handler(request)
        except ApiError as exc:
            return _error(exc.status, exc.message, exc.parameter, exc.headers)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            message = (f"{request.method} is not allowed here; the API is read-only"
                       if exc.status == 405 else f"there is nothing at {request.path[:200]}")
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
            return _error(exc.status, message if exc.status in (404, 405) else exc.reason,
                          None, headers)
        except StoreError as exc:
            log.warning("API %s: %s", request.path, exc)
            return _error(503, "the database is not answering; try again shortly")
        except Exception:
            log.exception("API %s: unexpected error", request.path)
            return _error(500, "something went wrong on the server")

    def _admit(self, request: web.Request) -> None:
        if self.tokens:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            challenge = {"WWW-Authenticate": 'Bearer realm="collector"'}
            if scheme.lower() != "bearer" or not given.strip():
                raise ApiError(401, "a bearer token is required (Authorization: Bearer ...)",
                               headers=challenge)
            if not token_matches(given.strip(), self.tokens):
                raise ApiError(401, "the bearer token is not valid", headers={
                    "WWW-Authenticate": 'Bearer realm="collector", error="invalid_token"'})
            return
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if not is_loopback(peer[0] if peer else None):
            raise ApiError(403, f"the API answers clients on loopback only until bearer "
                                f"tokens are set ({TOKENS_ENV})")

    # -- endpoints -----------------------------------------------------------------------------

    def _selection(self, request: web.Request) -> tuple[Selection, int | None]:
        q = request.query
        for name in q:
            if name not in LIST_PARAMETERS:
                raise ApiError(400, f"unknown parameter {name[:40]!r} (parameters: "
                                    f"{', '.join(sorted(LIST_PARAMETERS))})", name[:40])
            if name not in REPEATABLE and len(q.getall(name)) > 1:
                raise ApiError(400, f"{name} is given more than once", name)
        sources = self.server.config.sources
        try:
            known = {s.id for s in sources} | query.source_ids(self.server.store)
            chosen = build_selection(
                sources=q.getall("source", []), tag=q.get("tag"), language=q.get("language"),
                since=q.get("since"), until=q.get("until"), after_seq=q.get("after_seq"),
                tags={s.id: s.tags for s in sources}, known=known)
        except SelectionError as exc:
            raise ApiError(400, str(exc), exc.parameter) from None
        cursor = decode_cursor(q["cursor"]) if "cursor" in q else None
        after = max((v for v in (chosen.after_seq, cursor) if v is not None), default=None)
        return chosen, after

    async def documents(self, request: web.Request) -> web.Response:
        limit = _limit(request.query.get("limit"))
        text = _flag(request.query.get("text", ""), "text")
        chosen, after = await asyncio.to_thread(self._selection, request)
        records = await asyncio.to_thread(query.records_after, self.server.store,
                                          chosen.filters, after, limit + 1, text=text)
        page = records[:limit]
        last = int(page[-1]["seq"]) if page else after
        return _json({"documents": page, "has_more": len(records) > limit,
                      "next_cursor": encode_cursor(last) if last is not None else None})

    async def document(self, request: web.Request) -> web.Response:
        doc_id = request.match_info["doc_id"]
        detail = None
        if _DOC_ID.match(doc_id):
            detail = await asyncio.to_thread(query.document_detail, self.server.store, doc_id)
        if detail is None:
            raise ApiError(404, f"there is no document {doc_id[:64]!r}")
        return _json(detail)

    async def sources(self, request: web.Request) -> web.Response:
        if request.query:
            name = next(iter(request.query))[:40]
            raise ApiError(400, f"unknown parameter {name!r} (this list takes none)", name)
        srv = self.server
        store = srv.store

        def read() -> dict[str, Any]:
            now = srv.clock()
            reports = status_module.build(srv.config.sources, store.source_states(), now)
            return status_module.to_json(
                reports, now=now, documents=store.count_documents(),
                pending=store.count_pending(), baseline=count_baseline(store),
                digests=[d.id for d in srv.config.digests])

        return _json(await asyncio.to_thread(read))

    async def openapi(self, request: web.Request) -> web.Response:
        return _json(openapi_document())


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps,
                             headers={"Cache-Control": "no-store", **(headers or {})})


def _error(status: int, message: str, parameter: str | None = None,
           headers: dict[str, str] | None = None) -> web.Response:
    return _json({"error": {"status": status, "message": message, "parameter": parameter}},
                 status, headers)


def register(app: web.Application, api: Api) -> None:
    """The API as a sub-application under /api/v1/, with its own guard and JSON errors."""
    sub = web.Application(middlewares=[api.middleware])
    sub.router.add_get("/documents", api.documents)
    sub.router.add_get("/documents/{doc_id}", api.document)
    sub.router.add_get("/sources", api.sources)
    sub.router.add_get("/openapi.json", api.openapi)
    app.add_subapp(PREFIX, sub)
