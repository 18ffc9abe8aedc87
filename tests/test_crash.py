"""Kill the service with SIGKILL at random points across many poll-and-digest runs, then count.

Invariants after the last run: statements lost 0, documents duplicated 0, every statement
mailed, and at most one repeated digest per kill (the batch in flight when it was killed, sent
again with the same Message-ID).
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from collector import document
from tests.helpers import write_config
from tests.pages import article, rss_feed, wordpress_page
from tests.webserver import Page

KILLS = int(os.environ.get("CRASH_KILLS", "55"))
T0 = datetime(2024, 1, 1, tzinfo=UTC)

pytestmark = pytest.mark.skipif(bool(os.environ.get("COLLECTOR_TEST_DATABASE_URL")),
                                reason="the crash harness edits the SQLite file directly")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}


def _start(cwd):
    return subprocess.Popen([sys.executable, "-m", "collector.cli", "run", "--no-http"],
                            cwd=cwd, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _make_due(db):
    con = sqlite3.connect(db, timeout=30)
    try:
        con.execute("UPDATE sources SET next_poll_at = '2000-01-01 00:00:00.000000'")
        con.commit()
    finally:
        con.close()


def _query(db, sql):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path, site,
                                                               make_smtp_server):
    rng = random.Random(20241121)
    smtp = make_smtp_server(tls="none")
    published = [article(0, "Baseline statement", T0)]

    def publish():
        site.pages["/feed/"] = Page(rss_feed("Red", site.base, list(reversed(published))),
                                    "application/rss+xml")
        for a in published:
            site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red", a, site.base))

    publish()
    write_config(tmp_path, f"""sources:
  - id: red
    url: {site.url('/feed/')}
    kind: feed
    backfill: 0
digests:
  - id: daily
    channel: email
    schedule: immediate
    to: [reader@example.org]
""", settings_extra=f"""  tick: 1s
  smtp:
    host: 127.0.0.1
    port: {smtp.port}
    security: none
""")
    db = tmp_path / "data" / "collector.db"
    baseline = subprocess.run([sys.executable, "-m", "collector.cli", "poll"], cwd=tmp_path,
                              env=_env(), capture_output=True, text=True, timeout=120)
    assert baseline.returncode == 0, baseline.stderr

    for n in range(1, KILLS + 1):
        published.append(article(n, f"Statement number {n}", T0 + timedelta(days=n)))
        publish()
        _make_due(db)
        proc = _start(tmp_path)
        time.sleep(rng.uniform(0.2, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    # a last, undisturbed run collects and delivers whatever is left
    _make_due(db)
    proc = _start(tmp_path)
    try:
        deadline = time.monotonic() + 120
        expected = {a.title for a in published[1:]}
        while time.monotonic() < deadline:
            titles = {t for (t,) in _query(db, "SELECT title FROM documents")}
            pending = _query(db, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL")[0][0]
            if titles >= expected and pending == 0:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0

    titles = [t for (t,) in _query(db, "SELECT title FROM documents")]
    lost = expected - set(titles)
    duplicated = [t for t, c in Counter(titles).items() if c > 1]
    assert lost == set(), f"lost {len(lost)}"
    assert duplicated == []
    assert _query(db, "PRAGMA integrity_check")[0][0] == "ok"
    files = sorted((tmp_path / "data" / "documents").glob("*.txt"))
    assert len(files) == len(titles)
    for f in files:
        assert document.validate(f.read_text(encoding="utf-8")) == [], f.name
    index = (tmp_path / "data" / "documents" / "index.jsonl").read_text().splitlines()
    assert len(index) == len(titles)

    mailed: Counter[str] = Counter()
    for m in smtp.messages:
        body = m.message().get_body(("plain",)).get_content()
        for line in body.splitlines():
            m_title = re.match(r"^\d+\. (.+)$", line.strip())
            if m_title and m_title.group(1) in expected:
                mailed[m_title.group(1)] += 1
    ids = smtp.message_ids()
    repeated_messages = len(ids) - len(set(ids))
    assert set(mailed) == expected, (f"never mailed: {expected - set(mailed)}; "
                                     f"{len(smtp.messages)} messages")
    assert repeated_messages <= KILLS
    repeats = sum(c - 1 for c in mailed.values())
    # every repeat is a whole batch sent again under the same Message-ID
    assert all(c <= 2 for c in mailed.values())
    print(f"\ncrash test: {KILLS} kills, {len(titles)} documents, lost {len(lost)}, "
          f"duplicated {len(duplicated)}, messages {len(ids)}, repeated messages "
          f"{repeated_messages}, repeated statements {repeats}")
