"""HTML → Extracted: the article's title, publication date and body blocks. Pure: no I/O.

The stages live in their own modules: `extract_walk` (the blocks of the page and which of
them are the body), `extract_clean` and `extract_sections` (the body's blocks judged and
cleaned), `extract_meta` (what the head declares; title, canonical URL, language, author)
and `extract_dates` (the publication date). This module runs them in order and owns the
public entry points: `extract`, `html_to_blocks`, `choose` and the `collector extract`
command. No per-site rules; see docs/extraction.md.
"""

from __future__ import annotations

import html as html_text
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from selectolax.lexbor import LexborHTMLParser, LexborNode

from . import limits
from .document import clean_line, print_extracted, render
from .encoding import html_to_utf8
from .errors import ExtractError
from .extract_clean import finish, selector_blocks, walk_page
from .extract_dates import find_date, headline_date
from .extract_meta import Head, author, canonical_url, declared_body, find_title, language, norm
from .extract_recipe import recipe_lines
from .extract_walk import (
    PARSE_OPTIONS,
    TAG_ID,
    Walk,
    body_root,
    clean,
    count_words,
    word_units,
)
from .models import Extracted
from .parse_worker import precheck_html
from .textdates import only_date


def _drop_title(blocks: list[str], title: str) -> list[str]:
    """The headline is the document's first line; don't repeat it as the body's first block."""
    nt = norm(title)
    # normalising only shortens runs of non-word characters: a block whose start alone
    # normalises to more than the title is not the title (saves normalising long paragraphs)
    prefix = 2 * len(title) + 20
    for i, b in enumerate(blocks[:3]):
        if len(b) > prefix and len(norm(b[:prefix])) > len(nt):
            continue
        if norm(b) == nt:
            return blocks[:i] + blocks[i + 1:]
    return blocks


#: How many of the body's first blocks may be the date shown with the headline.
_OPENING_DATE_BLOCKS = 3


def _drop_opening_date(blocks: list[str]) -> list[str]:
    """The body less a date alone among its first blocks (after a standfirst, say): under a
    headline that is the publication date, which the database keeps, not the text (FORMAT.md).
    (Without a headline it stands first as the title; a date closing the body is a
    signature's.)"""
    for i, b in enumerate(blocks[:_OPENING_DATE_BLOCKS]):
        if len(b) < 40 and i + 1 < len(blocks) and only_date(b):
            return blocks[:i] + blocks[i + 1:]
    return blocks


#: A byline: "By" in one of the languages we read, then a name of one to four words, or two
#: names joined by "and" (no sentence, no other text); every word of a name capitalised.
_NAME = r"[^\W\d_][\w.'’-]*(?: [^\W\d_][\w.'’-]*){0,3}"
_BY_WORDS = ("by", "von", "par", "por", "di", "door", "av", "od", "от")
_NAME_JOINERS = ("and", "und", "et", "y", "e", "en", "i", "и", "&")
_BYLINE = re.compile(
    rf"(?:{'|'.join(_BY_WORDS)}) {_NAME}(?: (?:{'|'.join(_NAME_JOINERS)}) {_NAME})?",
    re.IGNORECASE)
#: The characters a byline starts with (most lines are refused before the pattern).
_BYLINE_FIRST = frozenset(c for w in _BY_WORDS for c in (w[0], w[0].upper()))


def _byline(line: str) -> bool:
    """Whether the line is a byline alone (see `_BYLINE`)."""
    if len(line) >= 60 or line[0] not in _BYLINE_FIRST or line[-1] == "." \
            or _BYLINE.fullmatch(line) is None:
        return False
    return all(w[0].isupper() or w in _NAME_JOINERS for w in line.split()[1:])


def _drop_opening_byline(blocks: list[str]) -> list[str]:
    """The body less a byline alone ("By Jane Doe") among its first blocks: under a headline
    it names the author, whom the database keeps, not the text (FORMAT.md)."""
    for i, b in enumerate(blocks[:_OPENING_DATE_BLOCKS]):
        if i + 1 < len(blocks) and _byline(b):
            return blocks[:i] + blocks[i + 1:]
    return blocks


#: A tag: a declared text holding one is HTML.
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
#: An element that opens a paragraph or a line.
_HTML_BLOCK = re.compile(r"<(?:p|br|div|h[1-6]|li|blockquote)\b", re.IGNORECASE)


def _declared_blocks(text: str) -> list[str]:
    """The blocks of an article's text as a page declares it: HTML (written out or escaped
    once more, as some sites' metadata has it) read by the block rules, its lines kept when
    it has no element that opens a block; plain text a block a line."""
    if _TAG.search(text) is None:
        text = html_text.unescape(text)
        if _TAG.search(text) is None:
            return [line for line in map(clean, text.splitlines()) if line]
    if _HTML_BLOCK.search(text) is None:
        text = text.replace("\n", "<br>")
    return html_to_blocks(text)


#: A text the walk without the furniture rules finds is short under this many words: a form's
#: or a prompt's few sentences, not an article that a furniture word hid.
_SHORT_RETRY_WORDS = 100
#: A block is looked for in an element's text by its first characters (the walk skips
#: elements inside a block, buttons and furniture, that the element's text keeps: a short
#: probe seldom spans one).
_PROBE_CHARS = 60


def _same_article(root: LexborNode, walk: Walk, again: Walk) -> bool:
    """Whether the retry's body (`again`: most of its prose) lies in the `<article>`, `<main>`
    or hAtom entry (`.hentry`) that holds the first walk's body, when one does. A short body
    inside the page's article is a short post (a quotation, a link with a line of comment):
    the longer but still short text the retry finds outside it is the page's (a comment
    form, a reader's prompt, the blog's footer). (An article element may hold only the
    headline and a standfirst, the text following it: `extract` asks this only of a short
    retry.)"""
    if walk.best[1] is None or again.span[1] <= again.span[0]:
        return True  # (the first walk found no prose at all: nothing of the article's)
    first, last = walk.span
    mine = [walk.blocks[i].strip()[:_PROBE_CHARS] for i in range(first, last)
            if walk.goods[i]] or [walk.blocks[first].strip()[:_PROBE_CHARS]]
    # the smallest element holding all of it (a later article repeating its first line, a
    # title, is not the one)
    inside: str | None = None
    for node in root.css("article, main, .hentry"):
        text = node.text()
        if (inside is None or len(text) < len(inside)) and all(line in text for line in mine):
            inside = text
    if inside is None:
        return True
    first, last = again.span
    prose = [again.blocks[i].strip() for i in range(first, last) if again.goods[i]]
    held = sum(len(text) for text in prose if text[:_PROBE_CHARS] in inside)
    return 2 * held >= sum(len(text) for text in prose)


def extract(html: bytes | str, *, url: str | None = None,
            headers: Mapping[str, str] | None = None, content_selector: str | None = None,
            now: datetime | None = None, item_title: str | None = None,
            site_names: tuple[str, ...] = ()) -> Extracted:
    """Extract one article page. `now` bounds the publication date (defaults to the clock).

    `item_title` is the title a feed or listing gave the page, `site_names` what else names
    the site (a feed's channel title, the source's name): when the page's own title is only
    the site's name, the item's title is the document's title.

    Raises ExtractError when the page is not HTML that can be read at all.
    """
    if now is None:
        now = datetime.now(UTC)
    if isinstance(html, bytes):
        ctype = None
        for key, value in (headers or {}).items():
            if key.lower() == "content-type":
                ctype = value
        # lexbor reads UTF-8: most pages are given to it as they came
        data = html_to_utf8(html[: limits.MAX_HTML_BYTES], ctype)
    elif isinstance(html, str):
        # encoding once here lets the pre-check work on bytes (cheap)
        data = html.encode("utf-8", "replace")
    else:
        raise ExtractError(f"expected HTML as bytes or str, got {type(html).__name__}")
    tree = LexborHTMLParser(precheck_html(data), options=PARSE_OPTIONS)
    head = Head(tree)
    root = body_root(tree)
    if root is None:
        raise ExtractError("the page has no document body")

    method = "page"
    h1s: list[str] = []
    shown_date = None
    opening: list[str] = []  # the container's first lines, before any was judged furniture
    if content_selector:
        blocks = selector_blocks(tree, content_selector)
        method = "selector"
    else:
        walk, blocks = walk_page(root, furniture=True, declared=recipe_lines(head.jsonld))
        h1s = walk.h1s
        shown_date = headline_date(walk.blocks, walk.h1_span, now)
        opening = walk.blocks[walk.span[0]:walk.span[0] + 3]
        if count_words(blocks, limits.MIN_BODY_WORDS) < limits.MIN_BODY_WORDS:
            # class-based furniture rules can be wrong on an unusual page: retry without them
            # (a page without any prose outside `<noscript>` is its fallback for browsers
            # without scripts: the page as rendered by a script)
            again, retry = walk_page(root, furniture=False, noscript=walk.best[1] is None)
            found = count_words(retry, _SHORT_RETRY_WORDS)
            if found > count_words(blocks) and (found >= _SHORT_RETRY_WORDS
                                                or _same_article(root, walk, again)):
                blocks = retry
        declared = declared_body(head.jsonld)
        if declared is not None:
            # a page whose script shows the article (an application's page, a metered
            # site's) declares its text for search engines: shown less than half of it, the
            # page's own text is furniture around an empty frame. (The declared text's words,
            # markup and all, bound its blocks' from above: a page showing half of those
            # needs no look at the blocks.)
            half = word_units(declared) // 2
            if count_words(blocks, half) < half:
                shown = _declared_blocks(declared)
                if count_words(blocks) < count_words(shown) / 2:
                    blocks = shown
                    method = "metadata"
    if not h1s:
        h1s = [t for t in (clean(n.text()) for n in tree.css("h1")[:5]) if t]
    title = find_title(head, h1s, tree, url, item_title, site_names)
    blocks = _drop_title(blocks, title)
    if title and title != item_title:  # (the page has a headline of its own)
        blocks = _drop_opening_date(blocks)
        blocks = _drop_opening_byline(blocks)
    # a byline the classifier took out still tells the date
    head_text = " ".join(opening or blocks[:3])
    published = find_date(tree, head.jsonld, head.metas, url, head_text, now, shown_date)
    words = count_words(blocks, limits.MIN_BODY_WORDS)
    return Extracted(
        title=title,
        blocks=tuple(blocks),
        published=published,
        canonical_url=canonical_url(head, url),
        language=language(tree, head.metas),
        author=author(head.jsonld, head.metas),
        method=method,
        flags=("short",) if words < limits.MIN_BODY_WORDS else (),
    )


def html_to_blocks(html: str) -> list[str]:
    """Blocks of an HTML fragment (a feed's content:encoded), by the same block rules."""
    tree = LexborHTMLParser(precheck_html(html.encode("utf-8", "replace")),
                            options=PARSE_OPTIONS)
    root = body_root(tree)
    if root is None:
        return []
    w = Walk(True, root)
    w.enter(TAG_ID["body"])
    w.walk(root)
    w.leave()
    return finish(w.blocks, w.links, [True] * len(w.blocks))


def choose(page: Extracted | None, feed_html: str | None, feed_title: str | None) -> Extracted:
    """The page's extraction, unless the feed's full text is longer (or the page is missing).

    The result's `method` is "feed" when the feed's text is used; the page's metadata (date,
    canonical URL, language, author) is kept either way.
    """
    feed_blocks = html_to_blocks(feed_html) if feed_html else []
    feed_words = count_words(feed_blocks)
    if page is not None and count_words(list(page.blocks)) >= feed_words:
        return page
    if not feed_blocks:
        if page is not None:
            return page
        raise ExtractError("neither the page nor the feed entry has any text")
    title = clean_line(feed_title or "") or (page.title if page is not None else "")
    flags = ("short",) if feed_words < limits.MIN_BODY_WORDS else ()
    if page is None:
        return Extracted(title=title, blocks=tuple(feed_blocks), method="feed", flags=flags)
    return replace(page, title=page.title or title, blocks=tuple(_drop_title(feed_blocks,
                                                                            page.title or title)),
                   method="feed", flags=flags)


def main(argv: list[str] | None = None) -> int:
    """`collector extract PAGE.html [--url URL]`: print the document as it would be stored."""
    import argparse  # the command-line entry only; a parse worker imports this module too
    from pathlib import Path

    ap = argparse.ArgumentParser(prog="collector extract",
                                 description="Extract the article of a saved HTML page.")
    ap.add_argument("page", help="saved HTML page, or - for standard input")
    ap.add_argument("--url", help="the page's URL (for dates in the URL and relative links)")
    ap.add_argument("--selector", help="CSS selector of the content area (as in sources.yaml)")
    args = ap.parse_args(argv)
    try:
        data = sys.stdin.buffer.read() if args.page == "-" else Path(args.page).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.page}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        result = extract(data, url=args.url, content_selector=args.selector,
                         now=datetime.now(UTC))
        render(result.title, result.blocks)  # a document that cannot be written is an error
    except (ExtractError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_extracted(result)
    return 0
