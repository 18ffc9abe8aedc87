"""The FORMAT.md writer and reader, on the five example statements."""

from __future__ import annotations

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
