"""What kind of document a body is, from its first bytes: "html", "xml", "json", "binary" or
"text". Pure; used by the fetcher (HTML where a feed was expected, binary data) and by the feed
and discovery parsers, so all of them answer alike.

The rule is the one markup languages define for themselves: a document's kind is its root
element. The encoding comes first: a byte-order mark (UTF-8, UTF-16, UTF-32), else the pattern of
zero bytes around a leading `<` that XML's own detection uses for UTF-16 and UTF-32 without a
mark, else an ASCII-compatible reading (which is enough to find markup in UTF-8, Latin and most
other encodings). Then what may stand before the root is skipped: white space, comments,
processing instructions (the XML declaration among them) and a document type declaration with
its internal subset. A doctype naming `html`, or a root that is an HTML element, makes the
document HTML; any other root (`rss`, `feed`, `rdf:RDF`, `urlset`, ...) makes it XML, whatever
it contains further on (an XHTML `<body>` inside a feed entry is content, not the document).

A body that opens with `{` or `[` is JSON; one holding NUL characters once decoded is binary;
anything else, including markup whose prolog runs past the window looked at, is "text": not
decided here, left to the parser.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

#: Bytes looked at. The prolog of real documents (declaration, comments, doctype) fits easily;
#: a longer one leaves the kind undecided rather than costing a scan of the whole body.
SNIFF_BYTES = 8192

#: Byte-order marks, longest first (UTF-32LE's mark begins with UTF-16LE's).
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
#: A leading '<' without a mark, in the wide encodings (XML 1.0, appendix F).
_WIDE = (
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"),
)

#: Elements of HTML that can open a page (the root, what may stand before or instead of it in
#: tag soup, and the common blocks of a fragment). Feed, sitemap and other XML roots are none.
HTML_ELEMENTS = frozenset({
    "html", "head", "body", "title", "meta", "link", "base", "script", "style", "noscript",
    "template", "div", "p", "span", "a", "table", "form", "header", "nav", "main", "section",
    "article", "aside", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "br",
    "hr", "img", "iframe", "frameset", "center", "font", "b", "i", "strong", "em", "pre",
    "blockquote", "figure", "button", "input", "label", "select", "textarea",
})

_SPACE = " \t\r\n\f"
_NAME = re.compile(r"[A-Za-z_][\w.:-]*")
_DOCTYPE = re.compile(r"<!doctype[ \t\r\n]+([^ \t\r\n>\[]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Sniffed:
    """The verdict: `kind`, the root element's name as written (None when none was found) and
    the Unicode encoding the first bytes named (None: none named, read as ASCII-compatible).
    """

    kind: str
    root: str | None = None
    encoding: str | None = None

    @property
    def root_local(self) -> str:
        """The root's name without a namespace prefix, lower-cased ("" when there is none)."""
        return (self.root or "").rpartition(":")[2].lower()


def encoding_of(body: bytes) -> tuple[str | None, int]:
    """The encoding the first bytes show (a mark or a wide `<`), and the mark's length; None
    when they show none."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, len(bom)
    for start, name in _WIDE:
        if body.startswith(start):
            return name, 0
    return None, 0


def head_text(body: bytes, limit: int = SNIFF_BYTES) -> tuple[str, str | None]:
    """The first `limit` bytes as text, and the encoding named by their first bytes (None: read
    as Latin-1, which keeps every ASCII character where it is in any ASCII-compatible text)."""
    encoding, skip = encoding_of(body)
    head = body[skip:skip + limit]
    if encoding is None:
        return head.decode("latin-1"), None
    # incremental, so a character cut at the end of the window is not an error
    return codecs.getincrementaldecoder(encoding)("replace").decode(head), encoding


def sniff(body: bytes) -> Sniffed:
    """The kind of document `body` is (see the module docstring)."""
    text, enc = head_text(body)
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _SPACE:
            pos += 1
        if text.startswith("<?", pos):                       # XML declaration, instruction
            close = text.find("?>", pos + 2)
        elif text.startswith("<!--", pos):
            close = text.find("-->", pos + 4)
        elif text.startswith("<!", pos):                     # document type declaration
            doctype = _DOCTYPE.match(text, pos)
            if doctype and doctype.group(1).rpartition(":")[2].lower() == "html":
                return Sniffed("html", "html", enc)
            close = _declaration_end(text, pos + 2)
        elif text.startswith("<", pos) and (name := _NAME.match(text, pos + 1)):
            root = name.group(0)
            local = root.rpartition(":")[2].lower()
            return Sniffed("html" if local in HTML_ELEMENTS else "xml", root, enc)
        else:
            break
        if close < 0:                                        # runs past the window
            return Sniffed("text", None, enc)
        pos = text.find(">", close) + 1
    if text.startswith(("{", "["), pos):
        return Sniffed("json", None, enc)
    raw_nul = enc is None and b"\x00" in body[:SNIFF_BYTES]
    if raw_nul or "\x00" in text:
        return Sniffed("binary", None, enc)
    return Sniffed("text", None, enc)


def _declaration_end(text: str, pos: int) -> int:
    """The index of the '>' closing a `<!...` declaration opened before `pos`, stepping over
    quoted strings and a bracketed internal subset (whose own declarations hold '>'); -1 when
    it does not close within `text`."""
    depth = 0
    quote = ""
    for i in range(pos, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        elif ch == ">" and depth == 0:
            return i
    return -1
