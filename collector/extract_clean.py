"""After the walk: the chosen container's blocks judged and cleaned.

The classifier (collector/extract_blocks.py) judges the container's blocks that are not prose
(bylines, credits, teasers, calls to subscribe); the sections that are not the article
(collector/extract_sections.py) are dropped; then `finish` drops link lists, button labels,
empty and repeated lines and headings left with nothing under them, and cuts photo credits
set at the end of a line. `walk_page` puts the walk and this stage together. See
docs/extraction.md.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from . import extract_blocks
from .errors import ExtractError
from .extract_recipe import declared_box
from .extract_sections import (
    EDGE_MIN_PROSE,
    card_runs,
    closing_box,
    cookie_notices,
    forms,
    orphan,
    prompts,
    related_sections,
    script_errors,
    stamps,
    tail_sections,
    teaser_cards,
    trails,
)
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
            if emptied and orphan(out[section]):
                # the section under the previous heading was all furniture ("Also
                # interesting" over a list of teasers): its heading goes with it
                del out[section]
                del kinds[section]
            section, emptied, listed = len(out), False, True
        else:
            if listed and emptied and orphan(out[section]):
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
    while out and (out[-1].endswith(":") or kinds[-1] in _HEADING_IDS) and orphan(out[-1]):
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


_BLOCKQUOTE_ID = TAG_ID["blockquote"]
_CAPTION_IDS = _tag_ids(frozenset({"figcaption", "caption"}))
_P_ID = TAG_ID["p"]
_FIGURE_ID = TAG_ID["figure"]
_FIGCAPTION_ID = TAG_ID["figcaption"]
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
    if not good_at or (not todo and len(good_at) < EDGE_MIN_PROSE):
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
    if len(good_at) >= EDGE_MIN_PROSE:
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
        drop.update(tail_sections(w, keep))
        drop.update(teaser_cards(w, keep))
        drop.update(card_runs(w, keep))
        drop.update(related_sections(w, keep))
        drop.update(prompts(w, keep))
        drop.update(stamps(w, keep))
        drop.update(cookie_notices(w, keep))
        drop.update(trails(w, keep))
        drop.update(script_errors(w, keep))
        # a rights notice closing the body ("© 2022 Example News. All rights reserved."): a
        # copyright sign at its start (one at the end of a caption is the picture's credit),
        # often with a word about the site after it (up to 600 characters)
        last = w.blocks[keep[-1]]
        if "©" in last[:20] and len(last) < 600:
            drop.add(len(keep) - 1)
        drop.update(closing_box(w, keep))
        drop.update(forms(w, keep))
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
