"""The store's side of watching stored statements (collector.watch): each document's re-check
schedule, the texts it held before it changed, the transitions found and their digest outbox.

- `seed` gives documents met for the first time a schedule; `claim` takes the due ones (a
  lease, so two workers never check one statement at once); `save_check` writes what a check
  found, with its transition and the transition's outbox rows, in one transaction.
- `keep_revision` is called by `Store.update_document` in its transaction: every text replaced
  in place is kept (`document_revisions`), whoever replaced it.
- `claim_changes` / `deliver_changes` are the outbox protocol of the transitions: a digest run
  claims them with its documents under one run key and marks them delivered with them
  (collector.store.outbox), so each goes out once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..notify import ChangeNote
from .tables import DocumentRow, RevisionRow, WatchEvent, WatchOutbox, WatchRow

if TYPE_CHECKING:
    from . import Store

#: Documents given a schedule per round at most (the rest in the next rounds).
SEED_BATCH = 5000
#: The longest reason a transition or a vanished statement keeps.
REASON_CHARS = 500
#: The transitions a check records.
EVENT_KINDS = ("edited", "removed", "restored")


@dataclass(frozen=True)
class WatchTarget:
    """A statement due for a check, as the watch round needs it."""

    document_id: str
    source_id: str
    url: str
    title: str
    text: str
    content_hash: str
    collected_at: datetime
    revision: int
    method: str         # where the stored text came from (page, feed, summary, pdf, ...)
    checks: int
    errors: int
    vanished: bool


@dataclass(frozen=True)
class Evidence:
    """Why a check says a statement is gone: what the server answered."""

    status: int | None
    final_url: str | None
    reason: str


@dataclass(frozen=True)
class RevisionView:
    """One text a statement held: revision number, title, text and hash, and its time."""

    revision: int
    title: str
    text: str
    content_hash: str
    stored_at: datetime
    replaced_at: datetime | None      # None: the current text


@dataclass(frozen=True)
class EventView:
    id: int
    kind: str
    at: datetime
    revision: int
    status: int | None
    final_url: str | None
    reason: str | None


@dataclass(frozen=True)
class WatchView:
    """What the checks of one statement found (for its page)."""

    checks: int
    next_check_at: datetime | None
    last_check_at: datetime | None
    last_result: str | None
    vanished_at: datetime | None
    evidence: Evidence | None


# -- schedule ---------------------------------------------------------------------------------

def seed(store: Store, first_after_s: int | None, now: datetime) -> int:
    """Give up to SEED_BATCH documents without a schedule one: their first check is due
    `first_after_s` after collection (None: watching is off, nothing to seed). Returns how
    many were seeded."""
    if first_after_s is None:
        return 0
    with store.session() as s:
        rows = s.execute(
            select(DocumentRow.id, DocumentRow.collected_at)
            .outerjoin(WatchRow, WatchRow.document_id == DocumentRow.id)
            .where(WatchRow.document_id.is_(None)).order_by(DocumentRow.seq)
            .limit(SEED_BATCH)).all()
        for doc_id, collected in rows:
            s.add(WatchRow(document_id=doc_id, checks=0, errors=0,
                           next_check_at=collected + timedelta(seconds=first_after_s)))
        return len(rows)


def claim(store: Store, now: datetime, *, source_ids: Sequence[str], limit: int,
          lease_s: float) -> list[WatchTarget]:
    """Up to `limit` statements of `source_ids` whose check is due, oldest due first, each
    leased for `lease_s`."""
    if limit <= 0 or not source_ids:
        return []
    with store.session() as s:
        q = (select(WatchRow, DocumentRow).join(DocumentRow,
                                                DocumentRow.id == WatchRow.document_id)
             .where(WatchRow.next_check_at <= now,
                    DocumentRow.source_id.in_(list(source_ids)),
                    (WatchRow.lease_until.is_(None)) | (WatchRow.lease_until < now))
             .order_by(WatchRow.next_check_at, DocumentRow.seq).limit(limit))
        if not store.is_sqlite:
            q = q.with_for_update(skip_locked=True, of=WatchRow)
        out = []
        for w, d in s.execute(q).all():
            w.lease_until = now + timedelta(seconds=lease_s)
            out.append(WatchTarget(document_id=d.id, source_id=d.source_id, url=d.url,
                                   title=d.title, text=d.text, content_hash=d.content_hash,
                                   collected_at=d.collected_at, revision=d.revision or 1,
                                   method=d.method, checks=w.checks or 0, errors=w.errors or 0,
                                   vanished=w.vanished_at is not None))
        return out


def save_check(store: Store, doc_id: str, now: datetime, *, result: str, checks: int,
               next_check_at: datetime | None, errors: int = 0, error: str | None = None,
               vanished: Evidence | None = None, restored: bool = False,
               digests: Sequence[str] = ()) -> int | None:
    """Write what a check of `doc_id` found and free its lease. With `vanished` (and the
    statement not already gone) it is marked gone and a `removed` transition recorded; with
    `restored` (and the statement gone) it is back and a `restored` transition recorded.
    Each transition gets an outbox row per digest of `digests`. Returns the transition's id,
    if one was recorded."""
    with store.session() as s:
        w = s.get(WatchRow, doc_id)
        if w is None:
            return None
        w.checks, w.next_check_at, w.last_check_at = checks, next_check_at, now
        w.last_result, w.errors = result, errors
        w.last_error = error[:REASON_CHARS] if error else None
        w.lease_until = None
        event_id = None
        if vanished is not None and w.vanished_at is None:
            w.vanished_at = now
            w.vanished_status, w.vanished_url = vanished.status, vanished.final_url
            w.vanished_reason = vanished.reason[:REASON_CHARS]
            event_id = _event(s, doc_id, "removed", now, status=vanished.status,
                              final_url=vanished.final_url, reason=vanished.reason,
                              digests=digests)
        elif restored and w.vanished_at is not None:
            w.vanished_at = w.vanished_status = w.vanished_url = w.vanished_reason = None
            event_id = _event(s, doc_id, "restored", now, status=200, final_url=None,
                              reason="the statement is back at its address", digests=digests)
        return event_id


def record_edit(s: Session, row: DocumentRow, now: datetime, *, reason: str,
                final_url: str | None, digests: Sequence[str]) -> int:
    """An `edited` transition of `row` (already at its new revision), in the caller's
    transaction (`Store.update_document`'s, so the revision and its notice go together)."""
    return _event(s, row.id, "edited", now, status=200, final_url=final_url, reason=reason,
                  digests=digests, revision=row.revision or 1)


def _event(s: Session, doc_id: str, kind: str, now: datetime, *, status: int | None,
           final_url: str | None, reason: str, digests: Sequence[str],
           revision: int | None = None) -> int:
    if revision is None:
        revision = s.scalar(select(DocumentRow.revision).where(DocumentRow.id == doc_id)) or 1
    ev = WatchEvent(document_id=doc_id, kind=kind, at=now, revision=revision, status=status,
                    final_url=final_url, reason=reason[:REASON_CHARS])
    s.add(ev)
    s.flush()
    for digest_id in dict.fromkeys(digests):
        s.add(WatchOutbox(digest_id=digest_id, event_id=ev.id))
    return int(ev.id)


# -- revisions --------------------------------------------------------------------------------

def keep_revision(s: Session, row: DocumentRow, now: datetime) -> None:
    """Keep the text `row` holds now, before it is replaced (caller's transaction)."""
    s.add(RevisionRow(document_id=row.id, revision=row.revision or 1, title=row.title,
                      text=row.text, content_hash=row.content_hash, stored_at=row.updated_at,
                      replaced_at=now))


def revisions(store: Store, doc_id: str) -> list[RevisionView]:
    """Every text of `doc_id`, oldest first, the current one last."""
    with store.session(read=True) as s:
        out = [RevisionView(r.revision, r.title, r.text, r.content_hash, r.stored_at,
                            r.replaced_at)
               for r in s.scalars(select(RevisionRow).where(RevisionRow.document_id == doc_id)
                                  .order_by(RevisionRow.revision))]
        d = s.get(DocumentRow, doc_id)
        if d is not None:
            out.append(RevisionView(d.revision or 1, d.title, d.text, d.content_hash,
                                    d.updated_at, None))
        return out


def events(store: Store, doc_id: str) -> list[EventView]:
    with store.session(read=True) as s:
        return [_event_view(e) for e in s.scalars(
            select(WatchEvent).where(WatchEvent.document_id == doc_id).order_by(WatchEvent.id))]


def watch_view(store: Store, doc_id: str) -> WatchView | None:
    with store.session(read=True) as s:
        w = s.get(WatchRow, doc_id)
        if w is None:
            return None
        evidence = Evidence(w.vanished_status, w.vanished_url, w.vanished_reason or "") \
            if w.vanished_at is not None else None
        return WatchView(w.checks or 0, w.next_check_at, w.last_check_at, w.last_result,
                         w.vanished_at, evidence)


def vanished_ids(store: Store, doc_ids: Sequence[str]) -> set[str]:
    """Those of `doc_ids` that are gone from their address now."""
    if not doc_ids:
        return set()
    with store.session(read=True) as s:
        return set(s.scalars(select(WatchRow.document_id).where(
            WatchRow.document_id.in_(list(doc_ids)), WatchRow.vanished_at.is_not(None))))


def _event_view(e: WatchEvent) -> EventView:
    return EventView(int(e.id), e.kind, e.at, e.revision, e.status, e.final_url, e.reason)


# -- the transitions' outbox ------------------------------------------------------------------

def _notes(s: Session, q: object, names: dict[str, str]) -> tuple[ChangeNote, ...]:
    out = []
    for e, d in s.execute(q).all():  # type: ignore[call-overload]
        out.append(ChangeNote(event_id=int(e.id), kind=e.kind, document_id=d.id, title=d.title,
                              source_id=d.source_id,
                              source_name=names.get(d.source_id, d.source_id), url=d.url,
                              at=e.at, revision=e.revision, status=e.status,
                              final_url=e.final_url, reason=e.reason or ""))
    return tuple(out)


def _select_notes(digest_id: str | None) -> object:
    q = (select(WatchEvent, DocumentRow)
         .join(DocumentRow, DocumentRow.id == WatchEvent.document_id))
    if digest_id is not None:
        q = q.join(WatchOutbox, WatchOutbox.event_id == WatchEvent.id).where(
            WatchOutbox.digest_id == digest_id)
    return q


def claim_changes(s: Session, digest_id: str, run_key: str, limit: int,
                  names: dict[str, str]) -> tuple[ChangeNote, ...]:
    """Put up to `limit` pending transitions of `digest_id` under `run_key`; returns them."""
    ids = list(s.scalars(select(WatchOutbox.id).where(
        WatchOutbox.digest_id == digest_id, WatchOutbox.delivered_at.is_(None),
        WatchOutbox.run_key.is_(None)).order_by(WatchOutbox.event_id).limit(limit)))
    if not ids:
        return ()
    s.execute(update(WatchOutbox).where(WatchOutbox.id.in_(ids)).values(run_key=run_key)
              .execution_options(synchronize_session=False))
    return changes_of_run(s, digest_id, run_key, names)


def changes_of_run(s: Session, digest_id: str, run_key: str,
                   names: dict[str, str]) -> tuple[ChangeNote, ...]:
    """The transitions claimed under `run_key` and not yet delivered (a repeated attempt)."""
    q = _select_notes(digest_id).where(  # type: ignore[attr-defined]
        WatchOutbox.run_key == run_key, WatchOutbox.delivered_at.is_(None)
    ).order_by(WatchEvent.id)
    return _notes(s, q, names)


def pending_changes(s: Session, digest_id: str, limit: int,
                    names: dict[str, str]) -> tuple[ChangeNote, ...]:
    """What `claim_changes` would take, claiming nothing (a preview)."""
    q = _select_notes(digest_id).where(  # type: ignore[attr-defined]
        WatchOutbox.delivered_at.is_(None)).order_by(WatchEvent.id).limit(limit)
    return _notes(s, q, names)


def deliver_changes(s: Session, digest_id: str, run_key: str, now: datetime) -> None:
    s.execute(update(WatchOutbox).where(WatchOutbox.digest_id == digest_id,
                                        WatchOutbox.run_key == run_key,
                                        WatchOutbox.delivered_at.is_(None))
              .values(delivered_at=now).execution_options(synchronize_session=False))


def latest_changes(store: Store, digest_id: str | None, limit: int,
                   names: dict[str, str]) -> list[ChangeNote]:
    """The newest transitions of a feed digest (or of all, for None), newest first: the
    entries a feed shows beside its statements."""
    with store.session(read=True) as s:
        q = _select_notes(digest_id).order_by(  # type: ignore[attr-defined]
            WatchEvent.id.desc()).limit(limit)
        return list(_notes(s, q, names))


def last_change_id(store: Store) -> int:
    """The id of the newest transition (0: none): the combined feed is rewritten when it
    grows."""
    with store.session(read=True) as s:
        return int(s.scalar(select(WatchEvent.id).order_by(WatchEvent.id.desc()).limit(1))
                   or 0)
