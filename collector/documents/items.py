"""Items that are documents, and article pages that only point at one, for the poller.

`parse_fetched` parses a fetched PDF, DOCX or ODT in the pipeline's parse pool (queued under its
source, like every other parse, so a source of hostile documents waits its turn) and applies the
order of trust for the date (the listing row's first); `pointed_document` follows a page that
is only a link to its document; `places` lists the other addresses to record with a stored
statement. The pipeline calls these; it owns fetching policy and the store.
"""

from __future__ import annotations

import dataclasses
import logging

from .. import limits
from ..config import Source
from ..errors import ExtractError, FetchError
from ..fetch import Fetcher, FetchPolicy
from ..isolate import Isolator
from ..models import Candidate, Extracted, Fetched
from . import kind_of, mentions_document
from .links import MAX_POINTER_WORDS, document_link
from .parse import parse_document

log = logging.getLogger("collector.documents")


async def parse_fetched(pool: Isolator, source: Source, cand: Candidate, fetched: Fetched,
                        kind: str, fallback_title: str | None = None) -> Extracted:
    """A fetched document as a statement. Every error names the source and the URL."""
    url = fetched.final_url
    try:
        parsed = await pool.run(parse_document, fetched.content, kind, url=url,
                                source_id=source.id,
                                fallback_title=fallback_title or cand.title,
                                timeout_s=limits.DOCUMENT_TIMEOUT_S, queue_key=source.id)
    except ExtractError as exc:
        if url in str(exc):
            raise
        raise type(exc)(f"source {source.id}: {url}: {exc}") from None
    return dataclasses.replace(parsed.extracted, pages=parsed.pages,
                               published=cand.published or parsed.extracted.published)


async def pointed_document(pool: Isolator, fetcher: Fetcher, policy: FetchPolicy,
                           source: Source, cand: Candidate, html: str, url: str, page: Extracted
                           ) -> tuple[str, Extracted, str] | None:
    """(seen key, statement, document URL) when the page at `url` is mostly a link to its
    document, with the page kept as a location; None otherwise."""
    if page.word_count > MAX_POINTER_WORDS or not mentions_document(html):
        # a page with a text of its own, or one naming no document (most pages): no second
        # parse, which would wait in the parse workers' queue behind other sources' parses
        return None
    link = await pool.run(document_link, html, url, page_words=page.word_count,
                          language=source.language, timeout_s=limits.EXTRACT_TIMEOUT_S,
                          queue_key=source.id)
    if not link or link == url:
        return None
    try:
        fetched = await fetcher.fetch(link, policy=policy)
    except FetchError as exc:
        log.info("source %s: %s links to %s, which could not be fetched: %s", source.id, url,
                 link, exc)
        return None
    kind = kind_of(fetched.content, fetched.content_type, fetched.final_url)
    if kind is None:
        return None
    ex = await parse_fetched(pool, source, cand, fetched, kind,
                             fallback_title=cand.title or page.title)
    if ex.published is None and page.published is not None:
        ex = dataclasses.replace(ex, published=page.published)
    ex = dataclasses.replace(ex, locations=((url, "page"), *ex.locations), fetched=fetched)
    return cand.key, ex, fetched.final_url


def places(cand: Candidate, ex: Extracted, url: str) -> list[tuple[str, str]]:
    """The other addresses of the statement stored at `url`, as (url, how): the page that only
    linked to its document ("page"), a listing row's other languages and formats
    ("variant")."""
    return [*ex.locations, *((alt, "variant") for alt in cand.alternates if alt != url)]
