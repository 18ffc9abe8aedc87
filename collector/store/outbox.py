"""The digest outbox on the database: the store's side of collector.notify.run's protocol.

Outbox entries are written with their document (Store.add_document). A run claims a batch:
the unfinished batch of the previous attempt if there is one (same entries, same run key, so a
repeat carries the same Message-ID), else up to `limit` pending entries under a fresh run key.
Entries are marked delivered only after the transport returned, in one transaction with the
health notes the batch carried.

A claimed entry records the document revision it was claimed with. Feed digests call
`reoffer_revised` before claiming: a delivered entry whose document has been corrected since
is pending again, so the corrected statement goes out (as a new feed entry) once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from ..document import parse
from ..errors import DeliveryError
from ..health import describe_error
from ..notify import DigestItem, SourceHealthNote
from ..notify.health import SourceHealth, health_notes
from ..notify.retry import RetryState, after_failure
from ..notify.run import Batch
from . import Store, StoredDocument, _doc_view
from . import watch as store_watch
from .tables import DigestState, DocumentRow, OutboxEntry, SourceRow


def _notes_to_json(notes: Sequence[SourceHealthNote]) -> str:
    return json.dumps([{"source_id": n.source_id, "source_name": n.source_name,
                        "state": n.state, "since": n.since.isoformat(), "error": n.error}
                       for n in notes])


def _notes_from_json(text: str | None) -> tuple[SourceHealthNote, ...]:
    if not text:
        return ()
    return tuple(SourceHealthNote(source_id=n["source_id"], source_name=n["source_name"],
                                  state=n["state"], since=datetime.fromisoformat(n["since"]),
                                  error=n["error"]) for n in json.loads(text))


def _state(s: Any, digest_id: str) -> DigestState:
    row = s.get(DigestState, digest_id)
    if row is None:
        row = DigestState(digest_id=digest_id, attempts=0, permanent_failures=0,
                          quarantined=False, sent_runs=0)
        s.add(row)
        s.flush()
    return row


class StoreOutbox:
    """Implements collector.notify.run.Outbox for one configuration's digests."""

    def __init__(self, store: Store, *, item_of: Callable[[StoredDocument, list[tuple[str, str]]],
                                                           DigestItem],
                 source_names: dict[str, str],
                 health_after_s: Callable[[str], float] | None = None):
        self.store = store
        self.item_of = item_of
        self.source_names = source_names
        self.health_after_s = health_after_s

    # -- the protocol --------------------------------------------------------------------------

    def claim(self, digest_id: str, *, limit: int, now: datetime) -> Batch | None:
        with self.store.session() as s:
            st = _state(s, digest_id)
            if st.run_key:
                docs = list(s.scalars(
                    select(DocumentRow).join(OutboxEntry, OutboxEntry.document_id == DocumentRow.id)
                    .where(OutboxEntry.digest_id == digest_id, OutboxEntry.run_key == st.run_key,
                           OutboxEntry.delivered_at.is_(None)).order_by(DocumentRow.seq)))
                notes = _notes_from_json(st.run_notes)
                changes = store_watch.changes_of_run(s, digest_id, st.run_key,
                                                     self.source_names)
                if docs or notes or changes:
                    return Batch(st.run_key, tuple(self._items(s, docs)), notes, changes)
                st.run_key, st.run_notes = None, None
            docs = list(s.scalars(
                select(DocumentRow).join(OutboxEntry, OutboxEntry.document_id == DocumentRow.id)
                .where(OutboxEntry.digest_id == digest_id, OutboxEntry.delivered_at.is_(None),
                       OutboxEntry.run_key.is_(None)).order_by(DocumentRow.seq).limit(limit)))
            notes = self._health_notes(s, digest_id, st, now)
            run_key = uuid.uuid4().hex
            # transitions found by the watch go out with the documents, under the same key
            changes = store_watch.claim_changes(s, digest_id, run_key, limit,
                                                self.source_names)
            if not docs and not notes and not changes:
                return None
            if docs:
                s.execute(update(OutboxEntry).where(
                    OutboxEntry.digest_id == digest_id,
                    OutboxEntry.document_id.in_([d.id for d in docs]))
                    .values(run_key=run_key, revision=_document_revision()))
            st.run_key, st.run_notes = run_key, _notes_to_json(notes)
            return Batch(run_key, tuple(self._items(s, docs)), notes, changes)

    def delivered(self, digest_id: str, batch: Batch, *, now: datetime) -> None:
        with self.store.session() as s:
            s.execute(update(OutboxEntry).where(OutboxEntry.digest_id == digest_id,
                                                OutboxEntry.run_key == batch.run_key,
                                                OutboxEntry.delivered_at.is_(None))
                      .values(delivered_at=now))
            store_watch.deliver_changes(s, digest_id, batch.run_key, now)
            st = _state(s, digest_id)
            reported = json.loads(st.health_reported or "{}")
            for note in batch.health_notes:
                if note.state == "broken":
                    reported[note.source_id] = "broken"
                else:
                    reported.pop(note.source_id, None)
            st.health_reported = json.dumps(reported, sort_keys=True)
            st.run_key = st.run_notes = None
            st.attempts = st.permanent_failures = 0
            st.next_attempt_at = None
            st.last_error = None
            st.last_run_at = now
            st.sent_runs = (st.sent_runs or 0) + 1

    def failed(self, digest_id: str, batch: Batch, error: DeliveryError, *,
               now: datetime) -> None:
        with self.store.session() as s:
            st = _state(s, digest_id)
            after = after_failure(
                RetryState(attempts=st.attempts or 0,
                           permanent_failures=st.permanent_failures or 0,
                           next_attempt_at=st.next_attempt_at, quarantined=st.quarantined,
                           last_error=st.last_error),
                temporary=error.temporary, error=str(error), now=now)
            st.attempts, st.permanent_failures = after.attempts, after.permanent_failures
            st.next_attempt_at, st.quarantined = after.next_attempt_at, after.quarantined
            st.last_error = (after.last_error or "")[:1000]

    # -- corrections ---------------------------------------------------------------------------

    def reoffer_revised(self, digest_id: str) -> int:
        """Make pending again the delivered entries of `digest_id` whose document has a newer
        revision than the one they were claimed with; returns how many.

        Feed digests call this before claiming (a correction is a new feed entry). Email
        digests do not: a statement already mailed is not mailed again when corrected.
        """
        # Only corrected documents (revision > 1: few, found by their index) can qualify; they
        # are looked up first, then their entries by the (digest, document) key, so a run
        # costs in proportion to the corrections, not to the entries delivered over the years,
        # and takes the write lock only when something is to be offered again.
        with self.store.session(read=True) as s:
            corrected = dict(s.execute(select(DocumentRow.id, DocumentRow.revision)
                                       .where(DocumentRow.revision > 1)).all())
            ids: list[int] = []
            keys = list(corrected)
            for i in range(0, len(keys), 500):
                ids += [eid for eid, doc, rev in s.execute(
                    select(OutboxEntry.id, OutboxEntry.document_id, OutboxEntry.revision)
                    .where(OutboxEntry.digest_id == digest_id,
                           OutboxEntry.document_id.in_(keys[i:i + 500]),
                           OutboxEntry.delivered_at.is_not(None)))
                        if rev < corrected[doc]]
        if not ids:
            return 0
        with self.store.session() as s:
            # the same test again under the write lock: a run may have claimed them since
            result = s.execute(update(OutboxEntry).where(
                OutboxEntry.id.in_(ids), OutboxEntry.delivered_at.is_not(None),
                OutboxEntry.revision < _document_revision())
                .values(delivered_at=None, run_key=None)
                .execution_options(synchronize_session=False))
            return int(getattr(result, "rowcount", 0) or 0)

    # -- helpers -------------------------------------------------------------------------------

    def retry_state(self, digest_id: str) -> RetryState:
        with self.store.session() as s:
            st = _state(s, digest_id)
            return RetryState(attempts=st.attempts or 0,
                              permanent_failures=st.permanent_failures or 0,
                              next_attempt_at=st.next_attempt_at,
                              quarantined=bool(st.quarantined), last_error=st.last_error)

    def release(self, digest_id: str) -> None:
        """A send by hand takes a quarantined digest out of quarantine."""
        with self.store.session() as s:
            st = _state(s, digest_id)
            st.quarantined = False
            st.permanent_failures = 0
            st.next_attempt_at = None

    def peek(self, digest_id: str, *, limit: int, now: datetime) -> Batch | None:
        """What `claim` would return, without claiming anything (for --preview)."""
        with self.store.session(read=True) as s:
            st = s.get(DigestState, digest_id)
            q = (select(DocumentRow).join(OutboxEntry, OutboxEntry.document_id == DocumentRow.id)
                 .where(OutboxEntry.digest_id == digest_id, OutboxEntry.delivered_at.is_(None))
                 .order_by(DocumentRow.seq).limit(limit))
            docs = list(s.scalars(q))
            notes = _notes_from_json(st.run_notes) if st is not None and st.run_key else \
                self._health_notes(s, digest_id, st, now)
            changes = store_watch.pending_changes(s, digest_id, limit, self.source_names)
            if not docs and not notes and not changes:
                return None
            return Batch("preview", tuple(self._items(s, docs)), notes, changes)

    def _items(self, s: Any, rows: list[DocumentRow]) -> list[DigestItem]:
        views = [_doc_view(r) for r in rows]
        locs = self.store.locations([v.id for v in views])
        out = []
        for v in views:
            also = [(self.source_names.get(loc.source_id, loc.source_id), loc.url)
                    for loc in locs[v.id] if loc.how not in ("original", "alias")]
            out.append(self.item_of(v, also))
        return out

    def _health_notes(self, s: Any, digest_id: str, st: DigestState | None,
                      now: datetime) -> tuple[SourceHealthNote, ...]:
        if self.health_after_s is None:
            return ()
        from datetime import timedelta

        reported = json.loads((st.health_reported if st is not None else None) or "{}")
        sources = [SourceHealth(source_id=r.id, source_name=self.source_names.get(r.id, r.name),
                                failing_since=r.first_failure_at if r.consecutive_failures
                                else None,
                                # readers get the error in words, as the web page shows it
                                last_error=describe_error(r.last_error_kind, r.last_error,
                                                          r.url),
                                recovered_at=r.last_success_at)
                   for r in s.scalars(select(SourceRow)) if r.id in self.source_names]
        notes, _after = health_notes(sources, reported,
                                     broken_after=timedelta(seconds=self.health_after_s(
                                         digest_id)), now=now)
        return notes


def _document_revision() -> Any:
    """The current revision of an outbox entry's document, as a correlated subquery."""
    return (select(DocumentRow.revision).where(DocumentRow.id == OutboxEntry.document_id)
            .scalar_subquery())


def digest_item(doc: StoredDocument, also: list[tuple[str, str]], *, source_name: str,
                tags: tuple[str, ...] = ()) -> DigestItem:
    parsed = parse(doc.text)
    return DigestItem(id=doc.id, seq=doc.seq, title=doc.title, source_id=doc.source_id,
                      source_name=source_name, url=doc.url, published=doc.published_at,
                      collected=doc.collected_at, blocks=parsed.blocks,
                      also_published=tuple(also),
                      updated=doc.updated_at if doc.updated_at != doc.collected_at else None,
                      tags=tags, revision=doc.revision)
