"""Bytes → text: BOM, HTTP charset, <meta> prescan, detection, in that order."""

from __future__ import annotations

import codecs

from collector import encoding
from collector.encoding import decode_html, detect_charset, html_to_utf8

TEXT = "<p>Grüße aus Köln – “Solidarität” für alle Beschäftigten der Stadtwerke.</p>"
RUSSIAN = "<p>Рабочие всех стран, соединяйтесь! Забастовка продолжается третий день.</p>"


def test_utf8_bom_wins_over_a_wrong_header():
    body = codecs.BOM_UTF8 + TEXT.encode("utf-8")
    assert decode_html(body, "text/html; charset=iso-8859-1") == TEXT


def test_utf16_bom_is_honoured():
    body = TEXT.encode("utf-16")  # with BOM
    assert decode_html(body, None) == TEXT


def test_http_charset_is_used():
    body = RUSSIAN.encode("koi8-r")
    assert decode_html(body, "text/html; charset=KOI8-R") == RUSSIAN


def test_meta_charset_is_used_when_the_header_has_none():
    body = b'<meta charset="windows-1251">' + RUSSIAN.encode("cp1251")
    assert decode_html(body, "text/html") == '<meta charset="windows-1251">' + RUSSIAN


def test_meta_http_equiv_content_type_is_used():
    head = b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-2">'
    body = head + "<p>Zażółć gęślą jaźń</p>".encode("iso-8859-2")
    assert decode_html(body, None).endswith("<p>Zażółć gęślą jaźń</p>")


def test_latin1_label_means_windows_1252():
    body = "<p>“quoted” – dash</p>".encode("cp1252")
    assert decode_html(body, "text/html; charset=ISO-8859-1") == "<p>“quoted” – dash</p>"


def test_utf8_bytes_labelled_latin1_are_read_as_utf8():
    assert decode_html(TEXT.encode("utf-8"), "text/html; charset=iso-8859-1") == TEXT


def test_undeclared_utf8_is_utf8():
    assert detect_charset(TEXT.encode("utf-8"), None) == "utf-8"


def test_undeclared_legacy_bytes_are_detected():
    body = (RUSSIAN * 5).encode("cp1251")
    assert decode_html(body, None) == RUSSIAN * 5


def test_unknown_label_falls_through_to_the_next_evidence():
    body = b'<meta charset="utf-8">' + TEXT.encode("utf-8")
    assert decode_html(body, "text/html; charset=x-no-such-thing").endswith(TEXT)


def test_meta_claiming_utf16_on_ascii_compatible_bytes_means_utf8():
    body = b'<meta charset="utf-16">' + TEXT.encode("utf-8")
    assert decode_html(body, None).endswith(TEXT)


def test_undecodable_bytes_become_replacement_characters_not_errors():
    body = b"<p>caf\xc3</p>"
    assert "\ufffd" in decode_html(body, "text/html; charset=utf-8")


def test_utf8_bytes_come_back_as_they_are_and_others_as_their_utf8():
    samples = [
        (TEXT.encode("utf-8"), None),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), None),
        (TEXT.encode("utf-8"), "text/html; charset=iso-8859-1"),
        ("<p>“quoted” – dash</p>".encode("cp1252"), "text/html; charset=ISO-8859-1"),
        (RUSSIAN.encode("koi8-r"), "text/html; charset=KOI8-R"),
        (TEXT.encode("utf-16"), None),
        (b"<p>caf\xc3</p>", "text/html; charset=utf-8"),
        (b"<p>plain ascii</p>", "text/html; charset=shift_jis"),
    ]
    for body, header in samples:
        assert html_to_utf8(body, header) == decode_html(body, header).encode("utf-8")
    utf8 = TEXT.encode("utf-8")
    assert html_to_utf8(utf8, None) is utf8  # no copy for the common case


def test_utf8_check_in_pieces_agrees_with_decoding_the_whole():
    """The check reads the bytes in pieces cut before a character's first byte: characters
    and broken sequences across a cut are judged as a decode of the whole judges them."""
    piece = encoding._UTF8_PIECE
    samples = []
    for char in ("é", "€", "😀"):
        encoded = char.encode()
        for shift in range(-4, 5):  # the character over the cut, at every offset
            head = b"a" * (piece + shift)
            samples.append(head + encoded + b"b" * 10)
            samples.append(head + encoded[:-1] + b"b")            # cut short
            samples.append(head + encoded + encoded[1:] + b"b")   # stray continuation bytes
            samples.append(head + b"\x80" * 6 + b"b")             # continuation bytes alone
            samples.append(head + encoded[:-1])                   # cut short at the very end
    samples += [b"", b"\xed\xa0\x80" * piece, "ü".encode() * piece, b"a\xff" * piece,
                b"<p>a</p>" * piece]
    for body in samples:
        try:
            body.decode("utf-8")
            whole = True
        except UnicodeDecodeError:
            whole = False
        check = encoding._utf8_check(body)
        assert (check is not None) is whole, body[piece - 8:]
        assert (check == "ascii") is (whole and body.isascii()), body[piece - 8:]
