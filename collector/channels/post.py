"""What every channel shares: the listing it returns and how a post is titled and written."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from ..models import Candidate

#: A title longer than this is cut at a word boundary.
TITLE_MAX_CHARS = 120
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")


@dataclass(frozen=True)
class ChannelListing:
    """What one read of a channel found: its posts, how many were left out (posts of only
    media), and what to do once the pipeline has processed them: `settle` is given the keys
    that are now stored or given up for good."""

    candidates: list[Candidate]
    skipped: int = 0
    settle: Callable[[set[str]], Awaitable[None]] | None = field(default=None)


def title_of(text: str) -> str:
    """A post's title: its first line, or the first sentence of a long first line, cut at a
    word boundary if still too long."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if len(line) > TITLE_MAX_CHARS:
        line = _SENTENCE_END.split(line, maxsplit=1)[0]
    if len(line) > TITLE_MAX_CHARS:
        cut = line[:TITLE_MAX_CHARS].rsplit(" ", 1)[0] or line[:TITLE_MAX_CHARS]
        line = cut.rstrip(" ,;:-") + "…"
    return line


def paragraphs_html(lines: Iterable[str]) -> str:
    """Plain lines of text as HTML paragraphs (one per non-empty line), for extraction."""
    return "".join(f"<p>{html.escape(ln.strip())}</p>" for ln in lines if ln.strip())

