"""Every surface tells the same truth about a source's health, driven by an explicit clock.

Real polls of a loopback site by the real scheduler tick and store; then `collector status
--json` (its document), the sources page, the organisation page, /metrics, /healthz and a
digest's health notes are read at the same clock time. A source whose first poll fails is
`failing` at once (never `healthy`), a release makes it `unknown` until the next poll, and a
recovery makes it `healthy` everywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families
from selectolax.lexbor import LexborHTMLParser

from collector import status
from collector.config import Config
from collector.store.browse import count_baseline
from collector.store.outbox import StoreOutbox
from tests.helpers import load, store_of
from tests.test_quarantine import Clock, good_feed, ticks
from tests.test_server_helpers import running
from tests.webserver import SiteServer

SOURCES = """sources:
  - id: dead
    name: Dead Press
    url: {dead}
    kind: feed
  - id: good
    name: Good Press
    url: {good}
    kind: feed
"""


def surfaces(config: Config, now: datetime) -> dict[str, str]:
    """The health word of `dead` on each surface, read at `now`."""
    store = store_of(config)
    try:
        reports = status.build(config.sources, store.source_states(), now)
        doc = status.to_json(reports, now=now, documents=store.count_documents(),
                             pending=store.count_pending(), baseline=count_baseline(store),
                             digests=[])
        with running(config, store, clock=lambda: now) as srv:
            sources_page = LexborHTMLParser(httpx.get(srv.url + "/sources").text)
            org_page = LexborHTMLParser(httpx.get(srv.url + "/o/dead").text)
            metrics = httpx.get(srv.url + "/metrics").text
            healthz = httpx.get(srv.url + "/healthz").json()
    finally:
        store.close()
    row = next(tr for tr in sources_page.css("tbody tr")
               if tr.css_first("td a").text() == "Dead Press")
    [metric] = [s.labels["health"] for f in text_string_to_metric_families(metrics)
                for s in f.samples
                if s.name == "collector_source_health" and s.labels["source"] == "dead"]
    # /healthz counts sources by state; `good` is healthy throughout, so `dead`'s state is the
    # one left when one healthy source is taken away
    counts = dict(healthz["sources"])
    counts["healthy"] -= 1
    [healthz_word] = [state for state, n in counts.items() if n]
    return {
        "healthz": healthz_word,
        "status": next(s["health"] for s in doc["sources"] if s["id"] == "dead"),
        "sources page": row.css("td")[1].text(),
        "organisation page": org_page.css_first("dl dd").text(),
        "metrics": metric,
    }


def release(tmp_path: Path, source_id: str) -> str:
    result = subprocess.run([sys.executable, "-m", "collector.cli", "sources", "release",
                             source_id], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_first_failure_release_and_recovery_agree_on_every_surface(tmp_path, site: SiteServer):
    good_feed(site)
    config = load(tmp_path, SOURCES.format(dead=site.url("/dead/feed"),
                                           good=site.url("/good/feed")))
    clock = Clock(datetime.now(UTC).replace(microsecond=0))

    ticks(config, clock, 1, step=timedelta(0))          # the first poll of `dead` is a 404
    seen = surfaces(config, clock.now)
    assert set(seen.values()) == {"failing"}, seen

    # the error is in words on the page and in --json, with the raw message beside it
    store = store_of(config)
    try:
        [report] = [r for r in status.build(config.sources, store.source_states(), clock.now)
                    if r.source.id == "dead"]
    finally:
        store.close()
    assert report.error_words == "127.0.0.1 says the page does not exist (404)"
    entry = status._source_json(report)["last_error"]
    assert entry["kind"] == "http_status" and "404" in entry["message"]
    assert entry["description"] == report.error_words

    # hours later, with no poll in between, it is still failing (not a blip turned healthy)
    assert set(surfaces(config, clock.now + timedelta(hours=7)).values()) == {"failing"}

    assert "health unknown until" in release(tmp_path, "dead")
    assert set(surfaces(config, clock.now).values()) == {"unknown"}

    good_feed(site, "/dead/feed", day=2)                # the site is mended
    clock.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    ticks(config, clock, 1, step=timedelta(0))
    assert set(surfaces(config, clock.now).values()) == {"healthy"}


def test_a_released_source_that_still_fails_is_failing_again_and_digests_see_no_recovery(
        tmp_path, site: SiteServer):
    good_feed(site)
    config = load(tmp_path, SOURCES.format(dead=site.url("/dead/feed"),
                                           good=site.url("/good/feed")))
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    ticks(config, clock, 2, step=timedelta(days=2))
    release(tmp_path, "dead")
    clock.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    ticks(config, clock, 1, step=timedelta(0))
    assert set(surfaces(config, clock.now).values()) == {"failing"}

    store = store_of(config)
    try:
        outbox = StoreOutbox(store, item_of=lambda doc, also: None,
                             source_names={"dead": "Dead Press", "good": "Good Press"},
                             health_after_s=lambda digest_id: 3600.0)
        batch = outbox.claim("d", limit=10, now=clock.now + timedelta(days=1))
    finally:
        store.close()
    assert batch is not None
    [note] = batch.health_notes
    assert (note.source_id, note.state) == ("dead", "broken")
    assert note.error == "127.0.0.1 says the page does not exist (404)"


SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "status.schema.json").read_text())


def test_status_json_follows_its_schema_with_numbers_times_and_whole_errors(tmp_path,
                                                                          site: SiteServer):
    good_feed(site)
    config = load(tmp_path, SOURCES.format(dead="http://nonexistent.invalid/feed",
                                           good=site.url("/good/feed")))
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    ticks(config, clock, 1, step=timedelta(0))
    result = subprocess.run([sys.executable, "-m", "collector.cli", "status", "--json"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA, format_checker=jsonschema.FormatChecker())
    dead, good = doc["sources"]                        # worst first
    assert (dead["id"], dead["health"], good["health"]) == ("dead", "failing", "healthy")
    assert doc["counts"] == {"failing": 1, "healthy": 1}
    assert good["documents"] == 2 and doc["documents"] == 2
    assert doc["baseline_documents"] == 2              # a first poll sets the baseline
    assert dead["last_error"]["kind"] == "dns"
    assert dead["last_error"]["description"].startswith("the name nonexistent.invalid does not "
                                                        "resolve")
    assert len(dead["last_error"]["message"]) > 60     # whole, not cut for a table
    assert datetime.fromisoformat(good["last_success_at"]) == clock.now
    # a document that breaks the schema is refused (the check can fail)
    broken = {**doc, "documents": str(doc["documents"])}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_the_baseline_note_is_said_only_while_everything_stored_is_baseline():
    assert status.baseline_note(documents=12, baseline=12, pending=0) is not None
    assert status.baseline_note(documents=13, baseline=12, pending=0) is None   # later on
    assert status.baseline_note(documents=12, baseline=12, pending=1) is None
    assert status.baseline_note(documents=0, baseline=0, pending=0) is None
