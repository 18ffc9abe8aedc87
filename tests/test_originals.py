"""The original's text wins: one statement on its publisher's site and on a republisher's, in
either order, through the real pipeline on two loopback sites. The republished copy has an
editor's note at the top and an edited title; the stored document ends with the original's
text and title whichever arrived first, and a correction that comes from the original is not
mailed again (docs/dedup.md, "Which text is kept")."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from collector.digests import DigestRunner
from collector.notify.atom import entry_id
from tests.helpers import load, poll, store_of
from tests.pages import Article, paragraphs, rss_feed, wordpress_page
from tests.smtpd import PASSWORD, USER
from tests.webserver import Page, SiteServer

T0 = datetime(2031, 5, 1, 9, 30, tzinfo=UTC)
TITLE = "Solidarity with the dockers of Piraeus"
COPY_TITLE = "STATEMENT OF THE INTERNATIONAL: Solidarity With The Dockers Of Piraeus"
NOTE = [
    "Editor's note: we republish below the statement of the International on the dockers' "
    "strike, which our readers will want to discuss at the branch meetings this month. The "
    "editorial board does not necessarily share every position taken in it.",
    "Readers who wish to contribute to the strike fund can do so through the usual channels "
    "of the section; the treasurer will publish the sums collected in the next issue of our "
    "paper, together with the replies of the dockers' committee.",
    "The statement was adopted unanimously by the executive committee of the International "
    "after a long discussion with delegates from the ports of Greece, Italy and Spain, and "
    "is published here in full, with only the title changed to suit our paper's style.",
]
BODY = paragraphs(90210, count=6)


def page(site_name: str, a: Article, base: str, *, canonical: str | None = None) -> Page:
    html = wordpress_page(site_name, a, base)
    if canonical is not None:
        html = html.replace(f'<link rel="canonical" href="{base}/{a.slug}/">',
                            f'<link rel="canonical" href="{canonical}">')
    return Page(html)


class Sites:
    """The International's site (127.0.0.1) and a section that republishes (127.0.0.2)."""

    def __init__(self, rule: str):
        self.intl = SiteServer("127.0.0.1").start()
        self.section = SiteServer("127.0.0.2").start()
        self.rule = rule
        for s in (self.intl, self.section):
            s.pages["/feed/"] = Page(rss_feed("empty", s.base, []), "application/rss+xml")

    def stop(self) -> None:
        self.intl.stop()
        self.section.stop()

    def publish_original(self) -> None:
        a = Article("solidarity-piraeus", TITLE, BODY, T0)
        self.intl.pages["/solidarity-piraeus/"] = page("The International", a, self.intl.base)
        self.intl.pages["/feed/"] = Page(rss_feed("The International", self.intl.base, [a]),
                                         "application/rss+xml")

    def publish_copy(self) -> None:
        # what tells the copy apart, by rule: it names the original as canonical; or it
        # states a later date; or nothing does, and the user marked the original's source
        published = T0 + timedelta(days=2) if self.rule == "date" else T0
        canonical = self.intl.url("/solidarity-piraeus/") if self.rule == "canonical" else None
        a = Article("intl-statement-dockers", COPY_TITLE, [*NOTE, *BODY], published)
        self.section.pages["/intl-statement-dockers/"] = page("The Section", a,
                                                              self.section.base,
                                                              canonical=canonical)
        self.section.pages["/feed/"] = Page(rss_feed("The Section", self.section.base, [a]),
                                            "application/rss+xml")

    def config(self, tmp_path, smtp):
        marked = "    original: true\n" if self.rule == "marked" else ""
        return load(tmp_path, f"""sources:
  - id: intl
    name: The International
    url: {self.intl.url('/feed/')}
    kind: feed
    backfill: 0
{marked}  - id: section
    name: The Section
    url: {self.section.url('/feed/')}
    kind: feed
    backfill: 0
digests:
  - id: atom
    channel: feed
    schedule: immediate
  - id: daily
    channel: email
    schedule: immediate
    to: [reader@example.org]
""", env={"COLLECTOR_SMTP_PASSWORD": PASSWORD}, settings_extra=f"""  smtp:
    host: {smtp.host}
    port: {smtp.port}
    security: starttls
    username: {USER}
    ca_file: {smtp.ca_file}
""")


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(days=3)

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> datetime:
        self.now += timedelta(minutes=30)
        return self.now


def digests(config, clock) -> None:
    store = store_of(config)
    try:
        asyncio.run(DigestRunner(config, store, clock=clock).tick())
    finally:
        store.close()


def the_document(config):
    store = store_of(config)
    try:
        docs = list(store.iter_documents())
        assert len(docs) == 1, [d.title for d in docs]
        return docs[0], store.locations([docs[0].id])[docs[0].id]
    finally:
        store.close()


def run(tmp_path, smtp, rule: str, first: str):
    """Baseline, then the first copy, a digest run, the second copy, a digest run."""
    sites = Sites(rule)
    try:
        config = sites.config(tmp_path, smtp)
        clock = Clock()
        poll(config, clock=clock)
        for which in (first, "copy" if first == "original" else "original"):
            getattr(sites, f"publish_{which}")()
            clock.tick()
            outcomes = poll(config, ["intl" if which == "original" else "section"],
                            clock=clock)
            assert all(o.ok for _, o in outcomes), outcomes
            clock.tick()
            digests(config, clock)
        doc, locations = the_document(config)
        return config, sites.intl.url("/solidarity-piraeus/"), doc, locations
    finally:
        sites.stop()


@pytest.mark.parametrize("rule", ["canonical", "date", "marked"])
def test_the_original_text_wins_in_both_orders(tmp_path, smtp_server, rule):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, url, kept, kept_locations = run(tmp_path / "a", smtp_server, rule, first="original")
    mails_after_a = len(smtp_server.messages)
    config, url_b, replaced, locations = run(tmp_path / "b", smtp_server, rule, first="copy")

    # the original first: the copy is only another location; nothing changed
    assert kept.title == TITLE
    assert kept.revision == 1
    assert not any(line.startswith("Editor's note") for line in kept.text.splitlines())
    assert NOTE[1] not in kept.text
    assert (kept.source_id, kept.url) == ("intl", url)
    assert sorted((loc.source_id, loc.how) for loc in kept_locations) == \
        [("intl", "original"), ("section", "near")]

    # the copy first: the original's text and title replace it, as a second revision, and
    # the document's own location is now the original's
    assert replaced.text == kept.text
    assert replaced.title == TITLE
    assert replaced.revision == 2
    assert (replaced.source_id, replaced.url) == ("intl", url_b)
    assert sorted((loc.source_id, loc.how) for loc in locations) == \
        [("intl", "original"), ("section", "near")]
    assert replaced.published_at == T0

    # mailed once (the copy, when it arrived); the correction goes only to the feed
    assert len(smtp_server.messages) - mails_after_a == 1
    parsed = feedparser.parse((config.settings.feeds_dir / "atom.atom").read_bytes())
    assert [e.id for e in parsed.entries] == [entry_id(replaced.id, 2)]
    assert parsed.entries[0].title == TITLE


def test_a_copy_is_never_the_original_when_nothing_tells_them_apart_but_length(tmp_path,
                                                                                 smtp_server):
    """Without any stated signal (same date, both self-canonical, no mark) the stored text
    stays unless the other copy is clearly fuller: the fuller-text rule, as before."""
    _, _, doc, _ = run(tmp_path, smtp_server, "none", first="original")
    # the copy's note (three paragraphs, 122 words against a body of 593) makes it fuller by
    # that rule's measure, so without a signal from the pages or the user the copy wins:
    # this is why the rules above come first
    assert sum(len(p.split()) for p in NOTE) > 0.15 * sum(len(p.split()) for p in BODY)
    assert doc.title == COPY_TITLE
    assert NOTE[0] in doc.text
