"""Bytes of an HTML page → text, whatever the page declares or fails to declare.

Order of evidence: a byte-order mark; then bytes that hold multi-byte sequences and decode as
UTF-8 throughout are UTF-8, whatever any label says (templates that declare `iso-8859-1` or
`gb2312` over UTF-8 text are common, while a legacy-encoded text that happens to be valid
UTF-8 is vanishingly rare); otherwise the HTTP `Content-Type` charset, then a `<meta>`
prescan of the first bytes, then detection (charset-normalizer) as a last resort. Labels
follow the WHATWG encoding standard where it differs from Python (`iso-8859-1` and `ascii`
mean windows-1252; a `<meta>` claiming UTF-16 means UTF-8).
"""

from __future__ import annotations

import codecs
import re

#: The HTML standard prescans 1024 bytes; real pages often put `<meta charset>` after long
#: comments or scripts, so look a little further.
_PRESCAN_BYTES = 4096
#: Detection looks at this many bytes at most: enough for a verdict, cheap on a 5 MB page.
_DETECT_BYTES = 64 * 1024

_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:+\-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:+\-]+)""", re.IGNORECASE
)
_META_CONTENT = re.compile(
    rb"""<meta\b[^>]*?\bcontent\s*=\s*["'][^"']*?charset\s*=\s*([A-Za-z0-9_.:+\-]+)""",
    re.IGNORECASE,
)

# WHATWG label mapping where Python's codec of the same name decodes differently.
_WHATWG = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "l1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252", "iso_8859-1": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254", "iso-8859-11": "cp874", "tis-620": "cp874",
    "x-sjis": "shift_jis", "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "gb2312": "gb18030",
    "gbk": "gb18030", "x-gbk": "gb18030", "unicode": "utf-16-le", "utf8": "utf-8",
}
#: Encodings in which ASCII bytes do not mean ASCII text.
_NOT_ASCII_SUPERSETS = {"utf-7", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp037",
                        "cp500", "hz"}


def _codec(label: str | None) -> str | None:
    """Python codec name for a charset label, or None when the label names nothing usable."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _WHATWG.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return name


def charset_label(header: str | None) -> str | None:
    """The label a Content-Type header's charset parameter gives, as written, if any."""
    m = _CHARSET_PARAM.search(header) if header else None
    return m.group(1) if m else None


def charset_from_content_type(header: str | None) -> str | None:
    """The codec named by a Content-Type header's charset parameter, if usable."""
    return _codec(charset_label(header))


def charset_from_meta(body: bytes) -> str | None:
    """The codec declared by `<meta charset>` or `<meta http-equiv content>` near the top."""
    head = body[:_PRESCAN_BYTES]
    for pattern in (_META_CHARSET, _META_CONTENT):
        m = pattern.search(head)
        if m:
            name = _codec(m.group(1).decode("ascii", "replace"))
            if name in ("utf-16-le", "utf-16-be", "utf-16", "utf-32"):
                return "utf-8"  # a page that can be read as ASCII to find this is not UTF-16
            if name:
                return name
    return None


#: `_utf8_check` reads the body in pieces of about this many bytes.
_UTF8_PIECE = 8192


def _utf8_check(body: bytes) -> str | None:
    """"ascii" when the bytes are ASCII alone, "utf-8" when they decode as UTF-8 throughout
    otherwise, None when they do not (as `body.decode("utf-8")` would tell): one pass, which
    `isascii` over the whole body before it would repeat up to the first non-ASCII byte.

    Checked piece by piece, each piece cut before a byte that starts a character (not a
    continuation byte, 0x80-0xBF): the whole is valid exactly when every piece is. A piece of
    ASCII alone (scripts, styles, markup: most pieces of most pages) is known valid by
    `isascii` and is not decoded; decoding the whole page instead costs about twice as much
    (a page's text is widened to two bytes a character by its first curly quote).
    """
    size = len(body)
    start = 0
    ascii_only = True
    while start < size:
        end = start + _UTF8_PIECE
        # a valid character has at most 3 continuation bytes: stop after 4 (then the next
        # piece starts with one, and fails as the whole would)
        stop = end + 4
        while end < size and end < stop and 0x80 <= body[end] < 0xC0:
            end += 1
        piece = body[start:end]
        if not piece.isascii():
            ascii_only = False
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError:
                return None
        start = end
    return "ascii" if ascii_only else "utf-8"


def _decode(body: bytes, codec: str) -> str:
    return body.decode(codec, errors="replace")


def detect_charset(body: bytes, content_type_header: str | None = None) -> str:
    """The codec `decode_html` would use (BOM → HTTP → meta → UTF-8 check → detection)."""
    return _detect(body, content_type_header)[0]


def _detect(body: bytes, content_type_header: str | None) -> tuple[str, bool]:
    """(codec, whether the body is already known to be valid UTF-8)."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", False
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", False
    check = _utf8_check(body)
    if check == "ascii":
        declared = charset_from_content_type(content_type_header) or charset_from_meta(body)
        if declared in _NOT_ASCII_SUPERSETS:
            return declared, False  # UTF-16 without a BOM is ASCII bytes too (and NULs)
        return "utf-8", True  # ASCII reads the same in every other label
    # multi-byte sequences that all decode as UTF-8 are UTF-8 whatever a label says: a legacy
    # text (Latin, Cyrillic, CJK) that happens to be valid UTF-8 throughout is vanishingly
    # rare, while templates that declare a charset the page is not in are common
    if check:
        return "utf-8", True
    declared = charset_from_content_type(content_type_header) or charset_from_meta(body)
    if declared:
        return declared, False
    return guess_charset(body), False


def guess_charset(body: bytes) -> str:
    """The codec detection gives for bytes that declare none (windows-1252 without a verdict)."""
    # imported here: most pages and feeds declare their charset or are UTF-8, so a parse
    # worker loads the detector (several MB) only once a body needs it
    from charset_normalizer import from_bytes

    best = from_bytes(body[:_DETECT_BYTES]).best()
    name = _codec(best.encoding) if best is not None else None
    return name or "cp1252"


def decode_html(body: bytes, content_type_header: str | None = None) -> str:
    """Decode an HTML body to text; undecodable bytes become U+FFFD rather than failing."""
    return _decode(body, detect_charset(body, content_type_header))


def html_to_utf8(body: bytes, content_type_header: str | None = None) -> bytes:
    """The body as UTF-8 bytes, as `decode_html(...).encode("utf-8")` would give them.

    Most pages are UTF-8 (or ASCII) already: those are returned as they are, after at most
    one validating pass, instead of being decoded to text and encoded back.
    """
    codec, valid = _detect(body, content_type_header)
    if valid:
        return body
    if codec == "utf-8-sig":
        body, codec = body[len(codecs.BOM_UTF8):], "utf-8"
    return _decode(body, codec).encode("utf-8", "replace")
