"""The walk: a parsed page → its blocks, and which of them are the article's body.

One pass over the parsed page (selectolax/lexbor) turns it into a flat list of blocks —
paragraphs, headings, list items, quotations, captions, cells — and, for every block-level
element, the range of blocks it holds and how much of their text reads like prose (long
enough, few links) versus everything else. Subtrees that are furniture by their tag (nav,
aside, footer, forms' controls, scripts) or by the words in their class/id (share, comments,
related, cookie, newsletter, sidebar, breadcrumbs, tags, author box, ...: extract_names.py)
are not entered.
The container is the element maximising `prose − α·other`; its blocks are then judged and
cleaned (extract_clean.py).

Speed matters (every page of every source passes through here): the walk touches each node
once through lexbor's own numbers for tags, reads attributes only where a class or id can
decide something, and books blocks without a second pass. See docs/extraction.md.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode

from .document import clean_line
from .extract_names import NAMES_VERDICTS, names_verdict

#: The tree is only read: lexbor's mutation callbacks (which make `<selectedcontent>` mirror
#: the chosen `<option>`) are not needed and cost time on every inserted node.
PARSE_OPTIONS = LexborDocumentOptions.WO_EVENTS.value

# --- the walk ---------------------------------------------------------------------------------

#: Subtrees never read: code, media, controls, ruby readings (furigana, `rt`, and their
#: fallback parentheses, `rp`: annotations of the text, not text) and the page's own
#: furniture elements.
_SKIP = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "video", "audio", "button", "select", "textarea", "input", "option", "head",
    "dialog", "map", "img", "picture", "source", "link", "meta", "title", "-comment", "label",
    "rt", "rp",
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

#: Share of the page's text above which a weak match is not believed.
_WEAK_MAX_SHARE = 0.2
#: Share of the page's text above which even a strong furniture word is not believed.
_STRONG_MAX_SHARE = 0.5
#: Elements holding one of these are the article, whatever their class says.
_MAIN_MARKERS = "h1, main, [role=main], [itemprop=articleBody]"
#: Of those, the ones that stay the article's once the page's first h1 (its headline) has
#: been read (see `_later_marks`).
_LATER_TAGS = frozenset({"main"})
#: A furniture tag holding one of these is (broken markup) the page's main content.
_HOLDS_ARTICLE = "article, " + _MAIN_MARKERS
_ROLE_FURNITURE = frozenset({
    "navigation", "complementary", "banner", "contentinfo", "search", "menu", "menubar",
    "dialog", "alert", "alertdialog", "toolbar",
})

#: A block reads as prose when it has this many words and few links.
_PROSE_WORDS = 10
_PROSE_MAX_LINK_SHARE = 0.35
_PROSE_MIN_CHARS = 2 * _PROSE_WORDS - 1  # one character per word and one space between
#: Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer): their
#: prose is measured in characters, `_CHARS_PER_WORD` of them making a word.
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff"
                       "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CHARS_PER_WORD = 2


def word_units(text: str) -> int:
    """Words in a text: runs between spaces, and for scripts written without spaces, their
    characters counted `_CHARS_PER_WORD` to a word (a Chinese, Japanese or Thai sentence is
    long prose with hardly a space in it)."""
    words = len(text.split())
    if text.isascii() or max(text) < "\u0e00":  # no letter of those scripts (cheap test)
        return words
    unspaced = len(_UNSPACED.findall(text))
    if not unspaced:
        return words
    # a run of unspaced characters was counted as one spaced word already
    return words + unspaced // _CHARS_PER_WORD


#: What link-list text and other short text cost a container, relative to the prose it gains:
#: link lists are the mark of furniture; short plain lines (table cells, list items, headings)
#: belong to articles as often as to furniture.
_ALPHA = 2.0
_BETA = 0.1
#: A sibling of the chosen container joins the article when this share of its text is prose
#: (articles split into several sections or interrupted by a figure or an advert).
_SIBLING_PROSE_SHARE = 0.6
#: Words a note heading the article must have (see `chosen`).
_NOTE_WORDS = 4

# Element kinds for the walk: one table lookup per element decides what to do with it.
_K_SKIP, _K_BREAK, _K_BLOCK, _K_PRE, _K_LINK, _K_INLINE = range(6)  # inline kinds last
#: Added to a kind when the element's attributes must be read for furniture first.
_K_CHECK = 8


def _tag_ids(names: frozenset[str]) -> frozenset[int]:
    """lexbor's numbers for these tag names (the walk compares numbers: cheaper to read)."""
    return frozenset(TAG_ID[name] for name in names)


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


TAG_ID = _known_tag_ids()
_TEXT_ID = TAG_ID["-text"]
_H1_ID = TAG_ID["h1"]


def _kinds(furniture: bool, noscript: bool = False) -> dict[int, int]:
    kinds: dict[int, int] = {}
    check = _K_CHECK if furniture else 0
    for tag in _BLOCK:
        kinds[TAG_ID[tag]] = _K_BLOCK + (0 if tag in _NEVER_FURNITURE else check)
    kinds[TAG_ID["pre"]] = _K_PRE + check
    for tag in _NEVER_FURNITURE - _BLOCK:
        kinds[TAG_ID[tag]] = _K_INLINE
    kinds[TAG_ID["a"]] = _K_LINK
    kinds[TAG_ID["br"]] = kinds[TAG_ID["hr"]] = _K_BREAK
    for tag in _SKIP:
        kinds[TAG_ID[tag]] = _K_SKIP
    if noscript:
        kinds[TAG_ID["noscript"]] = _K_BLOCK
    return kinds


def _by_number(kinds: dict[int, int], default: int) -> tuple[list[int], int]:
    """The kinds as a list indexed by tag number (an index costs less than a dictionary's
    `get` in the walk), and the kind of the tags beyond its end (custom elements)."""
    table = [default] * (max(kinds) + 1)
    for tag, kind in kinds.items():
        table[tag] = kind
    return table, default


#: (kinds by tag number, kind of any other tag), with and without the furniture rules, and
#: without them reading `<noscript>` too (a page whose whole text is its fallback for
#: browsers without scripts).
_KINDS = {(True, False): _by_number(_kinds(True), _K_INLINE + _K_CHECK),
          (False, False): _by_number(_kinds(False), _K_INLINE),
          (False, True): _by_number(_kinds(False, noscript=True), _K_INLINE)}


#: A sentence going on into a link ("X replaced Y, <a>who for eight months has combined the
#: two jobs.</a>"): at most this many links, after at least this many words of its own that
#: do not end as a label ("Read also:", "Lire aussi :", a trail's "World ›"), and closed as a
#: sentence (a closing quotation mark or bracket after its stop aside). (Three or more links
#: in a line are a list of destinations: "write to us or follow us on Facebook, X and
#: Instagram.") Words are counted between spaces: a line in a script written without them is
#: not one.
_SENTENCE_LINKS = 2
_SENTENCE_OPENING_WORDS = 3
_SENTENCE_ENDS = (".", "!", "?", "…")
_SENTENCE_CLOSERS = "\"'”’»)]"
_LABEL_ENDS = (":", "：", "›", "»", "|", ">", "/", "→")


def _opens_sentence(line: list[str], first_link: int) -> bool:
    """Whether the words of a line before its first link (the line's first `first_link`
    pieces) open a sentence."""
    opening = "".join(line[:first_link])
    return (len(opening.split(None, _SENTENCE_OPENING_WORDS)) >= _SENTENCE_OPENING_WORDS
            and not opening.rstrip().endswith(_LABEL_ENDS))


class Walk:
    """One pass over a subtree; collects blocks and per-container prose statistics."""

    __slots__ = (
        "_page_chars",
        "best",
        "blocks",
        "default_kind",
        "first_link",
        "frames",
        "goods",
        "h1_span",
        "h1s",
        "kinds",
        "line",
        "link_chars",
        "links",
        "links_in_line",
        "records",
        "root",
        "scoped",
        "span",
        "stack",
    )

    def __init__(self, furniture: bool, root: LexborNode, noscript: bool = False):
        self.kinds, self.default_kind = _KINDS[furniture, noscript and not furniture]
        self.root = root
        self._page_chars = -1
        self.span = (0, 0)                   # blocks of the chosen container
        self.scoped = 0                      # depth of open main elements
        self.blocks: list[str] = []          # raw block texts, in document order
        self.goods: list[bool] = []          # block reads as prose
        self.links: list[float] = []         # share of the block's characters inside links
        self.frames: list[list] = []         # frame of the element each block is read from
        self.line: list[str] = []            # text of the block being read
        self.link_chars = 0
        self.first_link = -1                # piece of `line` where its first link starts
        self.links_in_line = 0              # links entered since the line began
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
        text = "".join(line).strip()  # (a single string is joined without a copy)
        link_chars, self.link_chars = self.link_chars, 0
        first_link, self.first_link = self.first_link, -1
        links_in_line, self.links_in_line = self.links_in_line, 0
        if not text:
            line.clear()
            return
        n = len(text)
        share = link_chars / n if link_chars < n else 1.0
        # only whether there are enough words matters: stop splitting once there are (and
        # don't split lines too short to hold that many words at all)
        good = (share <= _PROSE_MAX_LINK_SHARE and n >= _PROSE_MIN_CHARS
                and (len(text.split(None, _PROSE_WORDS)) >= _PROSE_WORDS
                     or (not text.isascii() and word_units(text) >= _PROSE_WORDS)))
        if not good and first_link > 0 and links_in_line <= _SENTENCE_LINKS \
                and text.rstrip(_SENTENCE_CLOSERS).endswith(_SENTENCE_ENDS) \
                and len(text.split(None, _PROSE_WORDS)) >= _PROSE_WORDS \
                and _opens_sentence(line, first_link):
            # a sentence that goes on into a link (a report pointing to an earlier one in
            # its own words): prose (its link share stays as measured, for the clean-up's
            # and the classifier's rules)
            good = True
        line.clear()  # the same list object: walk() holds it
        self.blocks.append(text)
        self.goods.append(good)
        self.links.append(share)
        frame = self.stack[-1]
        self.frames.append(frame)
        if good and frame[0] != _H1_ID:
            # (a headline of prose length is the title, not the body's prose: counted as
            # prose it lifts the container to a wrapper holding the site's header lines too)
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
            h1 = clean(" ".join(self.blocks[first:last]))
            if h1:
                self.h1s.append(h1)

    def chosen(self) -> list[int]:
        """Indexes of the article's blocks: the best container plus prose-like siblings."""
        _score, best = self.best
        if best is None:
            # no prose anywhere (a very short page): everything that is not a link list
            self.span = (0, len(self.blocks))
            return list(range(len(self.blocks)))
        best = _article_around(best)
        first, last = best[1], best[6]
        # climb through wrappers that hold exactly the same blocks
        parent = best[5]
        while parent is not None and parent[1] == first and parent[6] == last:
            best, parent = parent, parent[5]
        keep = list(range(first, last))
        self.span = (first, last)
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
                if s_last == first and s_last - s_first == 1 and not linky:
                    # a note heading the article in a box of its own right above it ("This
                    # post originally appeared on …."): one sentence, closed by a full stop
                    # (a byline, a date or a search box's question is not)
                    note = self.blocks[s_first]
                    if note.endswith((".", "。")) and count_words([note]) >= _NOTE_WORDS:
                        ranges.append((s_first, s_last))
        for s_first, s_last in ranges:
            keep.extend(range(s_first, s_last))
        keep.extend(j for j in self.lead(first) if j not in keep)
        keep.sort()
        return keep

    def lead(self, first: int) -> list[int]:
        """The article's lead set apart from its body: the first prose block between the
        headline (the first h1) and the container's first block, unless it is a caption (a
        standfirst in the article's header, a summary above the text)."""
        if self.h1_span is None or self.h1_span[1] > first:
            return []
        goods = self.goods
        frames = self.frames
        for j in range(self.h1_span[1], first):
            if goods[j]:
                return [] if frames[j][0] in _CAPTION_IDS else [j]
        return []

    def walk(self, node: LexborNode, in_link: bool = False) -> None:
        # the hot loop: one table lookup per element, locals only, rare cases last; the
        # descent is a loop with a stack of its own (a call per element costs more, and a
        # page nested deeper than Python's recursion limit is read like any other)
        line = self.line
        kinds = self.kinds
        numbered = len(kinds)
        default = self.default_kind
        records = self.records
        stack = self.stack
        blocks = self.blocks
        verdicts = NAMES_VERDICTS
        text_id = _TEXT_ID
        h1_id = _H1_ID
        containers = _CONTAINER_IDS
        scopes = _SCOPE_IDS
        furniture_tags = _FURNITURE_TAG_IDS
        check = _K_CHECK
        inline = _K_LINK
        # where to go on once the element entered is left: (its next sibling, whether that is
        # inside a link, the element's frame if it is a block, whether it is `main`)
        resume: list[tuple[Any, bool, Any, bool]] = []
        following = node.first_child  # siblings by link: cheaper than node.iter()
        while True:
            if following is None:
                if not resume:
                    return
                following, in_link, frame, scope = resume.pop()
                if frame is None:
                    continue  # an inline element: nothing to book
                if scope:
                    self.scoped -= 1
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
                    if frame[0] == h1_id:
                        self.headline(frame[1], last)
                    if prose and frame[0] in containers:
                        score = prose - _ALPHA * frame[3] - _BETA * frame[4]
                        if score > self.best[0]:
                            self.best = (score, frame)
                continue
            child = following
            following = child.next
            tag = child.tag_id
            if tag == text_id:
                # white space before a line's first word would be stripped: don't keep it
                # (lexbor tells ASCII white space without the text being read)
                if not line and child.is_empty_text_node:
                    continue
                text = child.text_content
                if text and (line or not text.isspace()):
                    line.append(text)
                    if in_link:
                        if not self.link_chars:
                            self.first_link = len(line) - 1
                        self.link_chars += len(text.strip())
                continue
            kind = kinds[tag] if tag < numbered else default
            if kind >= check:
                kind -= check
                if tag in furniture_tags:
                    if child.css_first(_HOLDS_ARTICLE) is None:
                        continue
                else:
                    attrs = child.attributes
                    # most elements have no attributes or one class naming nothing (known
                    # from the cache): decided here without a call
                    if attrs and (len(attrs) > 1 or verdicts.get(attrs.get("class") or "", 1))  \
                            and _is_furniture(child, tag, attrs, self):
                        continue
            if kind >= inline:  # a link or another inline element
                inner = child.first_child
                if inner is None:
                    continue
                linked = in_link or kind == _K_LINK
                if linked and not in_link:
                    self.links_in_line += 1
                # an inline element holding one text (most links, spans, emphasis): read here
                # rather than by a turn of the loop of its own (`text_content` is None for an
                # element)
                text = inner.text_content if inner.next is None else None
                if text is not None:
                    if text and (line or not text.isspace()):
                        line.append(text)
                        if linked:
                            if not self.link_chars:
                                self.first_link = len(line) - 1
                            self.link_chars += len(text.strip())
                else:
                    resume.append((following, in_link, None, False))
                    following, in_link = inner, linked
            elif kind == _K_BLOCK:
                if line:
                    self.flush()
                frame = [tag, len(blocks), 0, 0, 0, stack[-1], -1]
                records.append(frame)
                stack.append(frame)
                scope = tag in scopes
                if scope:
                    self.scoped += 1
                resume.append((following, in_link, frame, scope))
                following = child.first_child
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


#: How many times the best element's prose the `<article>` around it must hold in prose to
#: be the container instead (see `_article_around`).
_ARTICLE_PROSE_TIMES = 3
_ARTICLE_ID = TAG_ID["article"]


def _article_around(best: list) -> list:
    """The container for the best element: the innermost `<article>` around it, when that
    holds at least `_ARTICLE_PROSE_TIMES` its prose and less text in link lists than in prose
    (the article's own text, whose lists of links, a report's patches or a page's documents to
    download, brought its score below one paragraph's or one section's), else the element
    itself. (An article that is mostly links is a listing.)"""
    up = best[5]
    while up is not None:
        if up[0] == _ARTICLE_ID:
            if up[2] >= _ARTICLE_PROSE_TIMES * best[2] and up[3] < up[2]:
                return up
            return best
        up = up[5]
    return best


#: The id of a part of the page a server streamed after the rest (React's streamed rendering:
#: `<div hidden id="S:1">…</div>`, which a script moves into its place, a `<template
#: id="B:1">` in the page's frame): the part is the page's, hidden only until it is moved.
_STREAMED = re.compile(r"S:[0-9a-f]+")


#: Elements that are the page's own frame: never furniture by their class.
_FRAME_TAGS = frozenset({"article", "main", "body", "html"})
_FRAME_TAG_IDS = _tag_ids(_FRAME_TAGS)
_FURNITURE_TAG_IDS = _tag_ids(_FURNITURE_TAGS)
_CONTAINER_IDS = _tag_ids(_CONTAINERS)
_HEADING_IDS = _tag_ids(_HEADINGS)
#: The element that declares the page's main content.
_SCOPE_IDS = _tag_ids(frozenset({"main"}))
#: Captions: a picture's text, never the article's lead.
_CAPTION_IDS = _tag_ids(frozenset({"figcaption", "caption"}))


def _is_furniture(node: LexborNode, tag: int, attrs: dict[str, str | None],
                  walk: Walk) -> bool:
    """Whether an element (not of a furniture tag) with these attributes is furniture."""
    # most elements carry only class and id (which alone never make one furniture): skip the
    # rarer attributes' tests for them
    if len(attrs) > ("class" in attrs) + ("id" in attrs):
        role = attrs.get("role")
        if role and role.lower() in _ROLE_FURNITURE:
            return True
        # (an accordion's panel, a region named by the button that unfolds it, is hidden
        # until a reader opens it: the text folded away is the page's)
        panel = "aria-labelledby" in attrs and role is not None and role.lower() == "region"
        if "hidden" in attrs or attrs.get("aria-hidden") == "true":
            if not panel and _STREAMED.fullmatch(attrs.get("id") or "") is None:
                # hidden: furniture, unless it holds most of the page (content streamed into
                # a hidden element for a script to reveal)
                return tag not in _FRAME_TAG_IDS and _small(node, _STRONG_MAX_SHARE, walk)
        else:
            style = attrs.get("style")
            if style and not panel and "display:none" in style.replace(" ", "").lower():
                return True
    if tag in _FRAME_TAG_IDS:
        return False
    cls = attrs.get("class")
    verdict = names_verdict(cls) if cls else 0
    if verdict < 2:
        ident = attrs.get("id")
        if ident:
            verdict = max(verdict, names_verdict(ident))
    if not verdict:
        return False
    if verdict == 1 and walk.scoped:
        # layout words inside the page's declared main content or article ("widget",
        # "promo" on the boxes a review round-up is made of) do not make it furniture
        # (decided before the search below, which costs a pass over the element)
        return False
    # a furniture word on a wrapper that holds most of the page ("pagination-first",
    # "read-more" on the article's own box) does not make the article furniture
    chars = len(node.text_lexbor())
    if not _small_text(chars, _WEAK_MAX_SHARE if verdict == 1 else _STRONG_MAX_SHARE, walk):
        return False
    if verdict == 2 and _collapsed(node, attrs):
        return False
    if node.css_first(_MAIN_MARKERS) is None:
        # the box of an `<article>` or `<main>` holding nearly all its text is the article,
        # whatever the site named it after ("newsletter-cms" in a newsletter's archived
        # issue), and so is a box right around a long `<article>`
        # (either needs an article as long as no teaser, card or comment is)
        return chars < _LONG_ARTICLE_CHARS or not (
            _fills_scope(node, chars)
            or any(child.tag == "article" and len(child.text_lexbor()) >= _LONG_ARTICLE_CHARS
                   for child in node.iter()))
    return walk.h1_span is not None \
        and _later_marks(node.css(_MAIN_MARKERS), verdict, attrs, walk)


#: Share of the text of the `<article>` or `<main>` around it that a box must hold to be its
#: text (see `_fills_scope`).
_SCOPE_SHARE = 0.9
_SCOPE_TAGS = frozenset({"article", "main"})
#: Characters of an `<article>` that no teaser, card or comment has.
_LONG_ARTICLE_CHARS = 2000


def _fills_scope(node: LexborNode, chars: int) -> bool:
    """Whether the element (of `chars` characters) holds `_SCOPE_SHARE` of the text of the
    nearest `<article>` or `<main>` around it (looked for up to four levels up)."""
    outer = node.parent
    for _ in range(4):
        if outer is None:
            return False
        if outer.tag in _SCOPE_TAGS:
            return chars >= _SCOPE_SHARE * len(outer.text_lexbor())
        outer = outer.parent
    return False


def _collapsed(node: LexborNode, attrs: dict[str, str | None]) -> bool:
    """Whether a box named "read more" is text collapsed behind that button (a long
    description a script unfolds), not the button or a teaser: it holds no link and more
    than ten words."""
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
    if "readmore" not in names and "read-more" not in names and "read_more" not in names:
        return False
    text = " ".join(node.text().split())
    return count_words([text], 11) > 10 and node.css_first("a") is None


def _later_marks(marks: list[LexborNode], verdict: int, attrs: dict[str, str | None],
                 walk: Walk) -> bool:
    """Whether the h1 and role=main markers in a box with furniture words, read after the
    page's headline (its first h1), are not the article's: another post's template
    repeated ("related posts"), a sidebar's or an overlay's own title. Only a single h1 in a
    box named "widget" alone (the layout box of page builders and blog engines: a blog's
    name set as the page's h1 above, the post's title in "widget Blog") stays the article's,
    unless it repeats the headline (a box to share the post)."""
    for mark in marks:
        if mark.tag in _LATER_TAGS or mark.attributes.get("itemprop") == "articleBody":
            return False
    if verdict > 1 or len(marks) > 1:
        return True
    if "widget" not in f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower():
        return True
    return bool(walk.h1s) and clean(marks[0].text()) == walk.h1s[0]


#: An element with less text than this is small beside any page that has an article: the
#: page's own length (one more pass over all its text) is only measured for larger ones.
_SMALL_CHARS = 1000


def _small(node: LexborNode, share: float, walk: Walk) -> bool:
    """Whether the element holds less than `share` of the page's text."""
    return _small_text(len(node.text_lexbor()), share, walk)


def _small_text(chars: int, share: float, walk: Walk) -> bool:
    """Whether an element of `chars` characters holds less than `share` of the page's text."""
    if chars < _SMALL_CHARS:
        return True
    if walk._page_chars < 0 and chars < share * (chars + sum(map(len, walk.blocks))):
        # the page holds at least this element's text and the blocks read before it (they
        # come from other text nodes, and only lose characters to stripping): often enough
        # to decide without measuring the whole page
        return True
    return chars < share * walk.page_chars


def body_root(tree: LexborHTMLParser) -> LexborNode | None:
    return tree.body or tree.root


#: Characters that need `clean_line`'s full treatment (kept spaces, controls, invisibles).
_SLOW_CLEAN = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\xa0\xad\u2007\u200b-\u200d\u202f\u2060\ufeff]")


def clean(text: str) -> str:
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


def count_words(blocks: list[str], enough: int | None = None) -> int:
    """Words in the blocks (blocks are clean: one space between words); stops at `enough`."""
    total = 0
    for b in blocks:
        n = b.count(" ") + 1
        # a block of many spaced words is not in a script written without spaces
        total += n if n >= _PROSE_WORDS or b.isascii() else word_units(b)
        if enough is not None and total >= enough:
            break
    return total
