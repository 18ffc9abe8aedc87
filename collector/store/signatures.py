"""Near-duplicate signatures made again from stored texts.

A release that changes how signatures are made (`collector.neardup`'s version) leaves the
stored ones unusable, but never loses them: the storing stage learns which documents hold one
of an older version when it builds its index (`NearDuplicateIndex.add_many`), and `resign`
computes theirs again from the text each document keeps, writes them in place of the old ones,
and returns them for the index. It runs once per document: afterwards its signature is current.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, and_, bindparam, select, update

from ..errors import ParseError
from .tables import DocumentRow

if TYPE_CHECKING:
    from . import Store

DOCS = cast(Table, DocumentRow.__table__)
#: Documents read and written per transaction (well under SQLite's bound-parameter limit).
_CHUNK = 500


def resign(store: Store, seqs: Sequence[int],
           sign: Callable[[str], bytes]) -> list[tuple[int, bytes]]:
    """`sign(text)` of the stored text of each document whose sequence number is in `seqs`,
    written as its signature; (sequence number, signature now stored) of each of them.

    A signature is replaced only if it is still the one that was read with the text, so a
    document whose text another writer changed meanwhile keeps the signature that writer
    stored (of its new text). A text `sign` cannot read (ParseError) keeps its old signature
    and is left out."""
    d = DOCS.c
    out: list[tuple[int, bytes]] = []
    for at in range(0, len(seqs), _CHUNK):
        chunk = list(seqs[at:at + _CHUNK])
        with store.session(read=True) as s:
            rows = s.execute(select(d.seq, d.text, d.signature).where(d.seq.in_(chunk))).all()
        made = []
        for seq, text, old in rows:
            try:
                made.append({"w_seq": int(seq), "w_old": old, "new": sign(text)})
            except ParseError:
                continue
        if not made:
            continue
        with store.session() as s:
            s.connection().execute(
                update(DOCS).where(and_(d.seq == bindparam("w_seq"),
                                        d.signature == bindparam("w_old")))
                .values(signature=bindparam("new")), made)
            out.extend((int(seq), bytes(sig)) for seq, sig in s.execute(
                select(d.seq, d.signature).where(d.seq.in_([m["w_seq"] for m in made]))
                .order_by(d.seq)) if sig is not None)
    return out
