"""Digest emails: structure, escaping, header safety, user templates in a sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from collector.errors import ConfigError
from collector.notify import DigestItem, SourceHealthNote
from collector.notify.render import (
    check_templates,
    header_value,
    render_email,
    run_key_for,
    safe_url,
)

NOW = datetime(2024, 5, 1, 5, 0, tzinfo=UTC)
EXPECTED_HEADERS = {"subject", "from", "to", "date", "message-id", "x-collector-digest",
                    "auto-submitted", "mime-version", "content-type"}


def item(n: int = 1, **kw) -> DigestItem:
    base = dict(id=f"{n:016x}", seq=n, title=f"Statement {n}", source_id="src",
                source_name="Ministry of Examples", url=f"https://example.org/s/{n}",
                published=datetime(2024, 4, 30, 22, 30, tzinfo=UTC), collected=NOW,
                blocks=tuple(f"Paragraph {k} of statement {n}." for k in range(1, 6)),
                also_published=(("Agency of Samples", f"https://example.net/s/{n}"),))
    base.update(kw)
    return DigestItem(**base)


def render(items, notes=(), **kw):
    args = dict(run_key="run-1", full_text=False, paragraphs=2, template_dir=None, now=NOW,
                sender="Collector <digests@example.org>", recipients=["reader@example.com"])
    args.update(kw)
    return render_email("morning", items, notes, **args)


def parts(msg):
    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    return parsed, text, html


def test_message_is_multipart_alternative_with_text_and_html():
    parsed, text, html = parts(render([item(1), item(2)]))
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert "Statement 2" in text and "Statement 2" in html
    assert parsed["Subject"] == "morning: 2 new statements"


def test_each_statement_shows_title_organisation_date_link_and_other_publishers():
    _, text, html = parts(render([item(7)], tz=ZoneInfo("Europe/Berlin")))
    for body in (text, html):
        assert "Statement 7" in body and "Ministry of Examples" in body
        assert "2024-05-01" in body             # 22:30 UTC on 30 April is 1 May in Berlin
        assert "https://example.org/s/7" in body
        assert "Agency of Samples" in body and "https://example.net/s/7" in body


def test_first_paragraphs_only_unless_full_text():
    _, text, _ = parts(render([item(1)], paragraphs=2))
    assert "Paragraph 2 of" in text and "Paragraph 3 of" not in text
    assert "3 more paragraphs" in text
    _, full, _ = parts(render([item(1)], full_text=True))
    assert "Paragraph 5 of" in full and "more paragraph" not in full


def test_health_notes_come_after_the_statements():
    notes = [SourceHealthNote("Broken Office", "broken", NOW, "HTTP 503"),
             SourceHealthNote("Healed Office", "recovered", NOW)]
    _, text, html = parts(render([item(1)], notes))
    for body in (text, html):
        assert body.index("Statement 1") < body.index("Broken Office") < body.index("Healed")
    assert "HTTP 503" in text


def test_same_digest_and_run_key_give_the_same_message_id():
    a = render([item(1)], now=NOW)
    b = render([item(1)], now=datetime(2024, 5, 2, tzinfo=UTC))
    c = render([item(1)], run_key="run-2")
    assert a["Message-ID"] == b["Message-ID"] != c["Message-ID"]
    assert a["Message-ID"].endswith("@example.org>")


def test_run_key_depends_on_the_batch_not_its_order():
    assert run_key_for(["b", "a"]) == run_key_for(["a", "b"]) != run_key_for(["a"])


INJECTION = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_html_part_escapes_markup_from_titles_organisations_and_text():
    evil = item(1, title=INJECTION, source_name=INJECTION, blocks=(INJECTION,),
                also_published=((INJECTION, "https://example.net/x"),))
    notes = [SourceHealthNote(INJECTION, "broken", NOW, INJECTION)]
    _, text, html = parts(render([evil], notes))
    tree = LexborHTMLParser(html)
    assert tree.css("script") == [] and tree.css("img") == []
    assert all(not k.startswith("on") for n in tree.css("*") for k in n.attributes)
    # The text is shown, as text, in both parts.
    assert INJECTION in tree.body.text()
    assert INJECTION in text


def test_javascript_links_are_not_linked():
    _, _, html = parts(render([item(1, url="javascript:alert(1)",
                                   also_published=(("X", "data:text/html,hi"),))]))
    hrefs = [a.attributes.get("href") for a in LexborHTMLParser(html).css("a")]
    assert hrefs == ["#s1"]      # only the list of contents, to the statement in the message


@pytest.mark.parametrize("url,ok", [
    ("https://example.org/a?b=1", True), ("HTTP://EXAMPLE.ORG/", True),
    ("javascript:alert(1)", False), ("https:///nohost", False),
    ("https://example.org/a\nb", False), ("/relative", False), ("", False),
])
def test_safe_url_keeps_only_absolute_http_urls(url, ok):
    assert safe_url(url) == (url if ok else "")


@pytest.mark.parametrize("title", [
    "Title\r\nBcc: victim@example.com", "Title\nBcc: victim@example.com", "Trailing\n",
    "=?UTF-8?Q?=0A?=Bcc: victim@example.com", "a\u2028Bcc: victim@example.com",
    "x =?utf-8?b?DQpCY2M6IHZAZS5jb20=?= y", "\x00\x1b[31mred", "lone \ud800 surrogate",
])
def test_titles_cannot_add_headers(title):
    msg = render([item(1, title=title, source_name=title)], title=title)
    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert {k.lower() for k in parsed} == EXPECTED_HEADERS
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]


#: Every code point, lone surrogates included, with the characters and sequences that break
#: headers drawn often enough to meet each other.
_PIECE = st.one_of(
    st.characters(exclude_categories=()),
    st.sampled_from(["\r", "\n", "\r\n", "\u2028", "\x85", "\x0b", "\x00", "\ud800", "=?",
                     "?=", "=?utf-8?q?", "=0A", "=?utf-8?q?=0A?=", "Bcc: x@example.com",
                     ":", " ", "\t", "é"]),
)


def any_text(max_pieces: int):
    return st.lists(_PIECE, max_size=max_pieces).map("".join)


@settings(max_examples=300, deadline=None)
@given(title=any_text(120), org=any_text(40), digest_title=any_text(40))
def test_any_unicode_in_titles_keeps_the_header_set(title, org, digest_title):
    msg = render([item(1, title=title, source_name=org)], title=digest_title)
    raw = msg.as_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert {k.lower() for k in parsed} == EXPECTED_HEADERS
    for key in parsed:
        assert "\n" not in str(parsed[key]) and "\r" not in str(parsed[key])


def test_lone_surrogates_in_the_text_do_not_break_the_message():
    msg = render([item(1, blocks=("broken \udc80 text",), also_published=(("x\ud800", ""),))])
    _, text, html = parts(msg)
    assert "broken \ufffd text" in text and "broken \ufffd text" in html


def test_header_value_is_one_line_without_encoded_word_openers():
    value = header_value("a\r\n\tb =?utf-8?q?x?= c\x85d")
    assert value.count("=?") == 0 and "\n" not in value and "\x85" not in value
    assert value.startswith("a b")


def test_address_with_two_mailboxes_is_refused():
    with pytest.raises(ConfigError):
        render([item(1)], recipients=["a@example.com, bcc@example.com"])


def test_no_recipients_is_a_config_error():
    with pytest.raises(ConfigError):
        render([item(1)], recipients=[])


# --- user templates --------------------------------------------------------------------------

def test_user_template_overrides_the_builtin_one(tmp_path):
    (tmp_path / "digest.txt.j2").write_text(
        "CUSTOM {{ title }}{% for i in items %} [{{ i.title }}]{% endfor %}\n")
    _, text, html = parts(render([item(1)], template_dir=tmp_path))
    assert text.startswith("CUSTOM morning [Statement 1]")
    assert "<h1" in html                 # the HTML part still comes from the built-in one


def test_user_html_template_is_autoescaped_whatever_its_name(tmp_path):
    (tmp_path / "digest.html.j2").write_text(
        "<p>{% for i in items %}{{ i.title }}{% endfor %}</p>\n")
    _, _, html = parts(render([item(1, title="<b>bold</b>")], template_dir=tmp_path))
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ items.append(1) }}",
    "{{ cycler.__init__.__globals__.os.system('id') }}",
])
def test_user_template_cannot_reach_python_internals(tmp_path, payload):
    (tmp_path / "digest.txt.j2").write_text(payload)
    with pytest.raises(ConfigError):
        render([item(1)], template_dir=tmp_path)


def test_template_syntax_error_names_file_and_line(tmp_path):
    (tmp_path / "digest.html.j2").write_text("ok\n{% for x in %}\n")
    problems = check_templates(tmp_path, now=NOW)
    assert len(problems) == 1 and "line 2" in problems[0]


def test_builtin_templates_check_clean():
    assert check_templates(None, now=NOW) == []
