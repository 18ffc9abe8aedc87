"""robots.txt in the database: the store's side of collector.robots.RobotsStore.

Every saved entry is read in one query when a process first checks robots.txt (entries keep
only the rules that apply to collector, a few hundred bytes per host); entries fetched or
renewed are written back in batches, one transaction each, whatever their number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from ..robots import Saved
from . import Store
from .tables import RobotsRow

#: Entries expired this long ago are dropped when a batch is written (a host no longer polled).
FORGET_AFTER = timedelta(days=30)
#: Rows per statement when writing a batch.
_CHUNK = 500
_TABLE = cast(Table, RobotsRow.__table__)
_ORIGIN_MAX = 300


def _when(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class StoredRobots:
    """collector.robots.RobotsStore on a Store."""

    def __init__(self, store: Store):
        self.store = store

    def load(self) -> dict[str, Saved]:
        c = _TABLE.c
        # built as the rows are read, equal texts kept once: most hosts keep the same rules
        # for the same agent (5,000 WordPress hosts: one text, not 5,000)
        texts: dict[str, str] = {}
        with self.store.session(read=True) as s:
            rows = s.execute(select(c.origin, c.agent, c.status, c.rules, c.etag,
                                    c.last_modified, c.fetched_at, c.expires_at))
            return {origin: Saved(origin, texts.setdefault(agent, agent), status,
                                  texts.setdefault(rules, rules), etag, modified,
                                  fetched.timestamp(), expires.timestamp())
                    for origin, agent, status, rules, etag, modified, fetched, expires in rows}

    def save(self, entries: Sequence[Saved]) -> None:
        """Write `entries` (replacing what is saved for their origins) in one transaction."""
        if not entries:
            return
        # an origin longer than the column (a host name is at most 253 characters) is not kept
        entries = [e for e in entries if len(e.origin) <= _ORIGIN_MAX]
        try:
            self._save({e.origin: e for e in entries})
        except IntegrityError:
            # another worker (PostgreSQL) saved one of these origins between our delete and
            # insert: once more, deleting its row this time
            self._save({e.origin: e for e in entries})

    def _save(self, latest: dict[str, Saved]) -> None:
        if not latest:
            return
        origins = list(latest)
        oldest = datetime.now(UTC) - FORGET_AFTER
        rows = [{"origin": e.origin, "agent": e.agent, "status": e.status, "rules": e.rules,
                 "etag": e.etag, "last_modified": e.last_modified,
                 "fetched_at": _when(e.fetched_at), "expires_at": _when(e.expires_at)}
                for e in latest.values()]
        with self.store.session() as s:
            for i in range(0, len(origins), _CHUNK):
                s.execute(delete(_TABLE).where(_TABLE.c.origin.in_(origins[i:i + _CHUNK])))
            s.execute(delete(_TABLE).where(_TABLE.c.expires_at < oldest))
            # one multi-row INSERT (executemany), no unit of work
            s.execute(insert(_TABLE), rows)
