"""The order in which sources are claimed, and the ids of a large claim in that order.

A claim takes sources failing first (their polls are the slow ones: timeouts, hangs, redirect
chains; started first they overlap the quick ones instead of trailing after them), then by
when they were due, then by id, so that the order is total. `Store.claim` orders each claim so;
`claim_order` gives the ids of every claimable source in the same order without claiming them,
so that a poll of thousands of sources can claim them a few hundred at a time, in slices of
that order, and still start them in the order one claim of all of them would have.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, func, select

from .tables import SourceRow

if TYPE_CHECKING:
    from . import Store

SOURCES = cast(Table, SourceRow.__table__)
#: Sources a claim of `Worker.poll_ids` takes at most (`bench/memory.py startup`: at 5,000
#: sources one claim of all of them adds 6.9 MB to the process; the order's read and ten
#: claims of 500, 5.0, of which 3.4 are the claimed states that mode keeps and a poll does not).
BATCH = 500


def claim_key() -> tuple[Any, ...]:
    """The ORDER BY of a claim: failing sources first, then the earliest due, then the id."""
    c = SOURCES.c
    return ((func.coalesce(c.consecutive_failures, 0) > 0).desc(), c.next_poll_at, c.id)


def claimable(now: datetime, *, due_only: bool) -> Any:
    """The WHERE of a claim, without its ids: no live lease (and due, if `due_only`)."""
    c = SOURCES.c
    cond = (c.lease_until.is_(None)) | (c.lease_until < now)
    return cond & (c.next_poll_at <= now) if due_only else cond


def claim_order(store: Store, now: datetime, ids: Collection[str], *,
                due_only: bool) -> list[str]:
    """The ids among `ids` that a claim at `now` could take, in claim order, unclaimed.

    One pass over the sources table reading the ids alone (no `IN` of thousands of
    parameters); `ids` should be a set. A source claimed by another worker after this read is
    skipped by the claim that comes to it."""
    q = select(SOURCES.c.id).where(claimable(now, due_only=due_only)).order_by(*claim_key())
    with store.session(read=True) as s:
        return [i for i in s.scalars(q) if i in ids]
