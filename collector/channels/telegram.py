"""A public Telegram channel, read from its preview pages (`t.me/s/<channel>`), no account.

The preview page lists a channel's latest posts, oldest first; `?before=<post number>` gives the
posts before that one. Each post becomes a statement: its first line (or first sentence) is
the title, its text the body, and its date and permalink come from the post. A forwarded post
says so in its first paragraph ("Forwarded from …"). A post of only media (photos, video, a
sticker) has no text to keep: it is skipped and counted.

The key of a post is its permalink plus a hash of its text, so an edited post is seen again
and reaches the store as a new revision of the same URL.

On the first poll older pages are read until `backfill` posts are found; later polls read
older pages only while every post on a page is new (more posts than one page since the last
poll). Both are bounded by `limits.TELEGRAM_MAX_PAGES`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .. import limits
from ..config import Source
from ..encoding import decode_html
from ..errors import FetchError, ParseError
from ..models import Candidate
from .post import ChannelListing, paragraphs_html, title_of

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..store import SourceState

log = logging.getLogger("collector.channels.telegram")

_MEDIA = (".tgme_widget_message_photo_wrap, .tgme_widget_message_video_player, "
          ".tgme_widget_message_roundvideo_player, .tgme_widget_message_document, "
          ".tgme_widget_message_sticker_wrap, .tgme_widget_message_voice_player, "
          ".tgme_widget_message_grouped_wrap, .tgme_widget_message_poll")
_POST_NUMBER = re.compile(r"/(\d+)$")


@dataclass(frozen=True)
class Post:
    """One post of the preview page."""

    number: int
    permalink: str
    text: str                          # lines separated by "\n"
    published: datetime | None
    forwarded_from: str | None = None
    forwarded_link: str | None = None
    edited: bool = False
    media_only: bool = False


@dataclass(frozen=True)
class PreviewPage:
    posts: list[Post]                  # page order: oldest first
    older_url: str | None              # the page of older posts, if the page links one


def parse_page(html: str, page_url: str) -> list[Post]:
    """The posts of one preview page, in page order (oldest first). Raises ParseError when the
    page is not a channel preview at all."""
    return parse_preview(html, page_url).posts


def parse_preview(html: str, page_url: str) -> PreviewPage:
    """A preview page: its posts and the link to older ones."""
    tree = LexborHTMLParser(html[: limits.MAX_HTML_BYTES])
    nodes = tree.css("div.tgme_widget_message[data-post]")
    if not nodes and not tree.css(".tgme_channel_info, .tgme_channel_history, "
                                  ".tgme_widget_message_wrap"):
        raise ParseError(f"{page_url} is not a Telegram channel preview page (no posts and no "
                         f"channel header)")
    posts = []
    for node in nodes:
        post = _post(node, page_url)
        if post is not None:
            posts.append(post)
    older = None
    more = tree.css_first(".tme_messages_more[data-before], link[rel=prev][href]")
    if more is not None and posts:
        before = more.attributes.get("data-before")
        if before and before.isdigit():
            older = older_page_url(page_url, int(before))
        elif more.attributes.get("href"):
            older = urljoin(page_url, more.attributes["href"] or "")
    return PreviewPage(posts, older)


def _post(node: LexborNode, page_url: str) -> Post | None:
    data_post = (node.attributes.get("data-post") or "").strip()
    match = _POST_NUMBER.search(data_post)
    if match is None:
        return None
    number = int(match.group(1))
    date_link = node.css_first("a.tgme_widget_message_date")
    href = date_link.attributes.get("href") if date_link is not None else None
    permalink = urljoin(page_url, href) if href else urljoin(page_url, f"/{data_post}")
    stamp = node.css_first(".tgme_widget_message_date time[datetime], time[datetime]")
    published = _date(stamp.attributes.get("datetime") if stamp is not None else None)
    text_node = node.css_first(".tgme_widget_message_text")
    text = _text(text_node) if text_node is not None else ""
    forwarded = node.css_first(".tgme_widget_message_forwarded_from")
    fwd_name = fwd_link = None
    if forwarded is not None:
        name_node = forwarded.css_first(".tgme_widget_message_forwarded_from_name")
        fwd_name = (name_node or forwarded).text(separator=" ", strip=True)
        fwd_name = fwd_name.removeprefix("Forwarded from").strip() or "another channel"
        if name_node is not None and name_node.attributes.get("href"):
            fwd_link = urljoin(page_url, name_node.attributes["href"] or "")
    meta = node.css_first(".tgme_widget_message_meta")
    edited = meta is not None and "edited" in meta.text(separator=" ").lower()
    media_only = not text.strip() and node.css_first(_MEDIA) is not None
    return Post(number=number, permalink=permalink, text=text, published=published,
                forwarded_from=fwd_name, forwarded_link=fwd_link, edited=edited,
                media_only=media_only or not text.strip())


def _text(node: LexborNode) -> str:
    """The post's text with its line breaks (<br>) kept as newlines."""
    copy = LexborHTMLParser(node.html or "")
    for br in copy.css("br"):
        br.replace_with("\n")
    body = copy.body
    raw = body.text(deep=True) if body is not None else ""
    return "\n".join(re.sub(r"[ \t\u00a0]+", " ", ln).strip() for ln in raw.split("\n")).strip()


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def candidate(post: Post) -> Candidate:
    """A post as a statement candidate."""
    title = title_of(post.text)
    # the whole text is the body, first line too: an edit of the first line alone is an
    # edit of the statement (the title takes no part in duplicate detection)
    blocks = post.text.split("\n")
    if post.forwarded_from:
        origin = f" ({post.forwarded_link})" if post.forwarded_link else ""
        blocks.insert(0, f"Forwarded from {post.forwarded_from}{origin}")
    digest = hashlib.sha256(post.text.encode("utf-8")).hexdigest()[:16]
    return Candidate(key=f"{post.permalink}@{digest}", url=post.permalink,
                     title=title, published=post.published,
                     content_html=paragraphs_html(blocks), complete=True)


def older_page_url(page_url: str, oldest: int) -> str:
    parts = urlsplit(page_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"before={oldest}", ""))


async def read(pipeline: Pipeline, source: Source, state: SourceState) -> ChannelListing:
    """Read the channel's newest page, and older pages as the module docstring says."""
    first_run = state.last_success_at is None
    posts: dict[int, Post] = {}
    next_url: str | None = source.url
    for index in range(limits.TELEGRAM_MAX_PAGES):
        if next_url is None:
            break
        try:
            fetched = await pipeline.fetch_page(source, next_url)
        except FetchError as exc:
            if index == 0:
                raise
            log.info("source %s: older posts not read, %s", source.id, exc)
            break
        html = decode_html(fetched.content, fetched.headers.get("content-type"))
        preview = parse_preview(html, fetched.final_url)
        page = [p for p in preview.posts if p.number not in posts]
        if not page:
            break
        posts.update((p.number, p) for p in page)
        texts = [p for p in posts.values() if not p.media_only]
        if first_run:
            if len(texts) >= source.backfill:
                break
        else:
            keys = [candidate(p).key for p in page if not p.media_only]
            known = await asyncio.to_thread(pipeline.store.seen_keys, source.id, keys)
            if known or not keys:
                break
        next_url = preview.older_url
    ordered = sorted(posts.values(), key=lambda p: p.number, reverse=True)
    # posts of only media are recorded as seen, so each is counted once
    media = {f"{p.permalink}@media": p.permalink for p in ordered if p.media_only}
    known = await asyncio.to_thread(pipeline.store.seen_keys, source.id, list(media))
    fresh = [(k, u) for k, u in media.items() if k not in known]
    if fresh:
        await asyncio.to_thread(pipeline.store.mark_seen_many, source.id, fresh,
                                status="media_only", now=pipeline.clock())
        log.info("source %s: %d post(s) with only media skipped", source.id, len(fresh))
    return ChannelListing([candidate(p) for p in ordered if not p.media_only],
                          skipped=len(fresh))


async def preview(pipeline: Pipeline, source: Source) -> list[Candidate]:
    """The newest page's posts with text, newest first (no database, nothing recorded)."""
    fetched = await pipeline.fetch_page(source, source.url)
    html = decode_html(fetched.content, fetched.headers.get("content-type"))
    posts = sorted(parse_page(html, fetched.final_url), key=lambda p: p.number, reverse=True)
    return [candidate(p) for p in posts if not p.media_only]
