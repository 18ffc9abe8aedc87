"""Digests through the real pipeline, store and a real SMTP server on loopback.

Every fault of the SMTP server is followed by its recovery; then every statement has been
delivered, none more than once, except the permitted repeat after a reply was lost.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from collector.digests import DigestRunner
from tests.helpers import load, poll, store_of
from tests.pages import article, rss_feed, wordpress_page
from tests.smtpd import PASSWORD, USER
from tests.webserver import Page

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def publish(site, items):
    site.pages["/feed/"] = Page(rss_feed("Red Dawn", site.base, items), "application/rss+xml")
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red Dawn", a, site.base))


def make_config(tmp_path, site, smtp, *, extra_digest=""):
    return load(tmp_path, f"""sources:
  - id: reddawn
    name: Red Dawn <Party>
    url: {site.url('/feed/')}
    kind: feed
    backfill: 0
    tags: [labour]
digests:
  - id: daily
    channel: email
    title: Daily statements
    schedule: immediate
    to: [reader@example.org]
  - id: atom
    channel: feed
    title: Labour feed
    schedule: immediate
    tags: [labour]
{extra_digest}""", env={"COLLECTOR_SMTP_PASSWORD": PASSWORD}, settings_extra=f"""  smtp:
    host: {smtp.host}
    port: {smtp.port}
    security: starttls
    username: {USER}
    ca_file: {smtp.ca_file}
""")


@pytest.fixture
def world(tmp_path, site, smtp_server):
    publish(site, [article(1, "Old statement", T0)])
    config = make_config(tmp_path, site, smtp_server)
    poll(config)                      # first poll: baseline, nothing for digests
    return config


def run(config, clock):
    store = store_of(config)
    try:
        asyncio.run(DigestRunner(config, store, clock=clock).tick())
    finally:
        store.close()


def delivered_titles(server):
    titles = []
    for m in server.messages:
        body = m.message().get_body(("plain",)).get_content()
        titles += [m.group(1) for line in body.splitlines()
                   if (m := re.match(r"^\d+\. (.+)$", line))]
    return titles


def test_first_poll_sends_nothing_and_new_items_are_mailed_once(world, site, smtp_server):
    clock = Clock()
    run(world, clock)
    assert smtp_server.messages == []
    publish(site, [article(2, "Strike at the port", T0 + timedelta(days=1)),
                   article(1, "Old statement", T0)])
    poll(world)
    run(world, clock)
    run(world, clock)  # nothing pending any more: nothing sent
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0].message()
    assert "Strike at the port" in msg["Subject"]
    assert store_of(world).count_pending() == {}


@pytest.mark.parametrize("fault", [
    ("refuse", None), ("rcpt", 451), ("data", 452), ("mail", 421), ("data", 554),
    ("drop_after_data", None), ("lose_reply", None),
])
def test_each_smtp_fault_then_recovery_delivers_everything_once(world, site, smtp_server, fault):
    stage, code = fault
    clock = Clock()
    publish(site, [article(3, "First new statement", T0 + timedelta(days=2)),
                   article(4, "Second new statement", T0 + timedelta(days=3))])
    poll(world)
    if stage == "refuse":
        smtp_server.stop()
    else:
        smtp_server.fail(stage, code or 451)
    run(world, clock)
    pending = store_of(world).count_pending()
    if stage == "lose_reply":
        assert len(smtp_server.messages) == 1        # went out, but the reply was lost
    else:
        assert smtp_server.messages == []
    assert pending.get("daily") == 2                 # nothing marked delivered
    # recovery
    smtp_server.heal()
    smtp_server.start()
    run(world, clock)                                # still backing off: nothing yet
    clock.advance(3 * 3600 + 1)
    run(world, clock)
    assert store_of(world).count_pending().get("daily", 0) == 0
    ids = smtp_server.message_ids()
    if stage == "lose_reply":
        # the one permitted repeat: same Message-ID, so mail clients recognise it
        assert len(ids) == 2 and ids[0] == ids[1]
    else:
        assert len(ids) == 1
    assert sorted(set(delivered_titles(smtp_server))) == ["First new statement",
                                                          "Second new statement"]


def test_feed_digest_and_combined_feed_are_valid_atom(world, site, tmp_path):
    publish(site, [article(5, "A <b>bold</b> & risky title", T0 + timedelta(days=4))])
    poll(world)
    run(world, Clock())
    feeds = world.settings.feeds_dir
    for name in ("atom.atom", "all.atom"):
        parsed = feedparser.parse((feeds / name).read_bytes())
        assert not parsed.bozo, name
        assert [e.title for e in parsed.entries] == ["A <b>bold</b> & risky title"]
        entry = parsed.entries[0]
        assert entry.author == "Red Dawn <Party>"
        assert entry.id.startswith(("urn:", "tag:"))
        assert entry.link.startswith(site.base)


def test_html_email_escapes_markup_from_titles_and_organisation(world, site, smtp_server):
    publish(site, [article(6, "<script>alert(1)</script> statement", T0 + timedelta(days=5))])
    poll(world)
    run(world, Clock())
    msg = email.message_from_bytes(smtp_server.messages[0].content, policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Red Dawn &lt;Party&gt;" in html
