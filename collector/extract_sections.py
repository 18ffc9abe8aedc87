"""Sections of the chosen container that are not the article: what follows its last
paragraph under a heading, teaser cards and runs of them, headings over related articles with
their teasers, prompts to the reader, publication stamps, cookie notices, trails at the body's
edges, the scripting engine's error messages and a box set apart closing the body. Each
recognizer takes the walk and the container's blocks (`keep`) and gives the positions in
`keep` to drop; `extract_clean.walk_page` runs them. See docs/extraction.md, step 5.
"""

from __future__ import annotations

import re
from typing import Any

from .extract_walk import _HEADING_IDS, TAG_ID, Walk, _tag_ids

#: Prose blocks a container must hold for its first and last to be judged (by the classifier,
#: `extract_clean.block_rows`, and for a closing box, `closing_box`).
EDGE_MIN_PROSE = 4
_LI_ID = TAG_ID["li"]
_FORM_ID = TAG_ID["form"]


def orphan(line: str) -> bool:
    """Whether a heading or label may be dropped with the section it introduced: short, and no
    date or number in it (a signature or dateline set as a heading carries one)."""
    return len(line) < 80 and not any(c.isdigit() for c in line)


def tail_sections(w: Walk, keep: list[int]) -> range:
    """Positions (in `keep`) of sections that open with a heading after the container's last
    prose block: with no prose of their own, what such a heading introduces is the page's
    ("More on this topic", "Newsletter", "Latest articles" over a list of teasers). A heading
    with a date or number in it is a signature or dateline set as a heading, and stays."""
    goods = w.goods
    last = len(keep) - 1
    while last >= 0 and not goods[keep[last]]:
        last -= 1
    if last < 0:
        return range(0)
    frames = w.frames
    blocks = w.blocks
    for k in range(last + 1, len(keep)):
        # (a heading with a date or number in it is a signature or dateline set as one)
        if frames[keep[k]][0] in _HEADING_IDS and orphan(blocks[keep[k]].strip()):
            return range(k, len(keep))
    return range(0)


#: Characters of a link line that closes a teaser card ("Read more", "More »").
_CARD_LINK_CHARS = 40


def _card(w: Walk, keep: list[int], k: int) -> int:
    """The length (in blocks) of the teaser card at position `k` of `keep`, or 0: a heading
    over one block of text, closed by a short link line ("Read more"): one entry of a list of
    other articles (headline, summary, link)."""
    n = len(keep)
    frames = w.frames
    links = w.links
    if k + 1 >= n or frames[keep[k]][0] not in _HEADING_IDS:
        return 0
    body = keep[k + 1]
    if frames[body][0] in _HEADING_IDS or links[body] > 0.5:
        return 0
    if k + 2 < n:
        after = keep[k + 2]
        if (links[after] > 0.5 and len(w.blocks[after]) < _CARD_LINK_CHARS
                and frames[after][0] not in _HEADING_IDS):
            return 3
    return 0


def teaser_cards(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of runs of two or more teaser cards one after the other (see
    `_card`), with the heading that introduces the run ("More on this topic"), when the run
    holds under a quarter of the container's prose: a run that is most of it is the article
    (a round-up of products, a guide to places, each with its "Read more")."""
    out: list[int] = []
    k = 0
    n = len(keep)
    frames = w.frames
    prose = -1
    while k < n:
        size = _card(w, keep, k) if frames[keep[k]][0] in _HEADING_IDS else 0
        if not size:
            k += 1
            continue
        start = k
        cards = 0
        while size:
            cards += 1
            k += size
            size = _card(w, keep, k) if k < n else 0
        if cards >= 2 and prose < 0:
            prose = sum(len(w.blocks[i]) for i in keep if w.goods[i])
        if cards >= 2 and 4 * sum(len(w.blocks[keep[j]]) for j in range(start, k)
                                  if w.goods[keep[j]]) < prose:
            if start and frames[keep[start - 1]][0] in _HEADING_IDS:
                start -= 1
            out.extend(range(start, k))
    return out


#: Cards of one shape, one after the other, that make a run of other stories' teasers.
_CARD_RUN = 3
#: Blocks a teaser card holds, at most.
_CARD_BLOCKS = 8
#: How much the lengths of a run's summaries may differ and still be one template's cut.
_CUT_SPREAD = 12
_ELLIPSES = ("…", "...", "[…]", "[...]")


def card_runs(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of runs of other stories' teasers after the article: three or
    more elements one after the other under one parent, of one tag, each holding a few of
    the body's blocks in one shape (each block's element, whether it is a link line,
    whether it is prose) with one link line (the story's headline) and at most one prose
    block (its summary), the summaries cut by a template (`_cut_to_length`), where the body
    has more prose before the run than in it (in a round-up the entries are the article)."""
    links = w.links
    # cards of one shape put their link lines at one spacing: only where three link lines
    # are so spaced can a run start, a few blocks before the first of them (most pages have
    # no such place, and the search for cards is not made at all)
    linky = [k for k, i in enumerate(keep) if links[i] > 0.5]
    starts: list[int] = []
    frames = w.frames
    goods = w.goods
    for a, b, c in zip(linky, linky[1:], linky[2:], strict=False):
        # (and the headlines of one tag, with at most a summary each between them)
        if 2 <= b - a == c - b <= _CARD_BLOCKS and frames[keep[a]][0] == frames[keep[b]][0] \
                == frames[keep[c]][0] and sum(goods[keep[j]] for j in range(a, c)) <= 2:
            starts.extend(range(max(a - (b - a) + 1, 0), a + 1))
    if not starts:
        return []
    blocks = w.blocks
    out: list[int] = []
    done = 0  # positions before this one are decided
    for k in sorted(set(starts)):
        if k < done:
            continue
        run = _card_run_at(w, keep, k)
        if run is None:
            continue
        end, prose = run
        if sum(len(blocks[i]) for i in keep[:k] if goods[i]) > prose:
            out.extend(range(k, end))
        done = end
    return out


def _card_run_at(w: Walk, keep: list[int], k: int) -> tuple[int, int] | None:
    """The end (a position in `keep`) and the summaries' characters of a run of teaser cards
    starting at position `k` (see `card_runs`), or None. The cards are looked for as the
    children of each of the block's four nearest ancestors."""
    frames = w.frames
    first = frames[keep[k]]
    parent = first[5]
    for _ in range(4):
        if parent is None:
            return None
        card = _child_holding(first, parent)
        if card is not None and card[1] == keep[k]:  # (a card starts with its first block)
            run = _cards_under(w, keep, k, parent, card[0])
            if run is not None:
                return run
        parent = parent[5]
    return None


def _cards_under(w: Walk, keep: list[int], k: int, parent: list,
                 tag: int) -> tuple[int, int] | None:
    frames = w.frames
    links = w.links
    goods = w.goods
    n = len(keep)
    shape: tuple | None = None
    summaries: list[str] = []
    cards = 0
    j = k
    while j < n and keep[j] < parent[6]:  # (a block past the parent's last is not under it)
        card = _child_holding(frames[keep[j]], parent)
        if card is None or card[0] != tag or card[1] != keep[j]:
            break
        e = j
        while e < n and keep[e] < card[6]:
            e += 1
        members = keep[j:e]
        this = tuple((frames[i][0], links[i] > 0.5, goods[i]) for i in members)
        prose = [w.blocks[i] for i in members if goods[i]]
        if not 2 <= len(members) <= _CARD_BLOCKS or sum(1 for i in members if links[i] > 0.5) != 1 \
                or len(prose) > 1 or (shape is not None and this != shape):
            break
        shape = this
        summaries.extend(prose)
        cards += 1
        j = e
    if cards < _CARD_RUN or not _cut_to_length(summaries):
        return None
    return j, sum(map(len, summaries))


def _child_holding(frame: list | None, parent: list) -> list | None:
    """The element right under `parent` that holds `frame`'s, or None (`frame` is `parent`,
    or not inside it)."""
    while frame is not None and frame[5] is not parent:
        frame = frame[5]
    return frame


def _cut_to_length(summaries: list[str]) -> bool:
    """Whether the summaries are excerpts cut by a template: each closed by an ellipsis, or
    all of one length give or take a word or two."""
    if not summaries:
        return False
    if all(t.rstrip().endswith(_ELLIPSES) for t in summaries):
        return True
    lengths = [len(t) for t in summaries]
    return max(lengths) - min(lengths) <= _CUT_SPREAD


#: The longest line read as a heading over related content ("More on this topic").
_RELATED_CHARS = 60
#: Headings over lists of the site's other articles, the generic vocabulary of that kind of
#: box in the languages of the pages we read (FORMAT.md counts related-article lists as
#: furniture): "related …", "more on this topic", "read also", "you may also like", "latest
#: articles", "most read", in English, German, French, Spanish, Portuguese, Italian, Dutch,
#: Polish, Czech, Russian, Scandinavian, Turkish, Chinese, Japanese, Korean, Arabic, Hebrew.
#: The whole line must be such a heading (case-folded, closing ":»›→…" and spaces aside).
_RELATED = re.compile(
    r"(?:related(?: articles?| posts?| stories| news| content| reading| links| topics)?|"
    r"more (?:on|about) (?:this|the) (?:topic|story|subject)|(?:read|see) also|also read|"
    r"you (?:may|might) also (?:like|enjoy|be interested in)|more (?:news|articles|stories)|"
    r"(?:latest|recent|popular|recommended|trending) (?:news|articles|posts|stories)|"
    r"most (?:read|popular)|"
    r"mehr zum thema|(?:das )?(?:könnte|dürfte) (?:dich|sie|euch) auch interessieren|"
    r"auch interessant|(?:lesen sie|lies) auch|"
    r"(?:weitere|ähnliche|verwandte|neueste|aktuelle|beliebte|passende) (?:artikel|beiträge|"
    r"news|nachrichten|meldungen|themen|themenbereiche|stories)|meistgelesen(?:e artikel)?|"
    r"(?:à )?lire aussi|voir aussi|sur le même (?:sujet|thème)|les plus lus|"
    r"(?:articles?|publications?) (?:similaires|liés|associés|récents)|"
    r"vous aimerez aussi|dans la même rubrique|"
    r"(?:lee|leer|lea) también|(?:también )?te puede interesar|"
    r"(?:noticias|artículos|notas) relacionad[oa]s|más noticias|lo más leído|últimas noticias|"
    r"(?:leia|veja) também|(?:notícias|artigos|matérias) relacionad[oa]s|mais lidas|"
    r"leggi anche|(?:articoli|notizie) correlat[ie]|(?:ti )?potrebbe(?: anche)? interessarti|"
    r"i più letti|lees ook|gerelateerde (?:artikelen|berichten)|meest gelezen|"
    r"(?:czytaj|zobacz) (?:też|także|również)|"
    r"(?:podobne|powiązane|najnowsze|polecane) (?:artykuły|wpisy|teksty)|najczęściej czytane|"
    r"(?:čtěte|přečtěte si) (?:také|též)|související články|"
    r"читайте также|смотрите также|(?:похожие|связанные|последние) (?:статьи|новости|материалы)|"
    r"läs (?:också|även)|relaterade artiklar|læs også|les også|relaterte artikler|"
    r"ilgili haberler|bunlar da ilginizi çekebilir|"
    r"相关(?:文章|阅读|新闻|推荐)|推荐阅读|延伸阅读|関連記事|あわせて読みたい|관련 ?기사|"
    r"اقرأ أيضا|اقرأ أيضاً|مقالات ذات صلة|أخبار ذات صلة|כתבות נוספות|עוד בנושא)"
)


#: The first words of `_RELATED`'s headings (and the first two characters of those in
#: scripts written without spaces): most short lines are refused on a set lookup. A test
#: enumerates every heading `_RELATED` accepts and proves each passes this refusal.
_RELATED_FIRST = frozenset({
    "related", "more", "read", "see", "also", "you", "latest", "recent", "popular",
    "recommended", "trending", "most", "mehr", "das", "könnte", "dürfte", "auch",
    "lesen", "lies", "weitere", "ähnliche", "verwandte", "neueste", "aktuelle", "beliebte",
    "passende", "meistgelesen", "meistgelesene", "à", "lire", "voir", "sur", "les", "article",
    "articles", "publication", "publications", "vous", "dans", "lee", "leer", "lea", "también",
    "te", "noticias", "artículos", "notas", "más", "lo", "últimas", "leia", "veja", "notícias",
    "artigos", "matérias", "mais", "leggi", "articoli", "notizie", "ti", "potrebbe", "i",
    "lees", "gerelateerde", "meest", "czytaj", "zobacz", "podobne", "powiązane", "najnowsze",
    "polecane", "najczęściej", "čtěte", "přečtěte", "související", "читайте", "смотрите",
    "похожие", "связанные", "последние", "läs", "relaterade", "læs", "relaterte", "ilgili",
    "bunlar", "相关", "推荐", "延伸", "関連", "あわ", "관련", "اقرأ", "مقالات", "أخبار", "כתבות",
    "עוד",
})


def _related(line: str) -> bool:
    """Whether a line is a heading over the site's related content ("Mehr zum Thema")."""
    if len(line) >= _RELATED_CHARS:
        return False
    words = line.split(None, 1)
    if not words:
        return False
    first = words[0].lower()
    if first not in _RELATED_FIRST and first[:2] not in _RELATED_FIRST:
        first = first.strip(":»›→…")
        if first not in _RELATED_FIRST and first[:2] not in _RELATED_FIRST:
            return False
    return _RELATED.fullmatch(" ".join(line.split()).strip(" :»›→…").casefold()) is not None


def related_sections(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of headings over the site's related content (`_RELATED`), with
    the lines that are not prose under them, up to the next prose block or heading: the
    teasers of a "More on this topic" box, in the middle of the article or at its end. A line
    without links right before a prose block is that block's sub-heading (the article going
    on after the box), not a teaser."""
    out: list[int] = []
    blocks = w.blocks
    goods = w.goods
    links = w.links
    frames = w.frames
    n = len(keep)
    for k in range(n):
        i = keep[k]
        if goods[i] or len(blocks[i]) >= _RELATED_CHARS or not _related(blocks[i]):
            continue
        out.append(k)
        j = k + 1
        while j < n and not goods[keep[j]] and frames[keep[j]][0] not in _HEADING_IDS:
            if not links[keep[j]] and j + 1 < n and goods[keep[j + 1]]:
                break
            out.append(j)
            j += 1
    return out


#: The longest closing question read as a prompt to the reader ("Was this article useful?").
_PROMPT_CHARS = 60
#: Words of the sentence after a question that make it the question's answer.
_ANSWER_WORDS = 8


def prompts(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of short questions after the container's last prose block: the
    site's prompts to the reader ("Was this article useful?", "Share this article?", "Enjoy
    reading us?"), which close a body where a signature or dateline never asks anything. A
    question followed by its answer (a sentence of its own, not a link) is the text's (the
    last entries of a page of questions and answers)."""
    goods = w.goods
    blocks = w.blocks
    links = w.links
    last = len(keep) - 1
    while last >= 0 and not goods[keep[last]]:
        last -= 1
    out: list[int] = []
    if last < 0:
        return out
    for k in range(last + 1, len(keep)):
        line = blocks[keep[k]].strip().rstrip(" *")
        if len(line) < _PROMPT_CHARS and line.endswith(("?", "？", "؟")) \
                and "." not in line[:-1]:
            if k + 1 < len(keep) and links[keep[k + 1]] < 0.5:
                answer = blocks[keep[k + 1]].rstrip()
                if answer.endswith((".", "!", "。")) \
                        and len(answer.split(None, _ANSWER_WORDS)) > _ANSWER_WORDS:
                    continue
            out.append(k)
    return out


#: A time of day ("2:54pm", "15:49", "10.27 Uhr") or a reading time ("5 min read").
#: (`(?<![\d:])\d{1,2}:\d{2}(?![\d:])|(?<!\d)\d{1,2}[.h]\d{2}\s?(?:uhr|h)\b|(?<!\d)\d{1,2}\s?min\b`,
#: written from the digit every match starts with: the search skips to digits, ten times
#: faster on a line without any.)
_CLOCK = re.compile(r"\d(?:(?<![\d:]\d)\d?:\d\d(?![\d:])|(?<!\d\d)\d?[.h]\d\d\s?(?:uhr|h)\b|"
                    r"(?<!\d\d)\d?\s?min\b)", re.IGNORECASE)
#: A year of this era or a numeric date (as `extract_blocks` reads datelines, and written
#: from the first digit the same way).
_DATED = re.compile(r"\d(?:(?<=1)(?<!\d\d)9\d\d(?!\d)|(?<=2)(?<!\d\d)0\d\d(?!\d)|\d?[./]\d\d?[./])")
#: A sentence's end: a full stop after a year or a word of four letters or more ("Doors
#: open at 7:30pm on 3 June 2021."), where a stamp ends on its time or an abbreviation
#: ("12:30 Uhr.", "3:18 p.m.", "09:01 hrs.").
_SENTENCE_END = re.compile(r"(?:\d|[^\W\d_]{4})[.!]\s*$")
#: The longest line before the body read as a publication stamp.
_STAMP_CHARS = 120
#: Prose blocks a stamp may follow (a standfirst, the lead) and still be the article's top.
_STAMP_AFTER = 2


def stamps(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of publication stamps at the top of the body (before its third
    prose block, after a standfirst or the lead):
    a short line with a date and a time of day or a reading time ("17 April 2012 • 2:54pm",
    "Feb 8, 2020 · 5 min read", "Aktualisiert: 11.04.2020, 10:27"). That is the page's record
    of when it was posted, which the document keeps as its date; a dateline (a place and a
    date, a date alone) carries no clock."""
    goods = w.goods
    blocks = w.blocks
    out: list[int] = []
    seen = 0
    for k, i in enumerate(keep):
        if goods[i]:
            seen += 1
            if seen > _STAMP_AFTER:
                break
            continue
        line = blocks[i]
        if len(line) < _STAMP_CHARS and _CLOCK.search(line) and _DATED.search(line) \
                and _SENTENCE_END.search(line) is None:
            out.append(k)
    return out


def _in_item(frame: Any) -> bool:
    """Whether a block is a list item's (its element or that element's parent is an li)."""
    return frame[0] == _LI_ID or (frame[5] is not None and frame[5][0] == _LI_ID)


#: The longest notice about cookies read as the site's consent notice.
_COOKIE_CHARS = 400
#: Words a consent notice has at least (a recipe's "200 g cookies" is a list item).
_COOKIE_WORDS = 6


def cookie_notices(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of the site's cookie notices set at the body's edges: a short
    text of a few words naming cookies ("cookie" is the word of that notice in most
    languages: "Wir verwenden Cookies", "korzystamy z cookies"), among the blocks before the
    first prose block that is not one, or after the last. A list item is not such a notice
    (a recipe's ingredients and steps after its introduction: "2 cups of crushed cookies")."""
    goods = w.goods
    blocks = w.blocks
    frames = w.frames
    out: list[int] = []
    n = len(keep)
    for order in (range(n), range(n - 1, -1, -1)):
        for k in order:
            text = blocks[keep[k]]
            if len(text) < _COOKIE_CHARS and "ookie" in text and "cookie" in text.lower() \
                    and len(text.split(None, _COOKIE_WORDS)) > _COOKIE_WORDS \
                    and not _in_item(frames[keep[k]]):
                out.append(k)
            elif goods[keep[k]]:
                break
    return out


#: A trail of links to the page's place in the site ("Home > Blog > Politics > …") or of
#: labels about the post ("Friday | 14 June 2019 | by Name | 0 comments"): parts separated by
#: the same arrow, slash or bar, at least twice.
_TRAIL = re.compile(r"(?:^|\s)([>»›→/|])\s(?:[^>»›→/|]+\s\1\s)+")
#: The longest line before the body read as a trail.
_TRAIL_CHARS = 200
#: The longest run of links before the headline read as a trail without separators.
_LINKED_TRAIL_CHARS = 60


def trails(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of breadcrumb trails before the container's first prose block
    that is not a heading (a trail ending in a long headline reads as prose), set apart by
    separators or (`_linked_trail`) links before the headline. A heading is not a trail: a
    headline listing its topics between bars ("Letters: Crime | Roads | Taxes") is the page's
    own."""
    goods = w.goods
    blocks = w.blocks
    frames = w.frames
    out: list[int] = []
    for k, i in enumerate(keep):
        line = blocks[i]
        if (len(line) < _TRAIL_CHARS and _TRAIL.search(line) is not None
                and frames[i][0] not in _HEADING_IDS) or _linked_trail(w, i):
            out.append(k)
        elif goods[i] and frames[i][0] not in _HEADING_IDS:
            break  # (the headline, of prose length, is not yet the body)
    return out


def _linked_trail(w: Walk, i: int) -> bool:
    """Whether block `i` is a trail without separators: links to the page's place in the
    site followed by the page's headline ("Home Climate Forests under threat …")."""
    if not w.h1s or not w.links[i] or w.frames[i][0] in _HEADING_IDS:
        return False
    line = " ".join(w.blocks[i].split())
    headline = w.h1s[0]
    if len(line) >= _TRAIL_CHARS or not line.endswith(headline) or line == headline:
        return False
    trail = len(line) - len(headline)
    return trail <= _LINKED_TRAIL_CHARS and w.links[i] * len(line) >= 0.7 * (trail - 1)


#: An error message of the site's scripting engine printed into the page ("Warning: … in
#: /www/site/file.php on line 407"): the engine's, in English whatever the page's language.
_SCRIPT_ERROR = re.compile(r"(?:PHP )?(?:Warning|Notice|Deprecated|Strict Standards|"
                           r"(?:Fatal|Parse) error)\s?: .* in \S+ on line \d+")


def script_errors(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of the scripting engine's error messages."""
    blocks = w.blocks
    return [k for k, i in enumerate(keep)
            if " on line " in blocks[i] and _SCRIPT_ERROR.fullmatch(blocks[i].strip())]


#: Blocks the box of a closing paragraph may hold (the paragraph, a heading, a link).
_BOX_BLOCKS = 3
#: Elements whose text is the document's own (a quotation, a picture's caption).
_OWN_IDS = _tag_ids(frozenset({"blockquote", "figure", "figcaption", "caption"}))


def closing_box(w: Walk, keep: list[int]) -> range:
    """Positions (in `keep`) of a closing box: the last prose block set in a small element of
    its own (at most `_BOX_BLOCKS` blocks, not in a quotation or figure) after two prose blocks
    that share one parent, with whatever follows it. The article's paragraphs are siblings;
    one boxed apart after them is the site's (an author's bio, a word about the site or
    its publisher, a call to write in or to subscribe). Not a section that joined the
    container as its sibling, with a sub-heading of its own over the block: the article going
    on after a layout box."""
    goods = w.goods
    frames = w.frames
    good_at = [k for k, i in enumerate(keep) if goods[i]]
    if len(good_at) < EDGE_MIN_PROSE:
        return range(0)
    k = good_at[-1]
    frame = frames[keep[k]]
    box = frame[5]
    body = frames[keep[good_at[-2]]][5]
    if box is None or box is body or frames[keep[good_at[-3]]][5] is not body \
            or box[6] - box[1] > _BOX_BLOCKS:
        return range(0)
    i = keep[k]
    if not w.span[0] <= i < w.span[1] and i != box[1] and frames[box[1]][0] in _HEADING_IDS:
        # a section of the article after a layout box (products, an embedded post), joined
        # as a sibling of the container: its own sub-heading over its paragraph
        return range(0)
    for _ in range(3):  # the block's element, its parent and grandparent
        if frame is None:
            break
        if frame[0] in _OWN_IDS:
            return range(0)
        frame = frame[5]
    return range(k, len(keep))


def forms(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of the blocks of forms inside the body: a form for the reader to
    fill (to subscribe, to write in, to comment, to vote, to log in) is the site's, with its
    labels, notes and messages. Not a form that holds the container (is it, or is around it:
    an ASP.NET page's form around the whole page), nor one holding half of the body's text
    or more (a table of products to compare set in a form)."""
    frames = w.frames
    first, last = w.span
    found: dict[int, list[int]] = {}  # the blocks of each form, by the form's frame's id
    # (the body's paragraphs are mostly siblings: the way up from one parent is climbed once)
    last_parent: list | None = None
    above: list | None = None  # the form the last parent lies in
    for k, i in enumerate(keep):
        frame = frames[i]
        if frame[0] == _FORM_ID or (frame[1] <= first and frame[6] >= last):
            form = _form_of(frame, first, last)
        else:
            if frame[5] is not last_parent:
                last_parent = frame[5]
                above = _form_of(last_parent, first, last)
            form = above
        if form is not None:
            found.setdefault(id(form), []).append(k)
    if not found:
        return []
    blocks = w.blocks
    total = sum(len(blocks[i]) for i in keep)
    return [k for ks in found.values() if 2 * sum(len(blocks[keep[k]]) for k in ks) < total
            for k in ks]


def _form_of(frame: list | None, first: int, last: int) -> list | None:
    """The form the element of `frame` is or lies in, below the first element that holds the
    whole container (blocks `first` to `last`): a form that is the container or is around it
    holds the body, and is not one of its forms."""
    while frame is not None and not (frame[1] <= first and frame[6] >= last):
        if frame[0] == _FORM_ID:
            return frame
        frame = frame[5]
    return None
