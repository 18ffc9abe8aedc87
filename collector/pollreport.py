"""What `collector poll` prints: progress on a terminal, and a closing summary.

Progress is a single line on standard error, redrawn in place, and only when standard error is
a terminal (a pipe or a log file gets none). Log lines share standard error, so the progress
line is erased before each of them is written and never glued to one. The summary goes to
standard output: failed sources first, with their error in words, then the others (unless
quiet), then one closing line with the totals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TextIO

from . import limits
from .health import describe_error

_ERASE = "\r\033[K"


class Progress(logging.Filter):
    """`[done/total] source` on a terminal; a logging filter that clears it before log
    lines."""

    def __init__(self, stream: TextIO, total: int, *, enabled: bool):
        super().__init__()
        self.stream = stream
        self.total = total
        self.done = 0
        self.enabled = enabled
        self._shown = False

    def update(self, source_id: str) -> None:
        self.done += 1
        if self.enabled:
            self.stream.write(f"{_ERASE}[{self.done}/{self.total}] {source_id}")
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write(_ERASE)
            self.stream.flush()
            self._shown = False

    def filter(self, record: logging.LogRecord) -> bool:
        self.clear()
        return True

    def __enter__(self) -> Progress:
        if self.enabled:
            for handler in logging.getLogger().handlers:
                handler.addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self)
        self.clear()


def summary(results: Sequence[tuple[Any, Any]], elapsed_s: float, *, quiet: bool) -> str:
    """The table of outcomes, failures first, and the closing line."""
    ordered = sorted(results, key=lambda r: (r[1].ok, r[0].id))
    rows = []
    for source, o in ordered:
        if quiet and o.ok:
            continue
        if not o.ok:
            state = f"FAILED ({o.error_kind})"
        elif o.not_modified:
            state = "not modified"
        elif o.left:
            state = f"ok, {o.left} left"
        else:
            state = "ok"
        error = describe_error(o.error_kind, o.error, source.url) if not o.ok else ""
        rows.append([source.id, state, str(o.new_documents), str(o.duplicates),
                     str(o.skipped), f"{o.elapsed_s:.1f}s", error or ""])
    failed = sum(1 for _, o in results if not o.ok)
    new = sum(o.new_documents for _, o in results)
    left = sum(o.left for _, o in results)
    lines = []
    if rows:
        lines.append(_table(rows, ["source", "result", "new", "dups", "skipped", "time",
                                   "error"]))
    closing = (f"{len(results)} sources polled in {elapsed_s:.1f} s: {new} new documents, "
               f"{failed} failed")
    if left:
        # a poll takes at most limits.MAX_NEW_ITEMS_PER_POLL new items of a source
        closing += (f"; {left} new items left for the next poll (due within"
                    f" {limits.BACKLOG_DELAY_S} s, or run `collector poll` again)")
    lines.append(closing)
    return "\n".join(lines)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]
    return "\n".join(out)
