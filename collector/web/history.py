"""A statement's history as its page shows it: each revision of its text with a word-level
diff against the one before, the transitions a re-check found (edited, removed, restored), and
whether it is gone from its address now, with the evidence.

Diffs are lists of (operation, words) segments; the template escapes them like any text.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

from ..store import Store
from ..store import watch as store_watch

#: Words compared at most per revision pair: beyond it the diff is by paragraph (the word
#: diff is quadratic in the worst case).
MAX_DIFF_WORDS = 20_000
#: An unchanged run longer than this many words is shown by its ends only.
CONTEXT_WORDS = 12
_TOKEN = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class Segment:
    op: str             # "same" | "del" | "ins" | "gap" (unchanged words left out)
    text: str


@dataclass(frozen=True)
class Revision:
    revision: int
    title: str
    stored_at: datetime
    replaced_at: datetime | None
    content_hash: str
    title_before: str | None          # the previous revision's title, when it differs
    diff: tuple[Segment, ...]         # against the previous revision; () for the first


@dataclass(frozen=True)
class History:
    revisions: tuple[Revision, ...]   # newest first
    events: tuple[store_watch.EventView, ...]
    watch: store_watch.WatchView | None

    @property
    def vanished(self) -> store_watch.WatchView | None:
        return self.watch if self.watch is not None and self.watch.vanished_at else None


def diff_words(before: str, after: str) -> tuple[Segment, ...]:
    """Word-level differences from `before` to `after`, long unchanged runs shortened."""
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    if len(a) + len(b) > 2 * MAX_DIFF_WORDS:
        a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    out: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            run = a[i1:i2]
            if len(run) > 2 * CONTEXT_WORDS + 1:
                first = 0 if not out else CONTEXT_WORDS
                last = CONTEXT_WORDS if i2 < len(a) else 0
                if first:
                    out.append(Segment("same", "".join(run[:first])))
                out.append(Segment("gap", f"[{len(run) - first - last} unchanged words]"))
                if last:
                    out.append(Segment("same", " " + "".join(run[-last:])))
            else:
                out.append(Segment("same", "".join(run)))
            continue
        if op in ("delete", "replace"):
            out.append(Segment("del", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(Segment("ins", "".join(b[j1:j2])))
    return tuple(out)


def build(store: Store, doc_id: str) -> History:
    """The history of `doc_id` (its revisions, newest first)."""
    texts = store_watch.revisions(store, doc_id)
    revisions = []
    for i, r in enumerate(texts):
        prev = texts[i - 1] if i else None
        revisions.append(Revision(
            revision=r.revision, title=r.title, stored_at=r.stored_at,
            replaced_at=r.replaced_at, content_hash=r.content_hash,
            title_before=prev.title if prev is not None and prev.title != r.title else None,
            diff=diff_words(prev.text, r.text) if prev is not None else ()))
    return History(tuple(reversed(revisions)), tuple(store_watch.events(store, doc_id)),
                   store_watch.watch_view(store, doc_id))
