"""HTML → Extracted: the article's title, publication date and body blocks. Pure: no I/O.

How the body is found (no per-site rules):

1. One walk over the parsed page (selectolax/lexbor) turns it into a flat list of blocks —
   paragraphs, headings, list items, quotations, captions, cells — and, for every block-level
   element, the range of blocks it holds and how much of their text reads like prose (long
   enough, few links) versus everything else. Subtrees that are furniture by their tag (nav,
   aside, footer, forms' controls, scripts) or by the words in their class/id (share, comments,
   related, cookie, newsletter, sidebar, breadcrumbs, tags, author box, ...) are not entered.
2. The container is the element maximising `prose − α·other`: the smallest element that holds
   the article's prose without the page's furniture around it.
3. Its blocks are cleaned: link lists, button labels and the repeated headline are dropped.

A source may name its content area with a CSS selector; then only step 3 applies to it.
Metadata (title, date, canonical URL, language, author) comes from JSON-LD, meta tags,
`<time>` elements, the URL and the visible text, in that order of trust; a date printed with
the headline wins over a declared date that falls on another day.

Speed matters (every page of every source passes through here): the walk touches each node
once through lexbor's own numbers for tags, reads attributes only where a class or id can
decide something, and books blocks without a second pass; UTF-8 bytes go to the parser as
they came. See docs/extraction.md for the figures.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode

from . import limits
from .document import clean_line, render
from .encoding import html_to_utf8
from .errors import ExtractError
from .models import Extracted
from .parse_worker import precheck_html

#: The tree is only read: lexbor's mutation callbacks (which make `<selectedcontent>` mirror
#: the chosen `<option>`) are not needed and cost time on every inserted node.
_PARSE_OPTIONS = LexborDocumentOptions.WO_EVENTS.value

# --- the walk ---------------------------------------------------------------------------------

#: Subtrees never read: code, media, controls and the page's own furniture elements.
_SKIP = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "video", "audio", "button", "select", "textarea", "input", "option", "head",
    "dialog", "map", "img", "picture", "source", "link", "meta", "title", "-comment", "label",
})
#: Furniture by tag, unless (broken markup) the element holds the page's main content.
_FURNITURE_TAGS = frozenset({"nav", "aside", "footer", "menu"})
#: Elements that start a new block; everything else is inline.
_BLOCK = frozenset({
    "p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "figure", "figcaption", "pre", "table",
    "tbody", "thead", "tfoot", "tr", "td", "th", "caption", "address", "hr", "center", "details",
    "summary", "form", "body", "html", "hgroup", "br",
})
#: Block-level elements that may be chosen as the article's container.
_CONTAINERS = frozenset({
    "div", "section", "article", "main", "td", "body", "form", "center", "dd", "blockquote",
})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Inline elements whose classes are not worth reading (saves an attribute fetch per link).
_NEVER_FURNITURE = frozenset({"a", "b", "i", "em", "strong", "sup", "sub", "small", "abbr",
                              "cite", "code", "u", "s", "mark", "q", "time", "font", "wbr",
                              "p", "h1", "h2", "h3", "h4", "h5", "h6"})

#: Words in class/id that mark furniture (matched against the parts of each class token).
_FURNITURE_PARTS = frozenset({
    "share", "sharing", "shares", "social", "socials", "sharedaddy", "addthis", "sharethis",
    "comment", "comments", "disqus", "respond", "related", "recommended", "recommendations",
    "cookie", "cookies", "consent", "gdpr", "newsletter", "subscribe", "subscription", "signup",
    "breadcrumb", "breadcrumbs", "pagination", "pager", "skiplink", "outbrain", "taboola",
    "tagcloud", "tags", "printfriendly", "authorbox", "mostread", "prevnext", "postnav",
    "readmore", "readalso", "reactions", "donate",
})
#: Layout words that usually mark furniture but also appear on content areas ("main-sidebar
#: layout", "content-sidebar-wrap"): they only count on elements holding little of the page.
_WEAK_PARTS = frozenset({
    "sidebar", "widget", "widgets", "navbar", "navigation", "nav", "menu", "topbar", "masthead",
    "advert", "advertisement", "ads", "ad", "adsense", "sponsored", "promo", "popup", "modal",
    "print", "bio", "trending", "popular", "footer", "copyright", "banner", "toolbar",
    "offcanvas", "jp", "rating",
})
#: Share of the page's text above which a weak match is not believed.
_WEAK_MAX_SHARE = 0.2
#: Elements holding one of these are the article, whatever their class says.
_MAIN_MARKERS = "h1, main, [role=main], [itemprop=articleBody]"
_CLASS_TOKEN = re.compile(r"^[a-z][a-z0-9_-]*$")
#: Whole class tokens that mark furniture but whose parts are too generic alone.
_FURNITURE_TOKENS = frozenset({
    "author-box", "about-author", "author-info", "author-card", "post-author", "entry-author",
    "post-tags", "entry-tags", "tag-links", "tags-links", "cat-links", "entry-meta-bottom",
    "entry-footer", "post-footer", "article-footer", "more-stories", "also-read",
    "you-may-like", "read-next", "more-from", "post-navigation", "nav-links", "site-header",
    "site-footer", "page-header", "wp-block-latest-posts", "screen-reader-text", "sr-only",
    "visually-hidden", "noprint", "no-print", "share-bar",
    "author-details", "author-meta", "byline-author", "newsletter-signup", "tag-list",
    "article-tags", "keywords", "entry-categories", "post-categories", "categories",
    "wp-block-tag-cloud", "related-content", "read-more", "meta-tags", "entry-meta",
    "post-meta", "byline", "posted-on", "article-meta", "post-byline", "article-info",
})
#: Class tokens that describe the page or a post's taxonomy rather than a region.
_NEUTRAL_PREFIXES = ("has-", "has_", "no-", "is-", "with-", "tag-", "category-", "format-",
                     "postid-", "status-", "type-", "page-", "single", "js-", "wp-embed")
_SIGNAL_PARTS = _FURNITURE_PARTS | _WEAK_PARTS
#: A token with one of these parts describes a state or layout ("main-with-sidebar").
_NEUTRAL_PARTS = frozenset({"with", "without", "has", "no", "is", "not"})
_SPLIT_CLASS = re.compile(r"[-_]")
_ROLE_FURNITURE = frozenset({
    "navigation", "complementary", "banner", "contentinfo", "search", "menu", "menubar",
    "dialog", "alert", "alertdialog", "toolbar",
})

#: A block reads as prose when it has this many words and few links.
_PROSE_WORDS = 10
_PROSE_MAX_LINK_SHARE = 0.35
_PROSE_MIN_CHARS = 2 * _PROSE_WORDS - 1  # one character per word and one space between
#: What link-list text and other short text cost a container, relative to the prose it gains:
#: link lists are the mark of furniture; short plain lines (table cells, list items, headings)
#: belong to articles as often as to furniture.
_ALPHA = 2.0
_BETA = 0.1
#: A sibling of the chosen container joins the article when this share of its text is prose
#: (articles split into several sections or interrupted by a figure or an advert).
_SIBLING_PROSE_SHARE = 0.6
#: Lines that are button labels or furniture captions even inside the article.
_BOILER = re.compile(
    r"^(?:share|share this|share on \w+|tweet|print|email|e-mail|facebook|twitter|linkedin|"
    r"whatsapp|pinterest|reddit|telegram|advertisement|sponsored|read more|continue reading|"
    r"related|related articles|related posts|related stories|tags|tags:|filed under|posted in|"
    r"categories|comments?|leave a comment|leave a reply|no comments|\d+ comments?|"
    r"like this:|like loading\.\.\.|click to share.*|share this:|share this article|"
    r"skip to (?:main )?content|back to top|previous|next|previous post|next post|"
    r"subscribe|sign up|newsletter|copy link|listen|save|bookmark)$",
    re.IGNORECASE,
)
#: The same for ASCII lines, lower-cased: the fixed labels as a set, the rest as a pattern.
_BOILER_LABELS = frozenset({
    "share", "share this", "tweet", "print", "email", "e-mail", "facebook", "twitter",
    "linkedin", "whatsapp", "pinterest", "reddit", "telegram", "advertisement", "sponsored",
    "read more", "continue reading", "related", "related articles", "related posts",
    "related stories", "tags", "tags:", "filed under", "posted in", "categories", "comment",
    "comments", "leave a comment", "leave a reply", "no comments", "like this:",
    "like loading...", "share this:", "share this article", "skip to content",
    "skip to main content", "back to top", "previous", "next", "previous post", "next post",
    "subscribe", "sign up", "newsletter", "copy link", "listen", "save", "bookmark",
})
_BOILER_ASCII = re.compile(r"(?:share on \w+|\d+ comments?|click to share.*)$")


def _is_boiler(line: str) -> bool:
    """A button label or furniture caption ("Share", "Read more", "3 comments")."""
    label = line.rstrip(" :»›→")
    if label.isascii():
        label = label.lower()
        return label in _BOILER_LABELS or _BOILER_ASCII.match(label) is not None
    return _BOILER.match(label) is not None


# Element kinds for the walk: one dictionary lookup per element decides what to do with it.
_K_SKIP, _K_BREAK, _K_BLOCK, _K_PRE, _K_LINK, _K_INLINE = range(6)
#: Added to a kind when the element's attributes must be read for furniture first.
_K_CHECK = 8


def _tag_ids(names: frozenset[str]) -> frozenset[int]:
    """lexbor's numbers for these tag names (the walk compares numbers: cheaper to read)."""
    return frozenset(_TAG_ID[name] for name in names)


def _known_tag_ids() -> dict[str, int]:
    probe = LexborHTMLParser("<p>text<!--comment--></p>")
    root = probe.root
    assert root is not None
    ids: dict[str, int] = {str(node.tag): int(node.tag_id)
                           for node in root.traverse(include_text=True)}
    names = (_SKIP | _FURNITURE_TAGS | _BLOCK | _CONTAINERS | _HEADINGS | _NEVER_FURNITURE
             | {"a", "pre", "article", "main", "body", "html"})
    for name in names:
        if name not in ids:
            ids[name] = probe.create_node(name).tag_id
    return ids


_TAG_ID = _known_tag_ids()
_TEXT_ID = _TAG_ID["-text"]
_H1_ID = _TAG_ID["h1"]


def _kinds(furniture: bool) -> dict[int, int]:
    kinds: dict[int, int] = {}
    check = _K_CHECK if furniture else 0
    for tag in _BLOCK:
        kinds[_TAG_ID[tag]] = _K_BLOCK + (0 if tag in _NEVER_FURNITURE else check)
    kinds[_TAG_ID["pre"]] = _K_PRE + check
    for tag in _NEVER_FURNITURE - _BLOCK:
        kinds[_TAG_ID[tag]] = _K_INLINE
    kinds[_TAG_ID["a"]] = _K_LINK
    kinds[_TAG_ID["br"]] = kinds[_TAG_ID["hr"]] = _K_BREAK
    for tag in _SKIP:
        kinds[_TAG_ID[tag]] = _K_SKIP
    return kinds


#: (kinds by tag, kind of any other tag), with and without the furniture rules.
_KINDS = {True: (_kinds(True), _K_INLINE + _K_CHECK), False: (_kinds(False), _K_INLINE)}


class _Walk:
    """One pass over a subtree; collects blocks and per-container prose statistics."""

    __slots__ = ("_page_chars", "best", "blocks", "default_kind", "goods", "h1_span", "h1s",
                 "kinds", "line", "link_chars", "links", "records", "root", "stack")

    def __init__(self, furniture: bool, root: LexborNode):
        self.kinds, self.default_kind = _KINDS[furniture]
        self.root = root
        self._page_chars = -1
        self.blocks: list[str] = []          # raw block texts, in document order
        self.goods: list[bool] = []          # block reads as prose
        self.links: list[float] = []         # share of the block's characters inside links
        self.line: list[str] = []            # text of the block being read
        self.link_chars = 0
        # frames: [tag, first block, prose chars, link-list chars, other chars, parent frame,
        # end block (set when the element is left)]; the open ones on a stack
        self.stack: list[list] = []
        self.records: list[list] = []       # every block element's frame, in document order
        self.h1s: list[str] = []            # headings h1 outside furniture, cleaned
        self.h1_span: tuple[int, int] | None = None  # blocks of the first h1 with text
        self.best: tuple[float, list | None] = (float("-inf"), None)

    @property
    def page_chars(self) -> int:
        """Characters of text on the whole page (computed once, only when needed)."""
        if self._page_chars < 0:
            self._page_chars = len(self.root.text_lexbor())
        return self._page_chars

    def flush(self) -> None:
        """End the current line: it becomes a block of the innermost open element."""
        line = self.line
        text = ("".join(line) if len(line) > 1 else line[0]).strip()
        line.clear()  # the same list object: walk() holds it
        link_chars, self.link_chars = self.link_chars, 0
        if not text:
            return
        n = len(text)
        share = link_chars / n if link_chars < n else 1.0
        # only whether there are enough words matters: stop splitting once there are (and
        # don't split lines too short to hold that many words at all)
        good = (share <= _PROSE_MAX_LINK_SHARE and n >= _PROSE_MIN_CHARS
                and len(text.split(None, _PROSE_WORDS)) >= _PROSE_WORDS)
        self.blocks.append(text)
        self.goods.append(good)
        self.links.append(share)
        frame = self.stack[-1]
        if good:
            frame[2] += n
        elif share > 0.5:
            frame[3] += n
        else:
            frame[4] += n

    def enter(self, tag: int) -> None:
        if self.line:
            self.flush()
        stack = self.stack
        frame = [tag, len(self.blocks), 0, 0, 0, stack[-1] if stack else None, -1]
        self.records.append(frame)
        stack.append(frame)

    def leave(self) -> None:
        if self.line:
            self.flush()
        self.close(self.stack.pop())

    def close(self, frame: list) -> None:
        """Book a left element: its totals go to its parent; it may be the best container."""
        last = frame[6] = len(self.blocks)
        tag, first, prose, linky, plain, parent = frame[:6]
        if parent is not None:
            parent[2] += prose
            parent[3] += linky
            parent[4] += plain
        if tag == _H1_ID and last > first:
            self.headline(first, last)
        if prose and tag in _CONTAINER_IDS:
            score = prose - _ALPHA * linky - _BETA * plain
            if score > self.best[0]:
                self.best = (score, frame)

    def headline(self, first: int, last: int) -> None:
        """Note an h1 outside furniture that holds blocks `first` to `last`."""
        if len(self.h1s) < 5:
            if self.h1_span is None:
                self.h1_span = (first, last)
            h1 = _clean(" ".join(self.blocks[first:last]))
            if h1:
                self.h1s.append(h1)

    def chosen(self) -> list[int]:
        """Indexes of the article's blocks: the best container plus prose-like siblings."""
        _score, best = self.best
        if best is None:
            # no prose anywhere (a very short page): everything that is not a link list
            return list(range(len(self.blocks)))
        first, last = best[1], best[6]
        # climb through wrappers that hold exactly the same blocks
        parent = best[5]
        while parent is not None and parent[1] == first and parent[6] == last:
            best, parent = parent, parent[5]
        keep = list(range(first, last))
        if parent is None:
            return keep
        ranges: list[tuple[int, int]] = []
        pending_heading: tuple[int, int] | None = None
        for frame in self.records:
            if frame[5] is not parent:
                continue
            tag, s_first, prose, linky, plain, _parent, s_last = frame
            if frame is best or s_first == s_last:
                continue
            total = prose + linky + plain
            if prose and prose >= _SIBLING_PROSE_SHARE * total and linky < 0.2 * total:
                if pending_heading:
                    ranges.append(pending_heading)
                ranges.append((s_first, s_last))
                pending_heading = None
            elif tag in _HEADING_IDS:
                pending_heading = (s_first, s_last)
            else:
                pending_heading = None
        for s_first, s_last in ranges:
            keep.extend(range(s_first, s_last))
        keep.sort()
        return keep

    def walk(self, node: LexborNode, in_link: bool = False) -> None:
        # the hot loop: one dictionary lookup per element, locals only, rare cases last
        line = self.line
        append = line.append
        kinds = self.kinds
        default = self.default_kind
        records = self.records
        stack = self.stack
        blocks = self.blocks
        for child in node.iter(include_text=True):
            tag = child.tag_id
            if tag == _TEXT_ID:
                text = child.text_content
                # white space before a line's first word would be stripped: don't keep it
                if text and (line or not text.isspace()):
                    append(text)
                    if in_link:
                        self.link_chars += len(text.strip())
                continue
            kind = kinds.get(tag, default)
            if kind >= _K_CHECK:
                if _is_furniture(child, tag, self):
                    continue
                kind -= _K_CHECK
            if kind == _K_INLINE:
                self.walk(child, in_link)
            elif kind == _K_BLOCK:
                if line:
                    self.flush()
                frame: list[Any] = [tag, len(blocks), 0, 0, 0, stack[-1], -1]
                records.append(frame)
                stack.append(frame)
                self.walk(child, in_link)
                if line:
                    self.flush()
                stack.pop()
                last = frame[6] = len(blocks)
                if last > frame[1]:
                    # book the element (as `close` does, inline: this runs for most blocks)
                    prose = frame[2]
                    parent: list[Any] = frame[5]
                    parent[2] += prose
                    parent[3] += frame[3]
                    parent[4] += frame[4]
                    if tag == _H1_ID:
                        self.headline(frame[1], last)
                    if prose and tag in _CONTAINER_IDS:
                        score = prose - _ALPHA * frame[3] - _BETA * frame[4]
                        if score > self.best[0]:
                            self.best = (score, frame)
            elif kind == _K_LINK:
                self.walk(child, True)
            elif kind == _K_BREAK:
                if line:
                    self.flush()
            elif kind == _K_PRE:
                self.enter(tag)
                self._pre(child)
                self.leave()

    def _pre(self, node: LexborNode) -> None:
        for line in (node.text(deep=True) or "").split("\n"):
            self.line.append(line)
            self.flush()


#: Elements that are the page's own frame: never furniture by their class.
_FRAME_TAGS = frozenset({"article", "main", "body", "html"})
#: Attributes that alone never make an element furniture.
_CLASS_ID = frozenset({"class", "id"})
_FRAME_TAG_IDS = _tag_ids(_FRAME_TAGS)
_FURNITURE_TAG_IDS = _tag_ids(_FURNITURE_TAGS)
_CONTAINER_IDS = _tag_ids(_CONTAINERS)
_HEADING_IDS = _tag_ids(_HEADINGS)


def _is_furniture(node: LexborNode, tag: int, walk: _Walk) -> bool:
    if tag in _FURNITURE_TAG_IDS:
        return node.css_first("article, " + _MAIN_MARKERS) is None
    attrs = node.attributes
    if not attrs:
        return False
    # most elements carry only class and id: skip the rarer attributes' tests for them
    if not attrs.keys() <= _CLASS_ID:
        role = attrs.get("role")
        if role and role.lower() in _ROLE_FURNITURE:
            return True
        if "hidden" in attrs or attrs.get("aria-hidden") == "true":
            return tag not in _FRAME_TAG_IDS
        style = attrs.get("style")
        if style and "display:none" in style.replace(" ", "").lower():
            return True
    if tag in _FRAME_TAG_IDS:
        return False
    cls = attrs.get("class")
    verdict = _names_verdict(cls) if cls else 0
    if verdict < 2:
        ident = attrs.get("id")
        if ident:
            verdict = max(verdict, _names_verdict(ident))
    if not verdict:
        return False
    if node.css_first(_MAIN_MARKERS) is not None:
        return False
    return verdict == 2 or len(node.text_lexbor()) < _WEAK_MAX_SHARE * walk.page_chars


#: class or id string → 0 (neutral), 1 (weak furniture words), 2 (strong furniture words);
#: and the same for single tokens. Both only save time, so both are simply emptied when full.
_NAMES_VERDICTS: dict[str, int] = {}
_TOKEN_VERDICTS: dict[str, int] = {}
_MAX_VERDICTS = 50_000


def _names_verdict(names: str) -> int:
    verdict = _NAMES_VERDICTS.get(names)
    if verdict is not None:
        return verdict
    verdict = 0
    known = _TOKEN_VERDICTS.get
    for token in names.lower().split():
        v = known(token)
        if v is None:
            if len(_TOKEN_VERDICTS) >= _MAX_VERDICTS:
                _TOKEN_VERDICTS.clear()
            v = _TOKEN_VERDICTS[token] = _token_verdict(token)
        if v > verdict:
            verdict = v
    if len(_NAMES_VERDICTS) >= _MAX_VERDICTS:
        _NAMES_VERDICTS.clear()
    _NAMES_VERDICTS[names] = verdict
    return verdict


def _token_verdict(token: str) -> int:
    """2 for a token naming furniture, 1 for a layout word that often does, else 0."""
    if token in _FURNITURE_TOKENS:
        return 2
    parts = token.replace("_", "-").split("-")
    if _SIGNAL_PARTS.isdisjoint(parts):
        return 0  # most tokens: no word of either list
    # only plain tokens ([a-z][a-z0-9_-]*) are read: utility classes ("md:flex", "w-1/2")
    # and state or taxonomy prefixes say nothing about the region
    if not ("a" <= token[0] <= "z") or token.startswith(_NEUTRAL_PREFIXES):
        return 0
    word = "".join(parts)
    if not (word.isascii() and word.isalnum()):
        return 0
    if len(parts) > 1 and not _NEUTRAL_PARTS.isdisjoint(parts):
        return 0
    if not _FURNITURE_PARTS.isdisjoint(parts):
        return 2
    return 1


# --- metadata -------------------------------------------------------------------------------

_ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "report", "scholarlyarticle", "techarticle", "pressrelease",
    "posting", "socialmediaposting", "liveblogposting", "backgroundnewsarticle", "webpage",
    "creativework", "event", "review",
})
_MAX_JSONLD_CHARS = 500_000


class _Head:
    """What the document head declares, read in one pass over its children."""

    __slots__ = ("canonical", "jsonld", "metas", "title")

    def __init__(self, tree: LexborHTMLParser):
        self.metas: dict[str, str] = {}
        self.title = ""
        self.canonical: str | None = None
        scripts: list[str] = []
        head = tree.head
        for node in head.iter() if head is not None else ():
            tag = node.tag
            if tag == "meta":
                attrs = node.attributes
                key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
                content = attrs.get("content")
                if key and content and content.strip():
                    self.metas.setdefault(key.strip().lower(), content.strip())
                elif (attrs.get("http-equiv") or "").lower() == "content-language" and content:
                    self.metas.setdefault("content-language", content.strip())
            elif tag == "script":
                if (node.attrs.get("type") or "").strip().lower() == "application/ld+json":
                    scripts.append(node.text(deep=True))
            elif tag == "title":
                if not self.title:
                    self.title = _clean(node.text())
            elif tag == "link" and self.canonical is None:
                link_attrs = node.attrs  # one or two look-ups: cheaper than copying them all
                href = link_attrs.get("href")
                if (link_attrs.get("rel") or "").strip().lower() == "canonical" and href:
                    self.canonical = href
        if not scripts and tree.body is not None:
            scripts = [n.text(deep=True)
                       for n in tree.body.css('script[type="application/ld+json"]')[:20]]
        self.jsonld = _jsonld_objects(scripts)


def _jsonld_objects(scripts: list[str]) -> list[dict]:
    found: list[dict] = []
    for raw in scripts:
        if not raw or len(raw) > _MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(raw.strip().rstrip(";"))
        except ValueError:
            continue
        todo = [data]
        while todo and len(found) < 100:
            item = todo.pop(0)
            if isinstance(item, list):
                todo.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    todo.extend(item["@graph"] if isinstance(item["@graph"], list) else [])
                found.append(item)
    return found


def _types(obj: dict) -> set[str]:
    t = obj.get("@type")
    if isinstance(t, str):
        return {t.lower()}
    if isinstance(t, list):
        return {x.lower() for x in t if isinstance(x, str)}
    return set()


def _name_of(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("name")
        return name if isinstance(name, str) else None
    if isinstance(value, list):
        names = [n for n in (_name_of(v) for v in value) if n]
        return ", ".join(names) if names else None
    return None


_DATE_META_STRONG = ("article:published_time", "og:article:published_time",
                     "article.published", "published_time", "datepublished")
_DATE_META_WEAK = ("pubdate", "publishdate", "publish-date", "publish_date", "date",
                   "dc.date.issued", "dc.date", "dcterms.date", "dcterms.created", "sailthru.date",
                   "parsely-pub-date", "article.created", "og:published_time", "created",
                   "citation_publication_date", "citation_date", "originalpublicationdate")
#: A weak date this close before `now` is more likely the moment the page was rendered.
_FETCH_TIME_SLACK = timedelta(minutes=10)
#: Dates before this are not publication dates of a web page.
_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_TEXT_DATE = re.compile(
    rf"\b(?:(?P<m1>{_MONTHS})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y1>(?:19|20)\d\d)"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTHS}),?\s+"
    r"(?P<y2>(?:19|20)\d\d)"
    r"|(?P<y3>(?:19|20)\d\d)(?P<s3>[-./])(?P<m3>\d\d?)(?P=s3)(?P<d3>\d\d?)"
    r"|(?P<d4>\d\d?)\.(?P<m4>\d\d?)\.(?P<y4>(?:19|20)\d\d)"
    r"|(?P<a5>\d\d?)/(?P<b5>\d\d?)/(?P<y5>(?:19|20)\d\d))\b",
    re.IGNORECASE,
)
_MONTH_NUMBERS = {name: i for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
#: A date printed with the headline (a byline or dateline): looked for in the short blocks
#: just after the first h1, then just before it.
_HEADLINE_DATE_AFTER = 6
_HEADLINE_DATE_BEFORE = 2
_HEADLINE_DATE_MAX_CHARS = 100
_REVISED = re.compile(r"(?:updated|modified|revised|edited)\b", re.IGNORECASE)
#: Time zones run from UTC-12 to UTC+14: a local day spans these instants around its UTC day.
_DAY_SLACK_BEFORE = timedelta(hours=14)
_DAY_SLACK_AFTER = timedelta(hours=36)
#: Elements whose class names them a date, a byline or a time ("meta" and "posted" match far
#: more than dates, and a posted-on line holds an element called date or time anyway).
_DATE_CLASSES = '[class*="date"], [class*="byline"], [class*="time"]'
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:/|[^\d])")
_ISO_DATE = re.compile(r"^\s*\d{4}-\d\d-\d\d")


def _parse_date(value: str | None) -> datetime | None:
    if not value or len(value) > 80:
        return None
    value = value.strip()
    try:
        if _ISO_DATE.match(value):
            iso = value.replace(" ", "T", 1) if " " in value[:11] else value
            try:
                dt = datetime.fromisoformat(iso)  # in C; dateutil below for the rarer forms
            except ValueError:
                from dateutil import parser as date_parser

                dt = date_parser.isoparse(iso)
        else:
            # dateutil is imported only where it is used: most pages give ISO dates, and a
            # parse worker that never meets another form never loads it (about 13 ms, 2 MB)
            from dateutil import parser as date_parser

            dt = date_parser.parse(value, fuzzy=False)
    except (ValueError, OverflowError):
        from dateutil import parser as date_parser

        try:
            dt = date_parser.parse(value[:10])
        except (ValueError, OverflowError):
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _acceptable(dt: datetime | None, now: datetime, strong: bool) -> bool:
    if dt is None or dt < _EARLIEST or dt > now:
        return False
    return strong or dt < now - _FETCH_TIME_SLACK


def _declared_date(tree: LexborHTMLParser, ld: list[dict], metas: dict[str, str],
                   now: datetime) -> datetime | None:
    """The date the page declares: JSON-LD, then meta tags, then `<time>` elements."""
    for obj in ld:
        if _types(obj) & _ARTICLE_TYPES or "datePublished" in obj:
            dt = _parse_date(obj.get("datePublished") if isinstance(obj.get("datePublished"),
                                                                     str) else None)
            if _acceptable(dt, now, True):
                return dt
    for key in _DATE_META_STRONG:
        dt = _parse_date(metas.get(key))
        if _acceptable(dt, now, True):
            return dt
    for key in _DATE_META_WEAK:
        dt = _parse_date(metas.get(key))
        if _acceptable(dt, now, False):
            return dt
    for node in tree.css("time[datetime], [itemprop=datePublished]")[:5]:
        attrs = node.attributes
        dt = _parse_date(attrs.get("datetime") or attrs.get("content") or node.text())
        if _acceptable(dt, now, False):
            return dt
    return None


def _same_day(instant: datetime, day: datetime) -> bool:
    """Whether an instant can fall on a calendar day (midnight UTC) in some time zone."""
    return day - _DAY_SLACK_BEFORE <= instant < day + _DAY_SLACK_AFTER


def _find_date(tree: LexborHTMLParser, ld: list[dict], metas: dict[str, str], url: str | None,
               head_text: str, now: datetime, shown: datetime | None = None) -> datetime | None:
    """The publication date; `shown` is the date printed with the headline, if any.

    A declared date (JSON-LD, meta tags, `<time>`) is kept when it falls on the day shown
    (it has the time of day, and the shown date is a local calendar day); when the two
    disagree, the shown date wins: metadata is often the first import of a post or a
    template's date, while the headline's date is what the site tells its readers.
    """
    dt = _declared_date(tree, ld, metas, now)
    if dt is not None:
        return dt if shown is None or _same_day(dt, shown) else shown
    if shown is not None:
        return shown
    if url:
        m = _URL_DATE.search(url)
        if m:
            try:
                dt = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=UTC)
            except ValueError:
                dt = None
            if _acceptable(dt, now, False):
                return dt
    # visible text: elements whose class names them a date or byline, then the body's start
    texts = [n.text() for n in tree.css(_DATE_CLASSES)[:8]]
    texts.append(head_text)
    for text in texts:
        dt = _text_date(text[:500])
        if _acceptable(dt, now, False):
            return dt
    return None


def _text_date(text: str) -> datetime | None:
    """The first date written out in the text ("5 May 2025", "May 5th, 2025", "2025-05-05",
    "5.5.2025", "5/31/2025")."""
    m = _TEXT_DATE.search(text)
    if m is None:
        return None
    g = m.groupdict()
    try:
        if g["y1"]:
            year, month, day = int(g["y1"]), _MONTH_NUMBERS[g["m1"][:3].lower()], int(g["d1"])
        elif g["y2"]:
            year, month, day = int(g["y2"]), _MONTH_NUMBERS[g["m2"][:3].lower()], int(g["d2"])
        elif g["y3"]:
            year, month, day = int(g["y3"]), int(g["m3"]), int(g["d3"])
        elif g["y4"]:  # dots: day first, as written wherever dots are used
            year, month, day = int(g["y4"]), int(g["m4"]), int(g["d4"])
        else:  # slashes: month first (the US habit) unless that cannot be a month
            year, month, day = int(g["y5"]), int(g["a5"]), int(g["b5"])
            if month > 12:
                month, day = day, month
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def _headline_date(blocks: list[str], span: tuple[int, int] | None,
                   now: datetime) -> datetime | None:
    """The date the page prints with its headline, if any.

    What readers are shown beside the headline is the article's date as the site presents
    it; metadata is often older (the first import of a post, a template's date) and is the
    fallback.
    """
    if span is None:
        return None
    first, last = span
    after = range(last, min(len(blocks), last + _HEADLINE_DATE_AFTER))
    before = range(first - 1, max(-1, first - 1 - _HEADLINE_DATE_BEFORE), -1)
    for i in (*after, *before):
        text = blocks[i]
        # every form of date has a year 19xx or 20xx: most lines go without the pattern
        if len(text) <= _HEADLINE_DATE_MAX_CHARS and ("20" in text or "19" in text):
            m = _TEXT_DATE.search(text)
            if m and _REVISED.search(text, 0, m.start()):
                continue  # "Updated 5 May": when the page last changed, not its publication
            dt = _text_date(text)
            if _acceptable(dt, now, False):
                return dt
    return None


_TITLE_SEPARATORS = re.compile(r"\s+(?:[|–—•·:»«/]|-|::)\s+")


_NON_WORD = re.compile(r"\W+")


def _norm(text: str) -> str:
    return _NON_WORD.sub(" ", text.casefold()).strip()


def _strip_site(title: str, site: str | None) -> str:
    """Drop a site name glued to a `<title>` or og:title ("Headline | Site")."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    if site:
        s = _norm(site)
        kept = [p for p in parts if _norm(p) != s and not (s and s in _norm(p) and len(p) < 40)]
        if kept and len(kept) < len(parts):
            return " – ".join(kept) if len(kept) > 1 else kept[0]
    # without a known site name, keep the longest part (headlines are longer than site names)
    longest = max(parts, key=len)
    return longest if len(longest) >= 0.5 * len(title) or len(parts[-1]) < 30 else title


def _find_title(head: _Head, h1s: list[str]) -> str:
    ld, metas = head.jsonld, head.metas
    site = metas.get("og:site_name") or metas.get("application-name")
    for obj in ld:
        if isinstance(obj.get("publisher"), dict) and not site:
            site = _name_of(obj["publisher"])
    candidates: list[str] = []
    for obj in ld:
        if _types(obj) & _ARTICLE_TYPES - {"webpage"}:
            h = obj.get("headline") or obj.get("name")
            if isinstance(h, str):
                candidates.append(_clean(h))
    for key in ("og:title", "twitter:title", "title", "headline"):
        if metas.get(key):
            candidates.append(_clean(metas[key]))
    if head.title:
        candidates.append(head.title)
    # a visible h1 that agrees with the declared titles is the headline as published
    declared = [_norm(c) for c in candidates if c]
    for h in h1s:
        nh = _norm(h)
        if nh and any(nh == d or (len(nh) > 15 and nh in d) for d in declared):
            return h
    for c in candidates:
        stripped = _clean(_strip_site(c, site))
        if stripped and (not site or _norm(stripped) != _norm(site)):
            return stripped
    if h1s:
        return h1s[0]
    return ""


def _canonical(head: _Head, url: str | None) -> str | None:
    raw = head.canonical or head.metas.get("og:url")
    if not raw:
        return None
    raw = raw.strip()
    parts = urlsplit(raw)
    if url and not (parts.scheme in ("http", "https") and parts.netloc and raw.startswith(
            ("http://", "https://")) and not any(c in raw for c in _URL_REWRITTEN)):
        # relative (or oddly written): resolve against the page's URL; an absolute URL in
        # plain form would come back unchanged, so the common case skips the work
        raw = urljoin(url, raw)
        parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return raw


#: Characters `urljoin` drops or rewrites in an absolute URL (empty query, fragment or
#: parameters; tabs and line breaks).
_URL_REWRITTEN = "?#;\t\n\r"


def _language(tree: LexborHTMLParser, metas: dict[str, str]) -> str | None:
    html = tree.root
    lang = html.attributes.get("lang") if html is not None and html.tag == "html" else None
    lang = lang or metas.get("content-language") or metas.get("og:locale") or metas.get("language")
    if not lang:
        return None
    lang = lang.strip().replace("_", "-").split(",")[0]
    return lang.lower() if re.fullmatch(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", lang) else None


def _author(ld: list[dict], metas: dict[str, str]) -> str | None:
    for obj in ld:
        if _types(obj) & _ARTICLE_TYPES and obj.get("author"):
            name = _name_of(obj["author"])
            if name:
                return _clean(name) or None
    for key in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator"):
        value = metas.get(key)
        if value and not value.startswith(("http://", "https://")):
            return _clean(value) or None
    return None


# --- body -----------------------------------------------------------------------------------

def _body_root(tree: LexborHTMLParser) -> LexborNode | None:
    return tree.body or tree.root


#: Characters that need `clean_line`'s full treatment (kept spaces, controls, invisibles).
_SLOW_CLEAN = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\xa0\xad\u2007\u200b-\u200d\u202f\u2060\ufeff]")


def _clean(text: str) -> str:
    """`document.clean_line`, with a fast path for text that has nothing unusual in it.

    `str.split()` collapses exactly FORMAT.md's white space except for the non-breaking spaces
    (kept as published) and a few control characters, so only text holding those takes the
    regular-expression path.
    """
    if text.isprintable():
        # no control, format or separator characters other than the plain space: nothing to
        # do but collapse runs of spaces (rare) and compose accents
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
        if "  " in text or text.startswith(" ") or text.endswith(" "):
            return " ".join(text.split())
        return text
    if _SLOW_CLEAN.search(text):
        return clean_line(text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def _finish(blocks: list[str], links: list[float], goods: list[bool]) -> list[str]:
    """Clean the chosen blocks: drop link lists, button labels, empty and repeated lines."""
    out: list[str] = []
    for text, share, good in zip(blocks, links, goods, strict=True):
        if share > 0.5 and not good:
            continue
        line = _clean(text)
        if not line:
            continue
        if len(line) < 40 and _is_boiler(line):
            continue
        out.append(line)
    return out


def _walk_page(root: LexborNode, furniture: bool) -> tuple[_Walk, list[str]]:
    w = _Walk(furniture, root)
    w.enter(root.tag_id)
    w.walk(root)
    w.leave()
    keep = w.chosen()
    return w, _finish([w.blocks[i] for i in keep], [w.links[i] for i in keep],
                      [w.goods[i] for i in keep])


def _selector_blocks(tree: LexborHTMLParser, selector: str) -> list[str]:
    try:
        nodes = tree.css(selector)
    except Exception as exc:  # lexbor raises a bare ValueError/SelectolaxError on bad CSS
        raise ExtractError(f"content selector {selector!r} is not valid CSS: {exc}") from exc
    out: list[str] = []
    for node in nodes:
        w = _Walk(True, node)
        w.enter(node.tag_id)
        w.walk(node)
        w.leave()
        out.extend(_finish(w.blocks, w.links, w.goods))
    return out


def _words(blocks: list[str], enough: int | None = None) -> int:
    """Words in the blocks (blocks are clean: one space between words); stops at `enough`."""
    total = 0
    for b in blocks:
        total += b.count(" ") + 1
        if enough is not None and total >= enough:
            break
    return total


def _drop_title(blocks: list[str], title: str) -> list[str]:
    """The headline is the document's first line; don't repeat it as the body's first block."""
    nt = _norm(title)
    # normalising only shortens runs of non-word characters: a block whose start alone
    # normalises to more than the title is not the title (saves normalising long paragraphs)
    prefix = 2 * len(title) + 20
    for i, b in enumerate(blocks[:3]):
        if len(b) > prefix and len(_norm(b[:prefix])) > len(nt):
            continue
        if _norm(b) == nt:
            return blocks[:i] + blocks[i + 1:]
    return blocks


def extract(html: bytes | str, *, url: str | None = None,
            headers: Mapping[str, str] | None = None, content_selector: str | None = None,
            now: datetime | None = None) -> Extracted:
    """Extract one article page. `now` bounds the publication date (defaults to the clock).

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
    tree = LexborHTMLParser(precheck_html(data), options=_PARSE_OPTIONS)
    head = _Head(tree)
    root = _body_root(tree)
    if root is None:
        raise ExtractError("the page has no document body")

    method = "page"
    h1s: list[str] = []
    headline_date = None
    if content_selector:
        blocks = _selector_blocks(tree, content_selector)
        method = "selector"
    else:
        walk, blocks = _walk_page(root, furniture=True)
        h1s = walk.h1s
        headline_date = _headline_date(walk.blocks, walk.h1_span, now)
        if _words(blocks, limits.MIN_BODY_WORDS) < limits.MIN_BODY_WORDS:
            # class-based furniture rules can be wrong on an unusual page: retry without them
            _, retry = _walk_page(root, furniture=False)
            if _words(retry) > _words(blocks):
                blocks = retry
    if not h1s:
        h1s = [t for t in (_clean(n.text()) for n in tree.css("h1")[:5]) if t]
    title = _find_title(head, h1s)
    blocks = _drop_title(blocks, title)
    head_text = " ".join(blocks[:3])
    published = _find_date(tree, head.jsonld, head.metas, url, head_text, now, headline_date)
    words = _words(blocks, limits.MIN_BODY_WORDS)
    return Extracted(
        title=title,
        blocks=tuple(blocks),
        published=published,
        canonical_url=_canonical(head, url),
        language=_language(tree, head.metas),
        author=_author(head.jsonld, head.metas),
        method=method,
        flags=("short",) if words < limits.MIN_BODY_WORDS else (),
    )


def html_to_blocks(html: str) -> list[str]:
    """Blocks of an HTML fragment (a feed's content:encoded), by the same block rules."""
    tree = LexborHTMLParser(precheck_html(html.encode("utf-8", "replace")),
                            options=_PARSE_OPTIONS)
    root = _body_root(tree)
    if root is None:
        return []
    w = _Walk(True, root)
    w.enter(_TAG_ID["body"])
    w.walk(root)
    w.leave()
    return _finish(w.blocks, w.links, [True] * len(w.blocks))


def choose(page: Extracted | None, feed_html: str | None, feed_title: str | None) -> Extracted:
    """The page's extraction, unless the feed's full text is longer (or the page is missing).

    The result's `method` is "feed" when the feed's text is used; the page's metadata (date,
    canonical URL, language, author) is kept either way.
    """
    feed_blocks = html_to_blocks(feed_html) if feed_html else []
    feed_words = sum(len(b.split()) for b in feed_blocks)
    if page is not None and page.word_count >= feed_words:
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
        text = render(result.title, result.blocks)
    except (ExtractError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    sys.stdout.flush()
    print(f"title: {result.title}", file=sys.stderr)
    print(f"date: {result.published.isoformat() if result.published else '-'}", file=sys.stderr)
    print(f"method: {result.method}", file=sys.stderr)
    print(f"words: {result.word_count}", file=sys.stderr)
    print(f"flags: {','.join(result.flags) or '-'}", file=sys.stderr)
    return 0
