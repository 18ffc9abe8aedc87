"""Watching what was published, end to end with an explicit clock: sites on loopback edit,
delete, replace and redirect stored statements; watch rounds find it; each transition goes out
once through a real SMTP server and once in the Atom feed; the statement's page shows its
history.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from collector.digests import DigestRunner
from collector.errors import ConfigError
from collector.scheduler import Worker
from collector.store import Store
from collector.store import capture as stored_captures
from collector.watch import RoundReport
from tests.helpers import load, poll, store_of
from tests.pages import article, rss_feed, wordpress_page
from tests.smtpd import PASSWORD, USER
from tests.test_server_helpers import running
from tests.webserver import Page, SiteServer, serve

T0 = datetime(2030, 6, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)

NOT_FOUND_PAGE = """<!DOCTYPE html><html lang="en"><head><title>Page not found - Red Dawn</title>
</head><body><header><a href="/">Red Dawn</a></header><main>
<h1>Oops! That page can't be found.</h1>
<p>It looks like nothing was found at this location. Maybe try a search?</p>
</main></body></html>"""

HOME_PAGE = """<!DOCTYPE html><html lang="en"><head><title>Red Dawn</title></head><body>
<h1>Red Dawn</h1><p>News and statements of the party. Join us, read our programme.</p>
</body></html>"""

#: what the second site serves for every address it does not know: a 200 page that says
#: nothing about "not found" (only the probe can tell)
CATCH_ALL = """<!DOCTYPE html><html lang="en"><head><title>Green Valley Union</title></head>
<body><h1>Welcome</h1><p>Green Valley Union represents workers across the valley. Read our
latest news, see the calendar of meetings and join the union today.</p></body></html>"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class CatchAll(dict):
    """A site's pages where every unknown address answers 200 with the same page."""

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(key, Page(CATCH_ALL))


def publish(site: SiteServer, name: str, items: list, prefix: str = "") -> None:
    site.pages[f"{prefix}/feed/"] = Page(
        rss_feed(name, site.base, items, path_of=lambda a: f"{prefix}/{a.slug}/"),
        "application/rss+xml")
    for a in items:
        site.pages[f"{prefix}/{a.slug}/"] = Page(wordpress_page(name, a, site.base))


@pytest.fixture
def soft_site():
    yield from serve("127.0.0.2")


def make_config(tmp_path, site, soft_site, smtp, *,
                watch: str = "after: [1d, 7d]\n    batch: 50"):
    return load(tmp_path, f"""sources:
  - id: reddawn
    name: Red Dawn
    url: {site.url('/feed/')}
    kind: feed
    backfill: 10
    tags: [labour]
  - id: quiet
    name: Quiet Ones
    url: {site.url('/quiet/feed/')}
    kind: feed
    backfill: 10
    tags: [labour]
    watch: false
  - id: valley
    name: Green Valley Union
    url: {soft_site.url('/feed/')}
    kind: feed
    backfill: 10
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
""", env={"COLLECTOR_SMTP_PASSWORD": PASSWORD}, settings_extra=f"""  smtp:
    host: {smtp.host}
    port: {smtp.port}
    security: starttls
    username: {USER}
    ca_file: {smtp.ca_file}
  watch:
    {watch}
""")


def watch_round(config, clock: Clock) -> RoundReport:
    async def main() -> RoundReport:
        store = Store(config.settings.database_url)
        worker = Worker(config, store, clock=clock)
        try:
            await worker.start()
            return await worker.watcher.run_round()
        finally:
            await worker.close()
            store.close()

    return asyncio.run(main())


def run_digests(config, clock: Clock) -> None:
    store = store_of(config)
    try:
        asyncio.run(DigestRunner(config, store, clock=clock).tick())
    finally:
        store.close()


def results(report: RoundReport) -> dict[str, str]:
    return {c.url.rstrip("/").rsplit("/", 1)[-1]: c.result for c in report.checked}


def change_lines(message) -> list[str]:
    body = message.get_body(("plain",)).get_content()
    return re.findall(r"^(?:Edited|Removed|Back again): [^\r\n]+", body, re.M)


def feed_titles(config, feed_id: str) -> list[str]:
    parsed = feedparser.parse((config.settings.feeds_dir / f"{feed_id}.atom").read_bytes())
    return sorted(e.title for e in parsed.entries
                  if e.title.startswith(("Edited:", "Removed:", "Back again:")))


@pytest.fixture
def world(tmp_path, site, soft_site, smtp_server):
    arts = [article(n, f"Statement number {n}", T0 - timedelta(hours=n)) for n in range(1, 6)]
    publish(site, "Red Dawn", arts)
    quiet = [article(6, "A quiet statement", T0)]
    publish(site, "Quiet Ones", quiet, prefix="/quiet")
    valley = [article(7, "Valley statement", T0)]
    soft_site.pages = CatchAll()
    publish(soft_site, "Green Valley Union", valley)
    site.pages["/"] = Page(HOME_PAGE)
    config = make_config(tmp_path, site, soft_site, smtp_server)
    poll(config, clock=Clock(T0))           # every statement stored (backfill), at T0
    return config, arts, quiet, valley


def test_each_transition_is_found_and_reported_once_by_email_and_in_the_feeds(
        world, site, soft_site, smtp_server):
    config, arts, _quiet, _valley = world
    clock = Clock(T0 + timedelta(hours=12))
    assert watch_round(config, clock).checked == []      # nothing due before its first age

    edited = dataclasses.replace(arts[0], paragraphs=[*arts[0].paragraphs[:-1],
                                                      "A corrected closing paragraph."])
    site.pages["/statement-1/"] = Page(wordpress_page("Red Dawn", edited, site.base))
    del site.pages["/statement-2/"]                                   # deleted: 404
    site.pages["/statement-3/"] = Page(NOT_FOUND_PAGE)                # soft 404 by wording
    site.pages["/statement-4/"] = Page("", status=301,
                                       headers={"Location": site.url("/")})   # sent home
    site.pages["/statement-5/"] = Page("gone", "text/plain", status=410)      # comes back later
    del soft_site.pages["/statement-7/"]                 # the site's catch-all page: the probe
    quiet_requests = len(site.requests_for("/quiet/statement-6/"))

    clock.now = T0 + DAY + timedelta(hours=1)
    found = results(watch_round(config, clock))
    assert found == {"statement-1": "edited", "statement-2": "vanished",
                     "statement-3": "vanished", "statement-4": "vanished",
                     "statement-5": "vanished", "statement-7": "vanished"}
    assert len(site.requests_for("/quiet/statement-6/")) == quiet_requests   # opted out
    # the edit's fetch is captured like a poll's, and its provenance is the statement's now
    store = store_of(config)
    try:
        # the whole list: a generator left open would hold a server-side cursor (PostgreSQL)
        doc = next(d for d in list(store.iter_documents()) if d.url.endswith("/statement-1/"))
        caps = stored_captures.captures(store, [doc.id])
        assert doc.revision == 2 and [c.revision for c in caps] == [1, 2]
        assert doc.provenance is not None
        assert doc.provenance.warc_record_id == caps[-1].response_id
        assert doc.provenance.status == 200 and doc.provenance.fetched_at is not None
    finally:
        store.close()

    run_digests(config, clock)
    assert len(smtp_server.messages) == 1
    lines = change_lines(smtp_server.messages[0].message())
    assert sorted(lines) == sorted([
        "Edited: Statement number 1 (Red Dawn, found 2030-06-02 09:00)",
        *(f"Removed: Statement number {n} (Red Dawn, found 2030-06-02 09:00)"
          for n in (2, 3, 4, 5)),
        "Removed: Valley statement (Green Valley Union, found 2030-06-02 09:00)"])
    body = smtp_server.messages[0].message().get_body(("plain",)).get_content()
    assert "HTTP 404" in body and "HTTP 410" in body
    assert "front page" in body and "address that does not exist" in body
    assert "'not found' page" in body
    expected_feed = sorted(["Edited: Statement number 1", "Removed: Valley statement",
                            *(f"Removed: Statement number {n}" for n in (2, 3, 4, 5))])
    assert feed_titles(config, "atom") == expected_feed
    assert feed_titles(config, "all") == expected_feed

    clock.now += timedelta(hours=1)
    run_digests(config, clock)                   # nothing new: nothing sent, no new entries
    assert len(smtp_server.messages) == 1
    assert feed_titles(config, "atom") == expected_feed

    clock.now = T0 + 3 * DAY                     # between the ages: nothing due
    assert watch_round(config, clock).checked == []

    site.pages["/statement-5/"] = Page(wordpress_page("Red Dawn", arts[4], site.base))
    clock.now = T0 + 7 * DAY + timedelta(hours=1)
    found = results(watch_round(config, clock))
    assert found == {"statement-1": "ok", "statement-2": "gone", "statement-3": "gone",
                     "statement-4": "gone", "statement-5": "restored", "statement-7": "gone"}
    run_digests(config, clock)
    assert len(smtp_server.messages) == 2
    assert change_lines(smtp_server.messages[1].message()) == [
        "Back again: Statement number 5 (Red Dawn, found 2030-06-08 09:00)"]
    assert feed_titles(config, "atom") == sorted([*expected_feed,
                                                  "Back again: Statement number 5"])

    # the schedule is over: no check, no request, at any later time
    asked = len(site.requests)
    clock.now = T0 + 90 * DAY
    assert watch_round(config, clock).checked == []
    assert len([r for r in site.requests[asked:] if "statement" in r.path]) == 0
    run_digests(config, clock)
    assert len(smtp_server.messages) == 2

    # the statement's page: its revisions with the diff, and the evidence of the vanished one
    store = store_of(config)
    try:
        docs = {d.url.rstrip("/").rsplit("/", 1)[-1]: d for d in store.iter_documents()}
        with running(config, store) as srv:
            page = LexborHTMLParser(httpx.get(f"{srv.url}/d/{docs['statement-1'].id}").text)
            gone = LexborHTMLParser(httpx.get(f"{srv.url}/d/{docs['statement-2'].id}").text)
    finally:
        store.close()
    assert [h.text() for h in page.css(".revision h3")] == ["Revision 2 (current)",
                                                            "Revision 1"]
    assert [n.text().strip() for n in page.css(".diff ins")] == ["A corrected closing paragraph."]
    assert arts[0].paragraphs[-1].split()[0] in page.css_first(".diff del").text()
    alert = gone.css_first("p.alert").text()
    assert "Gone from its address" in alert and "HTTP 404" in alert


def test_a_server_error_is_not_a_removal_and_the_check_is_retried(world, site, smtp_server):
    config, arts, _quiet, _valley = world
    site.pages["/statement-2/"] = Page("overloaded", "text/plain", status=500)
    clock = Clock(T0 + DAY + timedelta(hours=1))
    found = results(watch_round(config, clock))
    assert found["statement-2"] == "error"
    run_digests(config, clock)
    assert all("Statement number 2" not in line
               for m in smtp_server.messages for line in change_lines(m.message()))

    clock.now += timedelta(hours=1)              # retried later, not at once
    assert "statement-2" not in results(watch_round(config, clock))
    site.pages["/statement-2/"] = Page(wordpress_page("Red Dawn", arts[1], site.base))
    clock.now += timedelta(hours=6)
    assert results(watch_round(config, clock)) == {"statement-2": "ok"}
    # the scheduled 7-day check is still to come
    clock.now = T0 + 7 * DAY + timedelta(minutes=5)
    assert "statement-2" in results(watch_round(config, clock))


def test_watching_off_checks_nothing(tmp_path, site, soft_site, smtp_server):
    arts = [article(1, "Statement number 1", T0)]
    publish(site, "Red Dawn", arts)
    publish(soft_site, "Green Valley Union", [])
    config = make_config(tmp_path, site, soft_site, smtp_server, watch="after: []")
    poll(config, clock=Clock(T0))
    asked = len(site.requests)
    assert watch_round(config, Clock(T0 + 400 * DAY)).checked == []
    assert len(site.requests) == asked


@pytest.mark.parametrize(("watch", "message"), [
    ("after: [1d, 1d]", "ages must grow"),
    ("after: [1d, soon]", "not a duration"),
    ("after: 1d", "must be a list"),
    ("after: [10s]", "at least"),
    ("batch: 0", "whole number"),
    ("often: 1h", "unknown key 'often'"),
])
def test_bad_watch_settings_name_the_key_and_line(tmp_path, watch, message):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "sources:\n  - id: a\n    url: https://a.org/\n",
             settings_extra=f"  watch:\n    {watch}\n")
    text = str(err.value)
    assert "settings: watch" in text and message in text
    assert re.search(r"sources\.yaml:\d+", text)


def test_a_source_watch_switch_must_be_true_or_false(tmp_path):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, """sources:
  - id: reddawn
    url: https://example.org/feed/
    watch: sometimes
""")
    assert "source 'reddawn': watch must be true or false" in str(err.value)


def test_revisions_keep_every_earlier_text_and_the_page_escapes_the_diff(tmp_path):
    from collector.document import render
    from tests.test_server_helpers import T0 as ST0
    from tests.test_server_helpers import add_doc, make_world

    config, store = make_world(tmp_path)
    try:
        doc = add_doc(store, "reddawn", "strike", "Dockers strike", ["The dockers walked out."])
        for n, para in enumerate(["The dockers <script>alert(1)</script> walked out.",
                                  "The dockers & crane drivers walked out."], start=1):
            text = render("Dockers strike", [para])
            store.update_document(doc.id, title="Dockers strike", text=text,
                                  content_hash=f"h{n}", signature=None, word_count=5,
                                  method="feed", published_at=None,
                                  now=ST0 + timedelta(hours=n))
        with running(config, store) as srv:
            html = httpx.get(f"{srv.url}/d/{doc.id}").text
    finally:
        store.close()
    page = LexborHTMLParser(html)
    assert [h.text() for h in page.css(".revision h3")] == [
        "Revision 3 (current)", "Revision 2", "Revision 1"]
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert page.css(".diff ins")[0].text().strip() == "& crane drivers"
    assert page.css_first("script") is None


def test_collector_watch_checks_what_is_due_and_says_what_it_found(tmp_path, site):
    from tests.test_cli import cli

    arts = [article(n, f"Statement number {n}", T0) for n in (1, 2)]
    publish(site, "Red Dawn", arts)
    config = load(tmp_path, f"""sources:
  - id: reddawn
    url: {site.url('/feed/')}
    kind: feed
    backfill: 10
""")
    poll(config, clock=Clock(datetime.now(UTC) - 2 * DAY))   # collected two days ago
    del site.pages["/statement-2/"]
    r = cli("watch", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("vanished") and site.url("/statement-2/") in line
               and "HTTP 404" in line for line in lines), r.stdout
    assert lines[-1].startswith("checked 2 statements in ")
    assert "1 unchanged, 0 edited, 1 vanished" in lines[-1]


def test_the_service_runs_a_round_at_most_every_watch_every(world, site):
    config, _arts, _quiet, _valley = world
    clock = Clock(T0 + DAY - timedelta(minutes=30))

    async def main() -> list[int]:
        store = Store(config.settings.database_url)
        worker = Worker(config, store, clock=clock)
        asked = []
        try:
            await worker.start()
            for now in (T0 + DAY - timedelta(minutes=30),   # a round: nothing due yet
                        T0 + DAY + timedelta(minutes=10),   # due, but within the hour
                        T0 + DAY + timedelta(minutes=31)):  # an hour later: checked
                clock.now = now
                before = len(site.requests)
                await worker.watch_tick()
                asked.append(len([r for r in site.requests[before:]
                                  if r.path.startswith("/statement-")]))
        finally:
            await worker.close()
            store.close()
        return asked

    assert asyncio.run(main()) == [0, 0, 5]


def test_a_text_taken_from_the_feed_is_not_compared_with_the_page_but_removal_counts(
        world, site):
    from sqlalchemy import update

    from collector.store.tables import DocumentRow

    config, arts, _quiet, _valley = world
    store = store_of(config)
    try:
        with store.session() as s:
            s.execute(update(DocumentRow).where(DocumentRow.url.like("%/statement-%"))
                      .values(method="feed"))
    finally:
        store.close()
    other = dataclasses.replace(arts[0], paragraphs=["An entirely different page text."] * 3)
    site.pages["/statement-1/"] = Page(wordpress_page("Red Dawn", other, site.base))
    del site.pages["/statement-2/"]
    found = results(watch_round(config, Clock(T0 + DAY + timedelta(hours=1))))
    assert found["statement-1"] == "ok"
    assert found["statement-2"] == "vanished"


def test_a_check_that_keeps_failing_gives_way_to_the_next_age(world, site):
    from collector import limits
    from collector.store import watch as store_watch

    config, _arts, _quiet, _valley = world
    site.pages["/statement-2/"] = Page("down", "text/plain", status=503,
                                       headers={"Retry-After": "0"})
    clock = Clock(T0 + DAY + timedelta(hours=1))
    retry = timedelta(seconds=limits.WATCH_RETRY_S)
    for _ in range(limits.WATCH_MAX_RETRIES):
        assert results(watch_round(config, clock)).get("statement-2") == "error"
        clock.now += retry
    # given up on this age: nothing until the 7-day check, which starts a new streak
    assert "statement-2" not in results(watch_round(config, clock))
    store = store_of(config)
    try:
        doc = next(d for d in list(store.iter_documents()) if d.url.endswith("/statement-2/"))
        view = store_watch.watch_view(store, doc.id)
    finally:
        store.close()
    assert view is not None and view.vanished_at is None
    assert view.next_check_at == T0 + 7 * DAY and view.last_result == "error"
    clock.now = T0 + 7 * DAY + timedelta(minutes=1)
    assert results(watch_round(config, clock))["statement-2"] == "error"
