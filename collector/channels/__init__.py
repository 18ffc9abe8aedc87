"""Organisations that speak through channels rather than web sites.

    telegram.py   a public Telegram channel, read from its preview pages (kind: telegram)
    social.py     Mastodon and Bluesky profiles: recognised by `auto`, read from their feeds
    imap.py       newsletters in a mailbox (kind: imap)

Each turns what it reads into `Candidate`s that carry their whole text (`complete`), so the
pipeline stores them without fetching a page; from there on they are statements like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Source
from ..models import Candidate
from . import social, telegram
from .post import ChannelListing, title_of

if TYPE_CHECKING:  # the pipeline imports this package; only its type is needed here
    from ..pipeline import Pipeline
    from ..store import SourceState

#: Source kinds whose listing is read here rather than fetched as a feed, page or sitemap.
KINDS = ("telegram", "imap")

__all__ = ["KINDS", "ChannelListing", "listing", "preview", "social", "telegram", "title_of"]


async def listing(pipeline: Pipeline, source: Source, state: SourceState) -> ChannelListing:
    """Read a channel source once."""
    if source.kind == "telegram":
        return await telegram.read(pipeline, source, state)
    if source.kind == "imap":
        # here, not at the top: every poll imports this package and few read a mailbox;
        # imaplib and the email package cost 2.5 MB (`python -m bench.memory imports`)
        from . import imap

        return await imap.read(pipeline, source, state)
    raise ValueError(f"source {source.id}: {source.kind} is not a channel kind")


async def preview(pipeline: Pipeline, source: Source) -> list[Candidate]:
    """What a channel offers now, touching no database and marking nothing (`collector
    check`): a Telegram channel's newest page, a mailbox's unread messages."""
    if source.kind == "telegram":
        return await telegram.preview(pipeline, source)
    if source.kind == "imap":
        from . import imap  # see `listing`

        return await imap.preview(pipeline, source)
    raise ValueError(f"source {source.id}: {source.kind} is not a channel kind")
