"""Full-text search over stored documents: SQLite FTS5 or PostgreSQL full-text search.

The index itself is made by migration 0002 (an external-content FTS5 table kept in sync by
triggers on SQLite; a GIN expression index on PostgreSQL). This module turns what a person
typed into a query the database cannot misread: every word is quoted, so FTS5 operators,
column filters and unbalanced quotes in the input are just text, never a syntax error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select, text

from ..errors import StoreError
from . import Store, StoredDocument, _doc_view
from .tables import DocumentRow

#: Characters of a query looked at; a statement search needs a few words, not a page.
MAX_QUERY_CHARS = 500
#: Words of a query used; each is one more term the index must intersect.
MAX_QUERY_WORDS = 16
#: Results one call may ask for (the web page shows far fewer per page).
MAX_LIMIT = 500
#: Must be the expression migration 0002 indexed, or PostgreSQL cannot use the index. Only the
#: first 100,000 characters are indexed: a tsvector holds at most 1 MiB, and the index is
#: computed on INSERT, so an unbounded text could make a document impossible to store.
PG_TSVECTOR = ("to_tsvector('simple'::regconfig, left(coalesce(title, ''), 1000) || ' ' || "
               "left(coalesce(text, ''), 100000))")
#: FTS5 column weights for bm25 (title, text): a word in the headline counts more.
TITLE_WEIGHT, TEXT_WEIGHT = 5.0, 1.0


@dataclass(frozen=True)
class Term:
    word: str
    prefix: bool = False


def terms(query: str) -> list[Term]:
    """The words of `query` (NFC, control characters dropped); `word*` asks for a prefix."""
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else " "
                      for ch in unicodedata.normalize("NFC", query[:MAX_QUERY_CHARS]))
    out: list[Term] = []
    for raw in cleaned.split():
        prefix = raw.endswith("*")
        word = raw.rstrip("*")
        # a word made only of punctuation matches nothing in a unicode61 index and would make
        # the whole (AND) query match nothing
        if not re.search(r"\w", word):
            continue
        out.append(Term(word, prefix))
        if len(out) == MAX_QUERY_WORDS:
            break
    return out


def fts5_query(query: str) -> str:
    """An FTS5 MATCH expression for `query`: each word a quoted string, all required.

    Empty when the query has no words.
    """
    parts = []
    for t in terms(query):
        quoted = '"' + t.word.replace('"', '""') + '"'
        parts.append(quoted + ("*" if t.prefix else ""))
    return " ".join(parts)


def pg_query(query: str) -> str:
    """Text for websearch_to_tsquery: the words only (it never raises on any input, but
    its operators - quotes, `or`, `-` - are kept out so both databases read a query alike)."""
    words = []
    for t in terms(query):
        # websearch_to_tsquery reads a leading '-' as NOT and '"' as phrase delimiters
        for piece in t.word.replace('"', " ").split():
            w = piece.lstrip("-")
            if w.lower() != "or" and re.search(r"\w", w):
                words.append(w)
    return " ".join(words)


def search(store: Store, query: str, limit: int, offset: int) -> list[StoredDocument]:
    """Documents matching every word of `query`, best match first (then newest first).

    Safe for any user input: an empty or punctuation-only query matches nothing.
    """
    if limit <= 0:
        return []
    limit = min(limit, MAX_LIMIT)
    offset = max(offset, 0)
    dialect = store.engine.dialect.name
    with store.session(read=True) as s:
        if dialect == "sqlite":
            match = fts5_query(query)
            if not match:
                return []
            seqs = [int(r[0]) for r in s.execute(text(
                "SELECT rowid FROM documents_fts WHERE documents_fts MATCH :q "
                "ORDER BY bm25(documents_fts, :tw, :xw), rowid DESC LIMIT :limit OFFSET :offset"),
                {"q": match, "tw": TITLE_WEIGHT, "xw": TEXT_WEIGHT, "limit": limit,
                 "offset": offset})]
        elif dialect == "postgresql":
            words = pg_query(query)
            if not words:
                return []
            seqs = [int(r[0]) for r in s.execute(text(
                f"SELECT seq FROM documents "
                f"WHERE {PG_TSVECTOR} @@ websearch_to_tsquery('simple'::regconfig, :q) "
                f"ORDER BY ts_rank({PG_TSVECTOR}, websearch_to_tsquery('simple'::regconfig, :q))"
                f" DESC, seq DESC LIMIT :limit OFFSET :offset"),
                {"q": words, "limit": limit, "offset": offset})]
        else:
            raise StoreError(f"full-text search is not available on {dialect}")
        if not seqs:
            return []
        rows = {r.seq: r for r in s.scalars(select(DocumentRow).where(DocumentRow.seq.in_(seqs)))}
        return [_doc_view(rows[q]) for q in seqs if q in rows]
