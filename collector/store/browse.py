"""Reading stored statements the way the web page lists them: filtered, sorted, paged.

Filters: the organisations (source ids) that published a statement - as its original or
anywhere it was found again -, its language, and a date range; sorting by publication date
(falling back to the collection date when a statement has none) or by collection date. Also
the few counts the status surfaces need (statements kept out of digests as a first poll's
baseline, failed items of a source), and a source's latest polls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, exists, func, select

from . import PollRecord, SourceState, Store, StoredDocument, _doc_view, _state_view
from .tables import DocumentRow, Location, PollRow, SeenItem, SourceRow

Sort = Literal["published", "collected"]

#: Failed items of one source shown on its page: the latest are what someone acts on.
MAX_ITEM_ERRORS = 20
#: Polls of one source shown on its page: a day or more at the usual intervals, and a table
#: that stays short on a phone.
MAX_POLLS_SHOWN = 20


@dataclass(frozen=True)
class Filters:
    """What a list of statements is narrowed to; None or empty means "any"."""

    sources: tuple[str, ...] | None = None   # organisations; None = all, () = none
    language: str | None = None
    since: datetime | None = None            # aware; inclusive, on the date sorted by
    until: datetime | None = None            # aware; exclusive

    @property
    def empty(self) -> bool:
        return self.sources == ()


@dataclass(frozen=True)
class ItemError:
    url: str | None
    detail: str | None
    seen_at: datetime
    attempts: int


def _date_column(sort: Sort) -> Any:
    if sort == "published":
        return func.coalesce(DocumentRow.published_at, DocumentRow.collected_at)
    return DocumentRow.collected_at


def where(filters: Filters, sort: Sort = "published") -> list[Any]:
    """The SQL conditions of `filters` on the documents table (`sort` names the date the
    range is on)."""
    conditions: list[Any] = []
    if filters.sources is not None:
        ids = list(filters.sources)
        conditions.append(exists().where(and_(Location.document_id == DocumentRow.id,
                                              Location.source_id.in_(ids))))
    if filters.language:
        conditions.append(DocumentRow.language == filters.language)
    column = _date_column(sort)
    if filters.since is not None:
        conditions.append(column >= filters.since)
    if filters.until is not None:
        conditions.append(column < filters.until)
    return conditions


def list_documents(store: Store, filters: Filters, *, sort: Sort = "published", limit: int = 50,
                   offset: int = 0) -> list[StoredDocument]:
    """Statements matching `filters`, newest first by `sort`."""
    if filters.empty or limit <= 0:
        return []
    column = _date_column(sort)
    q = (select(DocumentRow).where(*where(filters, sort))
         .order_by(column.desc(), DocumentRow.seq.desc()).limit(limit).offset(max(offset, 0)))
    with store.session(read=True) as s:
        return [_doc_view(r) for r in s.scalars(q)]


def matching_seqs(store: Store, seqs: Sequence[int], filters: Filters,
                  sort: Sort = "published") -> set[int]:
    """Which of the documents `seqs` (e.g. search results) pass `filters`."""
    if filters.empty or not seqs:
        return set()
    with store.session(read=True) as s:
        return {int(r) for r in s.scalars(select(DocumentRow.seq).where(
            DocumentRow.seq.in_(list(seqs)), *where(filters, sort)))}


def languages(store: Store) -> list[str]:
    """The languages stored statements are in, most common first."""
    with store.session(read=True) as s:
        return [str(lang) for lang, _n in s.execute(
            select(DocumentRow.language, func.count()).where(DocumentRow.language.is_not(None))
            .group_by(DocumentRow.language).order_by(func.count().desc(), DocumentRow.language))]


def count_baseline(store: Store) -> int:
    """Statements stored by first polls as the baseline (kept out of digests)."""
    with store.session(read=True) as s:
        return int(s.scalar(select(func.count()).select_from(DocumentRow)
                            .where(DocumentRow.backfill.is_(True))) or 0)


def item_errors(store: Store, source_id: str, limit: int = MAX_ITEM_ERRORS) -> list[ItemError]:
    """The latest items of a source whose page could not be fetched or extracted."""
    with store.session(read=True) as s:
        return [ItemError(r.url, r.detail, r.first_seen_at, r.attempts or 1)
                for r in s.scalars(select(SeenItem).where(
                    SeenItem.source_id == source_id, SeenItem.status.in_(("failed", "retry")))
                    .order_by(SeenItem.first_seen_at.desc(), SeenItem.id.desc()).limit(limit))]


def source_states_light(store: Store) -> list[SourceState]:
    """Every source's state without its document counts: one pass over the sources table,
    cheap enough for a health probe whatever the number of documents."""
    with store.session(read=True) as s:
        return [_state_view(r) for r in s.scalars(select(SourceRow).order_by(SourceRow.id))]


def poll_history(store: Store, source_id: str, limit: int = MAX_POLLS_SHOWN) -> list[PollRecord]:
    """The latest polls of a source, newest first."""
    with store.session(read=True) as s:
        return [PollRecord(r.source_id, r.polled_at, bool(r.ok), bool(r.not_modified),
                           r.error_kind, r.error, r.new_documents or 0, r.duplicates or 0,
                           r.elapsed_s or 0.0)
                for r in s.scalars(select(PollRow).where(PollRow.source_id == source_id)
                                   .order_by(PollRow.id.desc()).limit(max(limit, 0)))]
