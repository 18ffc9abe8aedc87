"""A digest worth opening, through the real pipeline, store and SMTP server on loopback: a list
of contents, links to the stored copy and to the original with words that say where they go,
a footer that says which digest this is, why the reader gets it and how to change it, times in
the digest's time zone, optional grouping, and a preview equal to the message sent."""

from __future__ import annotations

import asyncio
import email
import email.policy
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from selectolax.lexbor import LexborHTMLParser

from collector.digests import DigestRunner
from tests.helpers import load, poll, store_of
from tests.pages import article, rss_feed, wordpress_page
from tests.smtpd import PASSWORD, USER
from tests.webserver import Page

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
#: A fixed clock for the preview and the send: the same instant renders the same message.
NOW = datetime(2024, 7, 1, 11, 30, tzinfo=UTC)
PUBLIC = "https://statements.example.org"


def publish(site, path, org, items):
    site.pages[path] = Page(rss_feed(org, site.base, items), "application/rss+xml")
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page(org, a, site.base))


def make_config(tmp_path, site, smtp, group_by="organisation"):
    return load(tmp_path, f"""sources:
  - id: reddawn
    name: Red Dawn
    url: {site.url('/red/feed')}
    kind: feed
    tags: [labour]
  - id: vanguard
    name: Vanguard League
    url: {site.url('/van/feed')}
    kind: feed
    tags: [elections]
digests:
  - id: morning
    channel: email
    title: Morning statements
    schedule: "0 7 * * *"
    timezone: America/New_York
    group_by: {group_by}
    to: [reader@example.org]
""", env={"COLLECTOR_SMTP_PASSWORD": PASSWORD, "COLLECTOR_PUBLIC_URL": PUBLIC},
        settings_extra=f"""  smtp:
    host: {smtp.host}
    port: {smtp.port}
    security: starttls
    username: {USER}
    ca_file: {smtp.ca_file}
""")


def first_then_new(tmp_path, site, smtp_server, **kw):
    publish(site, "/red/feed", "Red Dawn", [article(1, "Old red statement", T0)])
    publish(site, "/van/feed", "Vanguard League", [article(2, "Old vanguard statement", T0)])
    config = make_config(tmp_path, site, smtp_server, **kw)
    poll(config)                                   # first polls: the baseline only
    return config


def add_new(site):
    publish(site, "/red/feed", "Red Dawn", [
        article(3, "Dockers strike", T0 + timedelta(days=1)),
        article(4, "Solidarity with the dockers", T0 + timedelta(days=2)),
        article(1, "Old red statement", T0)])
    publish(site, "/van/feed", "Vanguard League", [
        article(5, "Election call", T0 + timedelta(days=3)),
        article(2, "Old vanguard statement", T0)])


def runner(config):
    store = store_of(config)
    return store, DigestRunner(config, store, clock=lambda: NOW)


def test_after_first_polls_preview_and_status_say_why_the_digest_is_empty(
        tmp_path, site, smtp_server):
    config = first_then_new(tmp_path, site, smtp_server)
    store, r = runner(config)
    try:
        preview = r.preview(config.digest("morning"))
    finally:
        store.close()
    assert preview.message is None
    assert preview.text.startswith("digest morning: nothing pending")
    assert "2 of the 2 stored statements came from first polls, which only set the baseline" \
        in preview.text
    status = subprocess.run([sys.executable, "-m", "collector.cli", "status"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin",
                                 "COLLECTOR_SMTP_PASSWORD": PASSWORD})
    assert status.returncode == 0, status.stderr
    assert "came from first polls, which only set the baseline" in status.stdout


def test_sent_digest_has_contents_links_footer_time_zone_and_equals_its_preview(
        tmp_path, site, smtp_server):
    config = first_then_new(tmp_path, site, smtp_server)
    add_new(site)
    poll(config)
    digest = config.digest("morning")
    store, r = runner(config)
    try:
        preview = r.preview(digest)
        asyncio.run(r.run_digest(digest, force=True))
        docs = {d.title: d for d in store.iter_documents()}
    finally:
        store.close()
    [received] = smtp_server.messages
    sent = received.message()
    assert preview.message is not None
    shown = email.message_from_bytes(preview.message, policy=email.policy.default)

    # the preview is the message: subject, both parts, the same time zone
    assert shown["Subject"] == sent["Subject"] == "Morning statements: 3 new statements"
    assert shown.get_body(("plain",)).get_content() == sent.get_body(("plain",)).get_content()
    assert shown.get_body(("html",)).get_content() == sent.get_body(("html",)).get_content()
    assert shown["Date"] == sent["Date"] == "Mon, 01 Jul 2024 07:30:00 -0400"
    assert "Subject: Morning statements: 3 new statements" in preview.text
    assert "----- text/plain -----" in preview.text and "----- text/html -----" in preview.text

    text = sent.get_body(("plain",)).get_content()
    html = LexborHTMLParser(sent.get_body(("html",)).get_content())
    assert "3 new statements, 2024-07-01 07:30 EDT" in text          # the digest's zone

    # a list of contents first, grouped by organisation, linking into the message
    contents = html.css_first("nav.contents")
    assert [h.text() for h in contents.css("h3")] == ["Red Dawn", "Vanguard League"]
    entries = [(a.text(), a.attributes["href"]) for a in contents.css("a")]
    assert [t for t, _ in entries] == ["Solidarity with the dockers", "Dockers strike",
                                       "Election call"] or \
        [t for t, _ in entries] == ["Dockers strike", "Solidarity with the dockers",
                                    "Election call"]
    for _title, href in entries:
        assert html.css_first(f"div.statement{href}") is not None
    assert text.index("Contents") < text.index("=" * 72)
    assert [line.strip() for line in text.splitlines()].count("Red Dawn") >= 2  # contents + group
    assert [h.text() for h in html.css("h2.group")] == ["Red Dawn", "Vanguard League"]

    # each statement links to its stored copy and to the original, saying which is which
    strike = docs["Dockers strike"]
    links = {a.text(): a.attributes["href"] for a in html.css("div.statement p.links a")}
    assert links["Stored copy of “Dockers strike”"] == f"{PUBLIC}/d/{strike.id}"
    assert links["Original on 127.0.0.1"] in {d.url for d in docs.values()}
    assert all(a.text() not in ("the link", "here", "link") for a in html.css("a"))
    assert f"Stored copy: {PUBLIC}/d/{strike.id}" in text
    assert f"Original on 127.0.0.1: {strike.url}" in text

    # the footer: which digest, why the reader gets it, how to change it
    footer = html.css_first("footer").text(separator=" ")
    for words in ("“Morning statements” (morning)", f"the collector at {PUBLIC}",
                  "because your address is on its list of recipients",
                  "every new statement", "sent on the schedule '0 7 * * *' (America/New_York)",
                  "edit the digest “morning”", "Times are in America/New_York"):
        assert words in " ".join(footer.split()), words
    assert 'edit the digest "morning" under digests: in sources.yaml' in text


def test_grouping_by_tag_puts_statements_under_their_tag(tmp_path, site, smtp_server):
    config = first_then_new(tmp_path, site, smtp_server, group_by="tag")
    add_new(site)
    poll(config)
    store, r = runner(config)
    try:
        asyncio.run(r.run_digest(config.digest("morning"), force=True))
    finally:
        store.close()
    [received] = smtp_server.messages
    html = LexborHTMLParser(received.message().get_body(("html",)).get_content())
    assert [h.text() for h in html.css("h2.group")] == ["elections", "labour"]
    numbers = [int(d.css_first("h2").text().split(".")[0]) for d in html.css("div.statement")]
    assert numbers == [1, 2, 3]                       # numbered in the order shown


def test_preview_output_file_is_the_whole_message(tmp_path, site, smtp_server):
    config = first_then_new(tmp_path, site, smtp_server)
    add_new(site)
    poll(config)
    out = tmp_path / "morning.eml"
    r = subprocess.run([sys.executable, "-m", "collector.cli", "digest", "morning", "--preview",
                        "--output", str(out)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120, env={"PATH": "/usr/bin:/bin",
                                         "COLLECTOR_SMTP_PASSWORD": PASSWORD,
                                         "COLLECTOR_PUBLIC_URL": PUBLIC})
    assert r.returncode == 0, r.stderr
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "Morning statements: 3 new statements"
    assert msg["To"] == "reader@example.org"
    assert msg.get_body(("plain",)).get_content().splitlines()[0] == "Morning statements"
    assert "Contents" in msg.get_body(("html",)).get_content()
    assert r.stdout.startswith("Subject: Morning statements: 3 new statements\n")
    assert smtp_server.messages == []                 # a preview sends nothing


def test_an_unknown_grouping_is_a_configuration_error_with_its_line(tmp_path):
    import pytest

    from collector.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        load(tmp_path, "sources: []\ndigests:\n  - id: d\n    channel: feed\n"
                       "    schedule: immediate\n    group_by: colour\n")
    [problem] = refused.value.problems
    line = (tmp_path / "sources.yaml").read_text().splitlines().index("    group_by: colour") + 1
    assert problem.endswith(f"sources.yaml:{line}: digest 'd': group_by must be one of "
                            "organisation, tag, not 'colour'")
