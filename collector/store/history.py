"""Writing a source's poll history: one row per poll, the latest few hundred kept.

The rows go in with the poll's outcome, in its transaction (`Store.save_polls`); the
organisation page reads them back (`browse.poll_history`). Each write prunes the sources it
touched, so the table stays bounded (`limits.POLL_HISTORY_PER_SOURCE` rows a source) however
long the service runs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select

from .. import limits
from .tables import PollRow
from .views import PollRecord

POLLS = cast(Table, PollRow.__table__)
#: made once: statements are executed with their values as parameters
_INSERT = insert(POLLS)
#: The longest error kind a row holds (its column's width).
_KIND_CHARS = 32


def _row(r: PollRecord) -> dict[str, Any]:
    cut = limits.POLL_HISTORY_ERROR_CHARS
    return {"source_id": r.source_id, "polled_at": r.polled_at, "ok": r.ok,
            "not_modified": r.not_modified,
            "error_kind": r.error_kind[:_KIND_CHARS] if r.error_kind else None,
            "error": r.error[:cut] if r.error else None,
            "new_documents": r.new_documents, "duplicates": r.duplicates,
            "elapsed_s": max(0.0, float(r.elapsed_s))}


@functools.cache
def _prune_statement(keep: int) -> Any:
    """Delete a source's rows older than its latest `POLL_HISTORY_PER_SOURCE`: the id of the
    first row past the limit, found by walking the (source_id, id) index backwards, and every
    row at or below it. A no-op while the source has fewer rows."""
    p = POLLS.c
    first_out = (select(p.id).where(p.source_id == bindparam("w_id"))
                 .order_by(p.id.desc()).limit(1)
                 .offset(keep).scalar_subquery())
    return POLLS.delete().where(p.source_id == bindparam("w_id"), p.id <= first_out)


def append_history(conn: Any, records: Sequence[PollRecord]) -> None:
    """Insert `records` on the open write connection `conn`, then prune each source named."""
    if not records:
        return
    conn.execute(_INSERT, [_row(r) for r in records])
    conn.execute(_prune_statement(limits.POLL_HISTORY_PER_SOURCE),
                 [{"w_id": sid} for sid in dict.fromkeys(r.source_id for r in records)])
