"""After the walk: the chosen container's blocks judged and cleaned.

The classifier (collector/extract_blocks.py) judges the container's blocks that are not prose
(bylines, credits, teasers, calls to subscribe); sections that open with a heading after the
last prose block, runs of teaser cards, headings over related articles with their teasers,
prompts to the reader, publication stamps, cookie notices and trails at the body's edges, the
scripting engine's error messages, a rights notice and a box set apart closing the body are
dropped; then `finish` drops link lists, button labels, empty and
repeated lines and headings left with nothing under them, and cuts photo credits set at the
end of a line. `walk_page` puts the walk and this stage together. See docs/extraction.md.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from . import extract_blocks
from .errors import ExtractError
from .extract_recipe import declared_box
from .extract_walk import _HEADING_IDS, TAG_ID, Walk, _tag_ids, clean

#: Lines that are button labels or furniture captions even inside the article.
_BOILER = re.compile(
    r"^(?:share|share this|share on \w+|tweet|print|email|e-mail|facebook|twitter|linkedin|"
    r"whatsapp|pinterest|reddit|telegram|advertisement|sponsored|read more|continue reading|"
    r"related|related articles|related posts|related stories|tags|tags:|filed under|posted in|"
    r"categories|comments?|leave a comment|leave a reply|no comments|\d+ comments?|"
    r"like this:|like loading\.\.\.|click to share.*|share this:|share this article|"
    r"skip to (?:main )?content|back to top|previous|next|previous post|next post|"
    r"subscribe|sign up|newsletter|copy link|listen|save|bookmark|"
    # the advertisement label, "read more", "share", "print" and "comments" in other languages
    r"anzeige|werbung|reklama|reklame|publicité|publicidad|pubblicità|advertentie|реклама|"
    r"广告|広告|광고|إعلان|פרסומת|"
    r"weiterlesen|mehr lesen|lire la suite|lire plus|leer más|seguir leyendo|leggi tutto|"
    r"continua a leggere|lees meer|verder lezen|czytaj dalej|читать далее|ler mais|"
    r"teilen|partager|compartir|condividi|delen|udostępnij|поделиться|compartilhar|"
    r"drucken|imprimer|imprimir|stampa|kommentare|commentaires|comentarios|commenti|"
    # the label over a table of contents (its list of links is dropped as a link list)
    r"table of contents|contents|inhaltsverzeichnis|inhalt|sommaire|índice|indice|"
    r"inhoudsopgave|spis treści|obsah|содержание|目次|目录|"
    # the label over a post's tags (the tags are dropped as a link list)
    r"schlagwörter|schlagworte|stichwörter|stichworte|temas|étiquettes|mots-clés|mots clés|"
    r"etiquetas|palavras-chave|parole chiave|trefwoorden|tagi|теги|метки|标签|タグ|태그)$",
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
    "anzeige", "werbung", "reklama", "reklame", "advertentie", "weiterlesen", "mehr lesen",
    "lire la suite", "lire plus", "seguir leyendo", "leggi tutto", "continua a leggere",
    "lees meer", "verder lezen", "czytaj dalej", "ler mais", "teilen", "partager",
    "compartir", "condividi", "delen", "compartilhar", "drucken", "imprimer", "imprimir",
    "stampa", "kommentare", "commentaires", "comentarios", "commenti", "table of contents",
    "contents", "inhaltsverzeichnis", "inhalt", "sommaire", "indice", "inhoudsopgave", "obsah",
    "schlagworte", "stichworte", "temas", "etiquetas", "parole chiave", "trefwoorden", "tagi",
})
_BOILER_ASCII = re.compile(r"(?:share on \w+|\d+ comments?|click to share.*)$")


def _is_boiler(line: str) -> bool:
    """A button label or furniture caption ("Share", "Read more", "3 comments")."""
    label = line.rstrip(" :»›→")
    if label.isascii():
        label = label.lower()
        return label in _BOILER_LABELS or _BOILER_ASCII.match(label) is not None
    return _BOILER.match(label) is not None


def finish(blocks: list[str], links: list[float], goods: list[bool],
           tags: list[int] | None = None, dropped: set[int] | None = None,
           frames: list[list] | None = None) -> list[str]:
    """Clean the chosen blocks: drop link lists, button labels, empty and repeated lines, the
    blocks at the positions `dropped` (judged furniture), and headings or labels left with
    nothing of theirs after them. With the blocks' `frames`, a line in a `<figure>` without
    `<figcaption>` is a caption too, for the labelled credit after it ("… Credit: Name")."""
    out: list[str] = []
    kinds: list[int] = []
    section = -1          # where in `out` the last heading stands while nothing follows it
    emptied = False       # and whether what followed it was all dropped
    listed = False        # and all of it as link lists
    cited = _lone_address(blocks, links, goods)
    # (one flat tuple a block, which zip reuses: enumerate around zip makes two new ones)
    for i, text, share, good in zip(range(len(blocks)), blocks, links, goods, strict=True):
        if share > 0.5 and not good and i != cited:
            emptied = section >= 0
            continue
        if dropped and i in dropped:
            emptied = section >= 0
            listed = False
            continue
        # `clean`, whose fast path is inline here: most blocks are plain text already
        line = text if text.isascii() and text.isprintable() and "  " not in text \
            else clean(text)
        if not line:
            continue
        if "©" in line:
            line = _cut_credit(line)
        if ": " in line and tags is not None and (
                tags[i] in _CAPTION_IDS or (frames is not None and tags[i] not in _HEADING_IDS
                                            and _in_figure(frames[i]))):
            line = _cut_labelled_credit(line)
        if len(line) < 80 and ((len(line) < 40 and _is_boiler(line)) or (
                line[0] in _CREDIT_FIRST and _only_credit(line))):
            emptied = section >= 0
            listed = False
            continue
        kind = tags[i] if tags is not None else 0
        if kind in _HEADING_IDS:
            if emptied and _orphan(out[section]):
                # the section under the previous heading was all furniture ("Also
                # interesting" over a list of teasers): its heading goes with it
                del out[section]
                del kinds[section]
            section, emptied, listed = len(out), False, True
        else:
            if listed and emptied and _orphan(out[section]):
                # a heading whose every line up to this one was dropped ("Read also" over a
                # list of teaser links, in the middle of the article): it introduced those
                del out[section]
                del kinds[section]
            section, emptied = -1, False
        out.append(line)
        kinds.append(kind)
    # a heading or a "label:" introduces what follows it; at the very end of the body what it
    # introduced was furniture ("Related news", "More on this topic:") and it is too (a
    # closing line with a date in it is a signature or dateline, set as a heading or not)
    while out and (out[-1].endswith(":") or kinds[-1] in _HEADING_IDS) and _orphan(out[-1]):
        out.pop()
        kinds.pop()
    # a blog's record of filing closing the post ("This entry was posted in News. Bookmark the
    # permalink.", "… und wurde unter Allgemein abgelegt")
    if len(out) > 1 and len(out[-1]) < 300 and _FILED.search(out[-1]):
        out.pop()
    return out


#: A web or e-mail address written out whole, with a note number before it ("[1] http://…").
_ADDRESS = re.compile(r"(?:\[\d+\]\s*)?(?:(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


def _lone_address(blocks: list[str], links: list[float], goods: list[bool]) -> int:
    """The position of the one link line that is an address written out whole (a link whose
    text is the URL or e-mail address it points to), or -1 when there is none or more than
    one. A single address in the body is the article's pointer (the petition to sign, the
    mailbox to write to), not the site's navigation, whose links are named by words; a run
    of them is a list of sources or links, whose addresses the text does not keep."""
    found = -1
    for i, share in enumerate(links):
        text = blocks[i]
        if share > 0.5 and not goods[i] and ("/" in text or "@" in text) \
                and _ADDRESS.fullmatch(text.strip()) is not None:
            if found >= 0:
                return -1
            found = i
    return found


#: What a blog's closing line of filing says: the post was filed under categories, or its
#: permalink ("posted in", "filed under" are said of much else: only of the entry itself).
_FILED = re.compile(r"\b(?:permalink|(?:entry|post) was (?:posted|filed) (?:in|under)|"
                    r"abgelegt unter|unter .{1,80} abgelegt|classé dans)\b", re.IGNORECASE)


#: The longest photo credit cut from the end of a line ("… at the harbour. © Name/Agency").
_CREDIT_MAX_CHARS = 60
_CREDIT_SEPARATORS = " |/–-—·,;(["


def _cut_credit(line: str) -> str:
    """A line less the photo credit at its end: from a copyright sign that is not at the start,
    when what follows it is short, not a sentence and not longer than the text before it (a
    caption's or picture's credit set in the same block as its text)."""
    at = line.rfind("©")
    if at <= 0 or len(line) - at > _CREDIT_MAX_CHARS or line[-1] in ".!?。！？":
        return line
    head = line[:at].rstrip(_CREDIT_SEPARATORS)
    return head if len(head) >= (len(line) - at) else line


#: A picture's credit closing a caption: a one- or two-word label and a colon ("Photo: Name /
#: Agency", "(Source: Name)", at most `_CREDIT_MAX_CHARS` after the colon) after the caption's
#: sentence, a bar, a dash or a parenthesis.
_LABELLED_CREDIT = re.compile(
    r"(?:(?<=[.!?…])\s+|\s+[|–—-]\s+|\s+(?=\())"
    r"\(?[^\W\d_][\w-]*(?: [^\W\d_][\w-]*)?: [^:!?]{1,60}\)?$")


def _cut_labelled_credit(line: str) -> str:
    """A caption less the labelled credit at its end, when text of its own remains."""
    match = _LABELLED_CREDIT.search(line)
    if match is None or match.start() < 20:
        return line
    return line[:match.start()].rstrip(_CREDIT_SEPARATORS)


#: A block that is a picture's credit and nothing else: a credit label and a colon ("Foto:
#: Name", "(Credit: Name / Agency)") or "photo by …" in some language, then a name or two
#: (at most `_CREDIT_MAX_CHARS`, no sentence). A caption states what the picture shows and
#: is the document's; its credit alone says only who took it.
_CREDIT_LABELS = ("photo", "foto", "bild", "image", "picture", "pic", "credit", "crédit",
                  "crédito", "crédits", "créditos", "bildquelle", "fotografía", "fotografia",
                  "zdjęcie", "фото")
_CREDIT_BY_NOUNS = ("photo", "photograph", "picture", "image", "foto", "bild")
_ONLY_CREDIT = re.compile(
    rf"\(?(?:(?:{'|'.join(_CREDIT_LABELS)})s? ?(?:credits?)?\s*:"
    rf"|(?:{'|'.join(_CREDIT_BY_NOUNS)})s? (?:by|von|de|par|di|door|por))"
    r"\s*(?:[^.!?:]|(?<=[^\W\d_])(?<![^\W_]{2})\.){1,60}\)?", re.IGNORECASE)
#: The characters such a credit starts with (most lines are passed by without the pattern).
_CREDIT_FIRST = frozenset("(").union(
    c for w in _CREDIT_LABELS + _CREDIT_BY_NOUNS for c in (w[0], w[0].upper()))


def _only_credit(line: str) -> bool:
    """Whether the line is a picture's credit and nothing else (see `_ONLY_CREDIT`; its first
    character, one of `_CREDIT_FIRST`, is tested by the caller)."""
    return _ONLY_CREDIT.fullmatch(line) is not None


def _orphan(line: str) -> bool:
    """Whether a heading or label may be dropped with the section it introduced: short, and no
    date or number in it (a signature or dateline set as a heading carries one)."""
    return len(line) < 80 and not any(c.isdigit() for c in line)


_BLOCKQUOTE_ID = TAG_ID["blockquote"]
_CAPTION_IDS = _tag_ids(frozenset({"figcaption", "caption"}))
_P_ID = TAG_ID["p"]
_FIGURE_ID = TAG_ID["figure"]
_FIGCAPTION_ID = TAG_ID["figcaption"]
_LI_ID = TAG_ID["li"]
#: Block kinds the classifier tells apart, by tag.
_BLOCK_KINDS = {
    **dict.fromkeys(_HEADING_IDS, "heading"),
    **dict.fromkeys(_tag_ids(frozenset({"li", "dd", "dt"})), "item"),
    **dict.fromkeys(_tag_ids(frozenset({"figcaption", "caption"})), "caption"),
    **dict.fromkeys(_tag_ids(frozenset({"td", "th"})), "cell"),
    **dict.fromkeys(_tag_ids(frozenset({"blockquote"})), "quote"),
    **dict.fromkeys(_tag_ids(frozenset({"pre"})), "code"),
}


def _kind(frame: list) -> str:
    """The kind of block an element's text is, for the classifier's exemptions."""
    kind = _BLOCK_KINDS.get(frame[0])
    if kind is not None:
        return kind
    parent = frame[5]
    if parent is not None and parent[0] == _BLOCKQUOTE_ID:
        return "quote"
    return "paragraph" if frame[0] == _P_ID else ""


#: The characters an entry's number starts with.
_DIGITS = frozenset("0123456789")


def _numbered(before: str, line: str) -> bool:
    """Whether `line` goes on with the numbering of `before` ("99. …" after "98. …")."""
    end = line.find(" ", 1, 5)
    # isdecimal, not isdigit: "1²" is digits to isdigit, and int() refuses it
    if end < 2 or line[end - 1] not in ".)" or not line[:end - 1].isdecimal():
        return False
    return before.startswith(f"{int(line[:end - 1]) - 1}{line[end - 1]} ")


#: Prose blocks a container must hold for its first and last to be judged.
_EDGE_MIN_PROSE = 4
#: The kinds of those blocks that are judged: paragraphs and text set in other elements.
_EDGE_KINDS = frozenset({"paragraph", ""})


def block_rows(w: Walk, keep: list[int],
               scale: list[float] | None = None) -> tuple[list[int], list[list[float]]]:
    """The chosen blocks the classifier judges (positions in `keep`) and their rows (with
    `scale`, each feature times its weight: see `extract_blocks.features`)."""
    blocks = w.blocks
    goods = w.goods
    links = w.links
    frames_of = w.frames
    # judged: blocks that are not prose (judging prose too cost a fifth of the extractor's
    # time for no gain on the tuning parts) and not link lists (dropped anyway); and headings,
    # even of prose length (a teaser's headline, a call to subscribe set as a heading)
    todo = [k for k, i in enumerate(keep)
            if (not goods[i] and links[i] <= 0.5) or frames_of[i][0] in _HEADING_IDS]
    good_at = [k for k, i in enumerate(keep) if goods[i]]
    if not good_at or (not todo and len(good_at) < _EDGE_MIN_PROSE):
        return [], []  # a page without prose is not judged
    kept = [blocks[i] for i in keep]
    n = len(keep)
    frames: list[Any] = [None] * n
    kinds = [""] * n
    for k in todo:
        frames[k] = frame = w.frames[keep[k]]
        kinds[k] = _kind(frame)
        if kept[k][0] in _DIGITS and k and kept[k - 1][0] in _DIGITS \
                and _numbered(kept[k - 1], kept[k]):
            # an entry going on with the numbering of the block before it ("99. …",
            # "100. …": a ranking written as paragraphs) is the document's own
            kinds[k] = "entry"
    kept_links = [links[i] for i in keep]
    exempt = extract_blocks.exempt(kept, good_at, kinds, kept_links)
    if exempt:
        todo = [k for k in todo if k not in exempt]
    if len(good_at) >= _EDGE_MIN_PROSE:
        # the body's first and last prose blocks are judged too, sentences or not: calls to
        # subscribe, authors' bios, disclaimers and newsletter prompts are set as paragraphs
        # (captions and quotations stay the document's own, as `exempt` has it)
        edges = []
        for k in {good_at[0], good_at[-1]}.difference(todo):
            frame = w.frames[keep[k]]
            kind = _kind(frame)
            if kind in _EDGE_KINDS:
                frames[k] = frame
                kinds[k] = kind
                edges.append(k)
        if edges:
            todo = sorted([*todo, *edges])
    if not todo:
        return [], []
    first, last = w.span
    seen = Counter(blocks)
    rows = extract_blocks.features(
        kept, kept_links, [goods[i] for i in keep], frames, kinds, todo, good_at,
        [not first <= keep[k] < last for k in todo], [seen[kept[k]] > 1 for k in todo], scale)
    return todo, rows


def _tail_sections(w: Walk, keep: list[int]) -> range:
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
        if frames[keep[k]][0] in _HEADING_IDS and _orphan(blocks[keep[k]].strip()):
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


def _teaser_cards(w: Walk, keep: list[int]) -> list[int]:
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


def _related_sections(w: Walk, keep: list[int]) -> list[int]:
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


def _prompts(w: Walk, keep: list[int]) -> list[int]:
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


def _stamps(w: Walk, keep: list[int]) -> list[int]:
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


def _cookie_notices(w: Walk, keep: list[int]) -> list[int]:
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


def _trails(w: Walk, keep: list[int]) -> list[int]:
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


def _script_errors(w: Walk, keep: list[int]) -> list[int]:
    """Positions (in `keep`) of the scripting engine's error messages."""
    blocks = w.blocks
    return [k for k, i in enumerate(keep)
            if " on line " in blocks[i] and _SCRIPT_ERROR.fullmatch(blocks[i].strip())]


#: Blocks the box of a closing paragraph may hold (the paragraph, a heading, a link).
_BOX_BLOCKS = 3
#: Elements whose text is the document's own (a quotation, a picture's caption).
_OWN_IDS = _tag_ids(frozenset({"blockquote", "figure", "figcaption", "caption"}))


def _closing_box(w: Walk, keep: list[int]) -> range:
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
    if len(good_at) < _EDGE_MIN_PROSE:
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


def walk_page(root: LexborNode, furniture: bool, noscript: bool = False,
              declared: tuple[str, ...] = ()) -> tuple[Walk, list[str]]:
    """The page's body. `declared`: the lines the page declares as its recipe's ingredients
    and steps (JSON-LD), whose box joins the body (see `extract_recipe.declared_box`)."""
    w = Walk(furniture, root, noscript)
    w.enter(root.tag_id)
    w.walk(root)
    w.leave()
    keep = w.chosen()
    joined: set[int] = set()
    if declared and keep:
        keep, joined = declared_box(w, keep, declared)
    model = extract_blocks.MODEL
    drop: set[int] = set()
    if model is not None and keep:
        # furniture left inside the container (bylines, credits, teasers): by the classifier
        todo, rows = block_rows(w, keep, model.weights)
        drop = {k for k, terms in zip(todo, rows, strict=True) if not model.keep(terms)}
    if keep:
        drop.update(_tail_sections(w, keep))
        drop.update(_teaser_cards(w, keep))
        drop.update(_related_sections(w, keep))
        drop.update(_prompts(w, keep))
        drop.update(_stamps(w, keep))
        drop.update(_cookie_notices(w, keep))
        drop.update(_trails(w, keep))
        drop.update(_script_errors(w, keep))
        # a rights notice closing the body ("© 2022 Example News. All rights reserved."): a
        # copyright sign at its start (one at the end of a caption is the picture's credit),
        # often with a word about the site after it (up to 600 characters)
        last = w.blocks[keep[-1]]
        if "©" in last[:20] and len(last) < 600:
            drop.add(len(keep) - 1)
        drop.update(_closing_box(w, keep))
        if joined:
            # the declared recipe's lines are the page's own, whatever they look like
            drop.difference_update(k for k, i in enumerate(keep) if i in joined)
    # (text in an element of a caption counts as the caption's)
    frames = [w.frames[i] for i in keep]
    tags = [frame[0] if frame[0] != _P_ID or frame[5] is None or frame[5][0] not in _CAPTION_IDS
            else frame[5][0] for frame in frames]
    return w, finish([w.blocks[i] for i in keep], [w.links[i] for i in keep],
                     [w.goods[i] for i in keep], tags, drop, frames)


def _in_figure(frame: list) -> bool:
    """Whether a block's element lies in a `<figure>` (its parent, grandparent or
    great-grandparent): a picture's caption set without `<figcaption>`."""
    for _ in range(3):
        frame = frame[5]
        if frame is None:
            return False
        if frame[0] == _FIGURE_ID:
            return True
    return False


def selector_blocks(tree: LexborHTMLParser, selector: str) -> list[str]:
    try:
        nodes = tree.css(selector)
    except Exception as exc:  # lexbor raises a bare ValueError/SelectolaxError on bad CSS
        raise ExtractError(f"content selector {selector!r} is not valid CSS: {exc}") from exc
    out: list[str] = []
    for node in nodes:
        w = Walk(True, node)
        w.enter(node.tag_id)
        w.walk(node)
        w.leave()
        out.extend(finish(w.blocks, w.links, w.goods))
    return out
