"""Mastodon and Bluesky profiles: `auto` recognises a profile URL and polls the profile's feed.

- Mastodon (and servers that copy its URLs): `https://host/@user` has `https://host/@user.rss`.
- Bluesky: `https://host/profile/<handle or did>` has `…/profile/<handle or did>/rss`.

The guess is only a guess: discovery keeps it only if the URL really answers with a feed that
has entries, and falls back to the usual discovery otherwise.

Posts carry no title of their own; each becomes a document titled by its first line, with the
post's text as its body and its own link as its URL (the post page is not fetched: it is an
application page that needs scripts). A post with no text (only media) is left out.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape
from urllib.parse import urlsplit, urlunsplit

from ..models import Candidate
from .post import paragraphs_html, title_of

#: The resolved kind of a profile's feed: a feed whose entries are whole posts.
KIND = "social"
_MARKUP = re.compile(r"<(p|br|div|span|a|blockquote|ul|ol|li|h[1-6])\b", re.IGNORECASE)
_MASTODON = re.compile(r"^/@(?P<user>[A-Za-z0-9_]{1,64})/?$")
_BLUESKY = re.compile(r"^/profile/(?P<actor>did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,200}|"
                      r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}\.[A-Za-z]{2,63})/?$")


def profile_feed(url: str) -> tuple[str, str] | None:
    """(feed URL, what kind of profile) for a Mastodon or Bluesky profile URL, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.query:
        return None
    if m := _MASTODON.match(parts.path):
        path = f"/@{m.group('user')}.rss"
        return urlunsplit((parts.scheme, parts.netloc, path, "", "")), "Mastodon profile"
    if m := _BLUESKY.match(parts.path):
        path = f"/profile/{m.group('actor')}/rss"
        return urlunsplit((parts.scheme, parts.netloc, path, "", "")), "Bluesky profile"
    return None


def as_posts(entries: list[Candidate]) -> list[Candidate]:
    """Feed entries of a profile as whole posts titled by their first line."""
    # deferred: the extractor's modules cost a poll's main process 1.2 MB resident (its
    # VmRSS after importing collector.cli, .pipeline and .scheduler), and a poll of sources that
    # are not profiles never runs them
    from ..extract import html_to_blocks

    out = []
    for entry in entries:
        html = entry.content_html or entry.summary_html or ""
        if not _MARKUP.search(html):
            # plain text (Bluesky's feed): its line breaks are its paragraphs
            html = paragraphs_html(unescape(html).splitlines())
        blocks = html_to_blocks(html) if html.strip() else []
        if not blocks:
            continue
        title = title_of("\n".join(blocks))
        out.append(replace(entry, title=title, content_html=html, summary_html=None,
                           complete=True))
    return out
