"""Positioned lines of a laid-out document → blocks in reading order.

A PDF knows glyphs and where they stand, not paragraphs. `reflow` takes the lines of each page
(text, box, font size, width of the first word) and:

- drops running headers and footers (text in the page's top or bottom band that repeats on
  other pages, digits aside), page numbers and repeated letterhead;
- orders each page's lines by columns: a vertical gutter that no ordinary line crosses splits
  the page; lines that cross it (a title over both columns) cut the page into bands;
- joins the lines of a paragraph, across columns and pages too, and starts a new block where
  the vertical rhythm breaks, the type size changes, a list bullet stands, a line is indented,
  or the previous line ended although the next line's first word would have fitted on it;
- undoes hyphenation at line ends: a hyphenation mark (U+2010, a soft hyphen, a hyphen the
  producer marked as a break) is removed; a plain hyphen-minus is removed only when the
  joined word occurs elsewhere in the document, so "private-" + "sector" stays one
  hyphenated word;
- labels blocks: heading (larger type than the body), list item (bullet), paragraph.

Pure: no I/O and no PDF library, so it is tested on lines made by hand as well as by pdfium.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from ..document import clean_line

#: Marks that hyphenate a word at a line end (never part of the word itself).
BREAK_HYPHENS = "\u2010\u00ad"
#: List bullets a line may start with (the numbers of ordered lists are text and stay).
BULLETS = "•◦▪▫●○■□►▸‣⁃∙·–-*"
_BULLET = re.compile(r"^[•◦▪▫●○■□►▸‣⁃∙·]\s*|^[-–*]\s+")
#: Bullet glyphs that never stand at the start of a line of running text (a dash may: a line
#: can break before "– how many").
_GLYPH_BULLET = re.compile(r"^[•◦▪▫●○■□►▸‣⁃∙·]")
_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.|seite|página|pagina|pág\.)\s*)?#+(?:\s*(?:of|/|de|von|sur|di)\s*#+)?$"
    r"|^[-–—]\s*#+\s*[-–—]$|^[ivxlc]+$", re.IGNORECASE)
_WORD = re.compile(r"\w+")

#: Share of the page height, from the top and from the bottom, where running headers and
#: footers stand.
_TOP_BAND = 0.14
_BOTTOM_BAND = 0.12


@dataclass
class Line:
    """One line of text as laid out: PDF coordinates (y grows upwards), `y` the baseline."""

    page: int
    x0: float
    x1: float
    y: float
    top: float
    size: float
    text: str
    first_word: float = 0.0       # width of the first word
    break_hyphen: bool = False    # ends with a mark the producer set for a hyphenation
    column: tuple[float, float] = (0.0, 0.0)  # left and right edge of its column (set here)


@dataclass
class Page:
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)


@dataclass(frozen=True)
class Block:
    kind: str      # "h" heading | "li" list item | "p" paragraph (signatures, datelines too)
    text: str
    size: float
    page: int


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", clean_line(text).casefold())


def drop_furniture(pages: list[Page]) -> None:
    """Remove running headers/footers, page numbers and repeated letterhead in place."""
    band_keys: list[set[str]] = []
    for page in pages:
        keys = set()
        for line in page.lines:
            if _in_band(line, page):
                keys.add(_key(line.text))
        band_keys.append(keys)
    counts = Counter(k for keys in band_keys for k in keys)
    repeated = {k for k, n in counts.items() if n >= 2 and n >= len(pages) / 2}
    for page in pages:
        page.lines = [ln for ln in page.lines if not (
            _in_band(ln, page) and (_key(ln.text) in repeated
                                    or _PAGE_NUMBER.match(_key(ln.text).strip())))]


def _in_band(line: Line, page: Page) -> bool:
    return line.y > page.height * (1 - _TOP_BAND) or line.top < page.height * _BOTTOM_BAND


def reading_order(page: Page) -> list[Line]:
    """The page's lines in reading order, each with its column's edges set."""
    lines = [ln for ln in page.lines if ln.text.strip()]
    if not lines:
        return []
    left = min(ln.x0 for ln in lines)
    right = max(ln.x1 for ln in lines)
    gutter = _gutter(lines, left, right)
    if gutter is None:
        for ln in lines:
            ln.column = (left, right)
        return sorted(lines, key=lambda ln: -ln.y)
    g0, g1 = gutter
    spanning = [ln for ln in lines if ln.x0 < g0 and ln.x1 > g1]
    sides = [ln for ln in lines if not (ln.x0 < g0 and ln.x1 > g1)]
    # the short last line of a title over both columns belongs with it, not to a column
    grown = True
    while grown:
        grown = False
        for ln in list(sides):
            if any(_same_size(sp.size, ln.size) and 0 < sp.y - ln.y <= 2.2 * (ln.top - ln.y)
                   for sp in spanning):
                sides.remove(ln)
                spanning.append(ln)
                grown = True
    for ln in spanning:
        ln.column = (left, right)
    lefts = [ln for ln in sides if ln.x1 <= g1]
    rights = [ln for ln in sides if ln.x1 > g1]
    left_edge = (left, max((ln.x1 for ln in lefts), default=g0))
    right_edge = (min((ln.x0 for ln in rights), default=g1), right)
    for ln in lefts:
        ln.column = left_edge
    for ln in rights:
        ln.column = right_edge
    # bands between the spanning lines, top to bottom; in each, the left column then the right
    cuts = sorted({ln.y for ln in spanning}, reverse=True)
    out: list[Line] = []
    upper = float("inf")
    for cut in [*cuts, float("-inf")]:
        band = [ln for ln in sides if cut < ln.y <= upper]
        out += sorted((ln for ln in band if ln in lefts), key=lambda ln: -ln.y)
        out += sorted((ln for ln in band if ln in rights), key=lambda ln: -ln.y)
        out += [ln for ln in spanning if ln.y == cut]
        upper = cut
    return out


def _gutter(lines: list[Line], left: float, right: float) -> tuple[float, float] | None:
    """The widest vertical strip in the middle half of the text that no narrow line crosses,
    with at least three lines on each side; None for a single column."""
    width = right - left
    if width <= 0:
        return None
    narrow = [ln for ln in lines if ln.x1 - ln.x0 < 0.55 * width]
    if len(narrow) < 6:
        return None
    lo, hi = left + 0.25 * width, left + 0.75 * width
    spans = sorted((max(ln.x0, lo), min(ln.x1, hi)) for ln in narrow if ln.x1 > lo and ln.x0 < hi)
    best: tuple[float, float] | None = None
    cursor = lo
    for s0, s1 in [*spans, (hi, hi)]:
        if s0 > cursor and (best is None or s0 - cursor > best[1] - best[0]):
            best = (cursor, s0)
        cursor = max(cursor, s1)
    if best is None or best[1] - best[0] < 0.015 * width:
        return None
    g0, g1 = best
    n_left = sum(1 for ln in narrow if ln.x1 <= g1)
    n_right = sum(1 for ln in narrow if ln.x0 >= g0)
    return best if n_left >= 3 and n_right >= 3 else None


def _pitches(lines: list[Line]) -> dict[float, float]:
    """Typical baseline distance between consecutive lines of one type size."""
    by_size: dict[float, list[float]] = {}
    for a, b in itertools.pairwise(lines):
        if a.page == b.page and a.column == b.column and abs(a.size - b.size) < 0.05 * a.size:
            d = a.y - b.y
            if d > 0:
                by_size.setdefault(round(a.size, 1), []).append(d)
    return {s: statistics.median(ds) for s, ds in by_size.items()}


def _same_size(a: float, b: float) -> bool:
    return abs(a - b) <= 0.06 * max(a, b)


def body_size(lines: list[Line]) -> float:
    """The type size most text is set in (weighted by characters)."""
    sizes: Counter[float] = Counter()
    for ln in lines:
        sizes[round(ln.size, 1)] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def reflow(pages: list[Page]) -> list[Block]:
    drop_furniture(pages)
    ordered = [ln for page in pages for ln in reading_order(page)]
    if not ordered:
        return []
    body = body_size(ordered)
    pitches = _pitches(ordered)
    bottoms: dict[int, float] = {}
    for ln in ordered:
        bottoms[ln.page] = min(bottoms.get(ln.page, ln.y), ln.y)
    groups: list[list[Line]] = []
    prev: Line | None = None
    for i, ln in enumerate(ordered):
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        if prev is None or _starts_block(groups[-1][0], prev, ln, pitches, bottoms, following):
            groups.append([ln])
        else:
            groups[-1].append(ln)
        prev = ln
    vocabulary = Counter(w.casefold() for ln in ordered for w in _WORD.findall(ln.text))
    dashes = _dash_spacing(ordered)
    blocks = []
    for group in groups:
        text = _join(group, vocabulary, dashes)
        size = max(ln.size for ln in group)
        if _BULLET.match(group[0].text):
            kind = "li"
            text = _BULLET.sub("", text, count=1)
        elif size > body * 1.1:
            kind = "h"
        else:
            kind = "p"
        text = clean_line(text)
        if text:
            blocks.append(Block(kind, text, size, group[0].page))
    return blocks


def _starts_block(first: Line, prev: Line, ln: Line, pitches: dict[float, float],
                  bottoms: dict[int, float], following: Line | None = None) -> bool:
    """Whether `ln` starts a new block after `prev`, the last line of the block that began
    with `first`; `following` is the line after `ln`, if any."""
    if not _same_size(prev.size, ln.size):
        return True
    if _GLYPH_BULLET.match(ln.text):
        return True
    pitch = pitches.get(round(ln.size, 1)) or (prev.top - prev.y) * 1.4 or ln.size
    col_left, col_right = prev.column
    room = col_right - prev.x1
    ended = room > ln.first_word + 0.45 * pitch  # the next word would have fitted
    if _BULLET.match(first.text) and (ln.x0 - ln.column[0] <= first.x0 - first.column[0]
                                      + 0.3 * pitch):
        return True  # a line starting left of a list item's text does not continue it
    if prev.break_hyphen or prev.text.rstrip().endswith(BREAK_HYPHENS):
        return False
    if prev.page != ln.page or prev.column != ln.column or prev.y < ln.y:
        # A column or page break: the paragraph goes on if its last line was full. A full
        # line that ends a sentence before a new one ends the block too when the layout says
        # so: the column stopped a line or more above the page's lowest line (orphan and
        # keep rules leave such a space at a block's end; widow rules can too, hence the
        # sentence), or what follows is a single line (widow rules never leave one alone).
        sentence = (prev.text.rstrip()[-1:] in ".!?”\"»"
                    and not ln.text.lstrip()[:1].islower())
        if ended or not sentence:
            return ended
        early = prev.y - bottoms.get(prev.page, prev.y) > 0.9 * pitch
        single = following is None or _starts_block(ln, ln, following, pitches, bottoms)
        return early or single
    if prev.y - ln.y > 1.2 * pitch:
        return True
    if ended:
        return True
    # an indented first line (not a hanging continuation of a list item, nor the second line
    # of a right-aligned signature)
    indent = ln.x0 - ln.column[0]
    return (0.9 * pitch < indent < 0.15 * (col_right - col_left)
            and prev.x0 - col_left < 0.3 * pitch)


_DASHES = "—–"
#: How dashes stand inside lines: (space before?, space after?) → pattern.
_DASH_FORMS = {(False, False): re.compile(r"\w[—–]\w"), (True, False): re.compile(r"\s[—–]\w"),
               (False, True): re.compile(r"\w[—–]\s"), (True, True): re.compile(r"\s[—–]\s")}


def _dash_spacing(lines: list[Line]) -> dict[tuple[bool, bool], int]:
    """How often each spacing of a dash occurs inside this document's lines. A line may break
    on either side of a dash, and the space that stood there is gone: the document's own habit
    for the side that is still visible decides (see `_join`)."""
    return {form: sum(len(p.findall(ln.text)) for ln in lines)
            for form, p in _DASH_FORMS.items()}


def _join(group: list[Line], vocabulary: Counter[str],
          dashes: dict[tuple[bool, bool], int]) -> str:
    text = group[0].text.rstrip()
    for ln in group[1:]:
        nxt = ln.text.strip()
        if text.endswith(tuple(BREAK_HYPHENS)):
            text = text[:-1] + nxt
        elif text[-1:] in _DASHES and len(text) > 1:
            # "hundreds—" + "among": is there a space after such a dash? (without evidence, as
            # much as before it)
            before = text[-2].isspace()
            spaced, closed = dashes[(before, True)], dashes[(before, False)]
            text += (" " if spaced > closed or (spaced == closed and before) else "") + nxt
        elif nxt[:1] in _DASHES and len(nxt) > 1:
            # "return" + "—an": is there a space before such a dash?
            after = nxt[1].isspace()
            spaced, closed = dashes[(True, after)], dashes[(False, after)]
            text += (" " if spaced > closed or (spaced == closed and after) else "") + nxt
        elif text.endswith("-") and len(text) > 1 and text[-2].isalnum() and nxt[:1].isalnum():
            # a word broken at a hyphen: joined without a space, the hyphen dropped only for a
            # word the document knows whole ("BY-" + "SA" stays "BY-SA")
            head = _WORD.findall(text)[-1] if _WORD.findall(text) else ""
            tail = _WORD.findall(nxt)[0] if _WORD.findall(nxt) else ""
            joined = (head + tail).casefold()
            drop = nxt[:1].islower() and vocabulary.get(joined)
            text = (text[:-1] if drop else text) + nxt
        else:
            text = f"{text} {nxt}"
    return text
