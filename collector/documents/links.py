"""An article page that is only a pointer to its document ("Read the statement (PDF)").

`document_link` runs in a parse worker on the page's HTML, after the extractor found little
text on it: it returns the document the page's main content links to, or None when the page
has text of its own or links to no document (or to several different ones with nothing to
choose by). Links in site furniture (navigation, header, footer, sidebars) never count.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .. import limits
from ..discover.links import normalise_url
from ..document import clean_line
from . import is_document_link, url_kind

#: Words a page may have around its document link and still be only a pointer to it.
MAX_POINTER_WORDS = 120
_FURNITURE = ("nav", "header", "footer", "aside", "form")
_FURNITURE_CLASS = re.compile(r"(^|[-_ ])(nav|menu|footer|sidebar|share|social|breadcrumb)s?"
                              r"($|[-_ ])", re.IGNORECASE)
#: Language names and codes a link may be marked with, by ISO 639-1 code (the single letters
#: are the United Nations' document symbols: A C E F R S).
LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("en", "eng", "english", "anglais", "anglaise", "inglés", "ingles", "englisch", "e"),
    "fr": ("fr", "fra", "fre", "french", "français", "francais", "française", "francaise",
           "francés", "frances", "französisch", "f"),
    "es": ("es", "esp", "spa", "spanish", "español", "espanol", "espagnol", "espagnole",
           "spanisch", "castellano", "s"),
    "de": ("de", "deu", "ger", "german", "deutsch", "allemand", "allemande", "alemán"),
    "ar": ("ar", "ara", "arabic", "العربية", "arabe", "árabe", "a"),
    "ru": ("ru", "rus", "russian", "русский", "russe", "ruso", "r"),
    "zh": ("zh", "chi", "zho", "chinese", "中文", "chinois", "chinoise", "chino", "c"),
    "pt": ("pt", "por", "portuguese", "português", "portugais", "portugués"),
    "it": ("it", "ita", "italian", "italiano", "italien"),
    "nl": ("nl", "nld", "dut", "dutch", "nederlands", "néerlandais"),
}
#: A language code in a URL: `_en.pdf`, `/fr/`, `-es.docx`, `?lang=ar`.
_URL_LANGUAGE = re.compile(
    r"(?:[_\-./]|lang(?:uage)?=)([a-z]{2})(?:\.(?:pdf|docx|odt|html?)$|[/_\-&]|$)")
_WORD_TO_LANGUAGE = {w: code for code, words in LANGUAGE_WORDS.items() for w in words}


def link_language(text: str, href: str, hreflang: str | None = None) -> str | None:
    """The language a link names: its hreflang, its text ("EN", "Français"), or a language
    marker in its URL (`_en.pdf`, `/fr/`, `?lang=es`)."""
    if hreflang:
        return hreflang.strip().lower()[:2]
    word = clean_line(text).casefold().strip("()[]| ")
    if word in _WORD_TO_LANGUAGE:
        return _WORD_TO_LANGUAGE[word]
    found = _URL_LANGUAGE.search(href.lower())
    if found and found.group(1) in LANGUAGE_WORDS:
        return found.group(1)
    return None


def _in_furniture(node: LexborNode) -> bool:
    cur: LexborNode | None = node
    while cur is not None and cur.tag not in ("body", "html"):
        if cur.tag in ("article", "main"):
            return False
        if cur.tag in _FURNITURE:
            return True
        marks = " ".join(v for v in (cur.attributes.get("class"), cur.attributes.get("id"),
                                     cur.attributes.get("role")) if v)
        if marks and _FURNITURE_CLASS.search(marks):
            return True
        cur = cur.parent
    return False


def document_link(html: str, page_url: str, *, page_words: int,
                  language: str | None = None) -> str | None:
    """The URL of the one document this page stands for, or None."""
    if page_words > MAX_POINTER_WORDS:
        return None
    tree = LexborHTMLParser(html[: limits.MAX_HTML_BYTES])
    root = tree.body or tree.root
    if root is None:
        return None
    found: list[tuple[str, str | None, int]] = []
    for anchor in root.css("a[href]")[: limits.MAX_LISTING_LINKS]:
        url = normalise_url(anchor.attributes.get("href") or "", page_url)
        text = clean_line(anchor.text(separator=" "))
        if url is None or not is_document_link(url, text) or _in_furniture(anchor):
            continue
        if url_kind(url) is None and not re.search(r"\b(pdf|docx|odt)\b", text, re.IGNORECASE):
            continue  # "Download" alone may be anything
        lang = link_language(text, url, anchor.attributes.get("hreflang"))
        rank = {"pdf": 0, "docx": 1, "odt": 2}.get(url_kind(url) or "pdf", 0)
        if url not in {f[0] for f in found}:
            found.append((url, lang, rank))
    if not found:
        return None
    if language:
        preferred = [f for f in found if f[1] == language]
        found = preferred or found
    languages = {f[1] for f in found if f[1]}
    if len(languages) > 1 and not language:
        english = [f for f in found if f[1] == "en"]
        found = english or found[:1]
    return min(found, key=lambda f: f[2])[0]
