"""Local stand-ins for channels: a Telegram channel's preview pages, Mastodon and Bluesky feeds.

The Telegram pages follow the structure of the public preview (`t.me/s/<channel>`): a history
section of message wraps, oldest first, each with `data-post="<channel>/<number>"`, a text
block with <br> line breaks, a footer whose date link is the permalink and holds a <time>, an
"edited" mark in the meta, a "Forwarded from" header, and photo wraps for media.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape

from tests.webserver import Page, SiteServer


@dataclass(frozen=True)
class Post:
    number: int
    text: str                      # lines separated by "\n"; "" for media only
    when: datetime
    forwarded_from: str | None = None
    edited: bool = False
    photo: bool = False


def _post_html(channel: str, base: str, post: Post) -> str:
    forward = ""
    if post.forwarded_from:
        forward = (f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from '
                   f'<a class="tgme_widget_message_forwarded_from_name" '
                   f'href="{base}/{post.forwarded_from}/7"><span dir="auto">'
                   f'{escape(post.forwarded_from)}</span></a></div>')
    photo = (f'<a class="tgme_widget_message_photo_wrap blured" href="{base}/{channel}/'
             f'{post.number}?single" style="width:800px;background-image:url(\'{base}/img/'
             f'{post.number}.jpg\')"><div class="tgme_widget_message_photo"></div></a>'
             if post.photo else "")
    text = ""
    if post.text:
        inner = "<br/>".join(escape(line) for line in post.text.split("\n"))
        text = f'<div class="tgme_widget_message_text js-message_text" dir="auto">{inner}</div>'
    edited = '<span class="tgme_widget_message_edited">edited</span> ' if post.edited else ""
    return f"""<div class="tgme_widget_message_wrap js-widget_message_wrap">
<div class="tgme_widget_message text_not_supported_wrap js-widget_message"
 data-post="{channel}/{post.number}" data-view="eyJjIjoxfQ">
<div class="tgme_widget_message_user"><a href="{base}/{channel}"><i
 class="tgme_widget_message_user_photo bgcolor0"></i></a></div>
<div class="tgme_widget_message_bubble"><i class="tgme_widget_message_bubble_tail"></i>
<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name"
 href="{base}/{channel}"><span dir="auto">Harbour Union</span></a></div>
{forward}{photo}{text}
<div class="tgme_widget_message_footer compact js-message_footer">
<div class="tgme_widget_message_info short js-message_info">
<span class="tgme_widget_message_views">1.4K</span><span class="copyonclick"></span>
<span class="tgme_widget_message_meta">{edited}<a class="tgme_widget_message_date"
 href="{base}/{channel}/{post.number}"><time datetime="{post.when.isoformat()}"
 class="time">{post.when:%H:%M}</time></a></span>
</div></div></div></div></div>"""


def telegram_page(channel: str, base: str, posts: list[Post], *, older: int | None) -> str:
    more = (f'<div class="tme_messages_more js-messages_more" data-before="{older}"></div>'
            if older else "")
    prev = f'<link rel="prev" href="/s/{channel}?before={older}">' if older else ""
    body = "\n".join(_post_html(channel, base, p) for p in posts)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Harbour Union – Telegram</title>{prev}
<meta property="og:title" content="Harbour Union"></head>
<body class="widget_frame_base tgme_webpage_channel">
<header class="tgme_header"><div class="tgme_channel_info_header_title">Harbour Union</div>
</header><main class="tgme_main"><div class="tgme_container">
<section class="tgme_channel_history js-message_history">{more}
{body}
</section></div></main></body></html>"""


def publish_channel(site: SiteServer, channel: str, posts: list[Post], *,
                    per_page: int = 5) -> None:
    """Serve `/s/<channel>` (the newest `per_page` posts) and `?before=N` for every N."""
    ordered = sorted(posts, key=lambda p: p.number)
    for path in [k for k in site.pages if k.startswith(f"/s/{channel}")]:
        del site.pages[path]

    def page(upto: list[Post]) -> Page:
        shown = upto[-per_page:]
        older = shown[0].number if len(upto) > per_page else None
        return Page(telegram_page(channel, site.base, shown, older=older))

    site.pages[f"/s/{channel}"] = page(ordered)
    for p in ordered:
        before = [q for q in ordered if q.number < p.number]
        if before:
            site.pages[f"/s/{channel}?before={p.number}"] = page(before)


def mastodon_feed(base: str, user: str, posts: list[tuple[int, str, datetime]]) -> str:
    items = "\n".join(f"""<item><guid isPermaLink="true">{base}/@{user}/{n}</guid>
<link>{base}/@{user}/{n}</link><pubDate>{format_datetime(when)}</pubDate>
<description>{escape(html)}</description></item>""" for n, html, when in posts)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:webfeeds="http://webfeeds.org/rss/1.0"
 xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Harbour Union</title>
<description>Public posts from @{user}@{base.split('//')[1]}</description>
<link>{base}/@{user}</link>{items}</channel></rss>"""


def bluesky_feed(base: str, handle: str, posts: list[tuple[str, str, datetime]]) -> str:
    items = "\n".join(f"""<item><link>{base}/profile/{handle}/post/{rkey}</link>
<description>{escape(text)}</description><pubDate>{format_datetime(when)}</pubDate>
<guid isPermaLink="false">at://did:plc:abc123/app.bsky.feed.post/{rkey}</guid></item>"""
                      for rkey, text, when in posts)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><description>Harbour Union on Bluesky</description>
<link>{base}/profile/{handle}</link><title>@{handle} - Harbour Union</title>{items}
</channel></rss>"""
