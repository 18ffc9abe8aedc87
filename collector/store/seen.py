"""What a source's listing has shown before: the look-up every poll of a changed listing
makes (`Store.seen_keys`).

Read on a bare connection with a statement made once (an expanding IN for the keys' hashes):
through the ORM's session, with the statement built anew at each call, the look-up of a
feed's 21 keys cost 0.77 ms of CPU, now 0.30 (`bench/store_calls.py`; docs/benchmarks-poll.md,
Profile).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import DBAPIError

from ..errors import StoreError
from .tables import SeenItem

if TYPE_CHECKING:  # the Store imports this module
    from . import Store

_SEEN = cast(Table, SeenItem.__table__)

#: keys' hashes per statement (SQLite allows 32,766 parameters; PostgreSQL 65,535)
CHUNK = 500

#: the seen items of source `sid` among the key hashes `hashes`
_SEEN_AMONG = (select(_SEEN.c.key_hash, _SEEN.c.status, _SEEN.c.attempts)
               .where(_SEEN.c.source_id == bindparam("sid"),
                      _SEEN.c.key_hash.in_(bindparam("hashes", expanding=True))))


def seen_keys(store: Store, source_id: str, keys: Iterable[str], *,
              retry_below: int = 0) -> set[str]:
    """`Store.seen_keys` (see there): one read transaction."""
    from . import key_hash

    by_hash = {key_hash(k): k for k in keys}
    if not by_hash:
        return set()
    hashes = list(by_hash)
    found: set[str] = set()
    try:
        with store._read_engine.connect() as conn:
            for i in range(0, len(hashes), CHUNK):
                rows = conn.execute(_SEEN_AMONG, {"sid": source_id,
                                                  "hashes": hashes[i:i + CHUNK]})
                found.update(h for h, status, attempts in rows
                             if status != "failed" or (attempts or 0) >= retry_below)
    except DBAPIError as exc:
        raise StoreError(f"database error: {exc.orig}") from exc
    return {by_hash[h] for h in found}
