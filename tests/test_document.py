"""The FORMAT.md writer and reader, on the five example statements."""

from __future__ import annotations

import itertools
import random
import re
import unicodedata

import pytest

from collector import document


def seeds(shared_dir):
    files = sorted((shared_dir / "seeds").glob("*.txt"))
    assert len(files) == 5
    return files


def test_seeds_round_trip_to_canonical_form_changing_only_white_space(shared_dir):
    for path in seeds(shared_dir):
        raw = path.read_text(encoding="utf-8")
        parsed = document.parse(raw)
        written = document.render(parsed.title, parsed.blocks)
        assert written == document.canonical_form(raw), path.name
        assert document.validate(written) == [], path.name
        # only white space at line ends, blank lines and the ending may differ
        assert [ln.rstrip() for ln in raw.splitlines() if ln.strip()] == \
            [ln for ln in written.splitlines() if ln]


def test_writing_is_idempotent(shared_dir):
    for path in seeds(shared_dir):
        once = document.canonical_form(path.read_text(encoding="utf-8"))
        parsed = document.parse(once)
        assert document.render(parsed.title, parsed.blocks) == once
        assert document.canonical_form(once) == once


def test_render_normalises_blocks():
    text = document.render("  Title\twith tab ", ["a\u00a0b  c", "", "e\u0301t\u00e9\x07",
                                                  "line\nbreak"])
    assert text == "Title with tab\n\na\u00a0b c\n\n\u00e9t\u00e9\n\nline break\n"
    assert document.validate(text) == []


def test_validate_reports_problems():
    assert "does not end with exactly one newline" in document.validate("T\n\nb\n\n")
    assert any("blank" in p for p in document.validate("T\nb\n"))
    assert "contains a tab" in document.validate("T\n\na\tb\n")


def test_ids_and_file_names():
    doc_id = document.document_id("https://example.org/a/")
    assert len(doc_id) == 16 and int(doc_id, 16) >= 0
    assert document.file_name(7, doc_id) == f"007_{doc_id}.txt"
    assert document.file_name(1234, doc_id) == f"1234_{doc_id}.txt"
    with pytest.raises(ValueError):
        document.render("", [])


def _clean_line_by_pattern(text: str) -> str:
    """`clean_line` as the white space rule reads: runs of ordinary white space (not the kept
    non-breaking spaces U+00A0 and U+202F) collapsed by a pattern, then the ends trimmed."""
    space_run = re.compile(r"[ \t\r\n\f\v\u2028\u2029\u0085\u1680\u2000-\u200a\u205f\u3000]+")
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", " ", text)
    return space_run.sub(" ", text).strip()


def test_clean_line_collapses_white_space_as_the_pattern_does():
    # every string of up to 3 characters over the characters that matter (each kind of white
    # space, the kept spaces, controls, invisibles, a letter, a combining accent), and longer
    # random ones
    chars = (" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u2007\u200a\u2028\u2029\u202f"
             "\u205f\u3000\x00\x01\x08\x7f\x9f\u200b\u00ad\ufeffa\u0301")
    texts = ["".join(p) for n in range(4) for p in itertools.product(chars, repeat=n)]
    rng = random.Random(7)
    texts += ["".join(rng.choice(chars) for _ in range(rng.randint(4, 16))) for _ in range(5000)]
    for text in texts:
        assert document.clean_line(text) == _clean_line_by_pattern(text), repr(text)
