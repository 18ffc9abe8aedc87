"""index.jsonl agrees with the database after any kill (RELIABILITY 41).

A process killed (SIGKILL) right after committing a new location, or a new revision of a
document, has not rewritten index.jsonl yet (that happens once at the end of a round): the
index misses the change. The next start sees that the index generation recorded beside the
index is behind the database's and rewrites the index; when they agree it leaves the index
alone. The kill is placed exactly: the poll runs in a child process whose store method
kills the process as soon as the commit returned."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import store_of, write_config
from tests.pages import Article, paragraphs, rss_feed, wordpress_page
from tests.webserver import Page, SiteServer

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
BODY = paragraphs(5150, count=6)

#: Runs `collector ARGS…` with Store.<method> killing the process right after it returned
#: (its transaction committed, nothing after it done).
KILL_AFTER = textwrap.dedent("""
    import os, signal, sys
    from collector import cli
    from collector.store import Store

    method = sys.argv[1]
    committed = getattr(Store, method)

    def killed(self, *args, **kwargs):
        result = committed(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(Store, method, killed)
    sys.exit(cli.main(sys.argv[2:]))
""")


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}


def collector(tmp_path, *args: str, kill_after: str | None = None) -> subprocess.CompletedProcess:
    if kill_after is None:
        cmd = [sys.executable, "-m", "collector.cli", *args]
    else:
        script = tmp_path / "kill_after.py"
        script.write_text(KILL_AFTER, encoding="utf-8")
        cmd = [sys.executable, str(script), kill_after, *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env(), capture_output=True, text=True,
                          timeout=120)


def index_lines(tmp_path) -> list[dict]:
    path = tmp_path / "data" / "documents" / "index.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def exported(tmp_path) -> list[dict]:
    """The index `collector export` writes from the database: what index.jsonl must equal."""
    done = collector(tmp_path, "export", str(tmp_path / "export"))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in
            (tmp_path / "export" / "index.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def two_sites():
    a, b = SiteServer("127.0.0.1").start(), SiteServer("127.0.0.2").start()
    yield a, b
    a.stop()
    b.stop()


def publish(site, slug: str, title: str, paras: list[str], published: datetime,
            canonical: str | None = None) -> None:
    art = Article(slug, title, paras, published)
    html = wordpress_page("Site", art, site.base)
    if canonical:
        html = html.replace(f'href="{site.base}/{slug}/">', f'href="{canonical}">', 1)
    site.pages[f"/{slug}/"] = Page(html)
    site.pages["/feed/"] = Page(rss_feed("Site", site.base, [art]), "application/rss+xml")


def config(tmp_path, a, b) -> None:
    write_config(tmp_path, f"""sources:
  - id: intl
    url: {a.url('/feed/')}
    kind: feed
  - id: section
    url: {b.url('/feed/')}
    kind: feed
""")


def test_a_kill_after_a_new_location_is_repaired_at_the_next_start(tmp_path, two_sites):
    a, b = two_sites
    config(tmp_path, a, b)
    publish(a, "strike", "The strike goes on", BODY, T0)
    publish(b, "copy", "The strike goes on", BODY, T0 + timedelta(days=1))
    first = collector(tmp_path, "poll", "intl")
    assert first.returncode == 0, first.stderr
    assert [len(r["locations"]) for r in index_lines(tmp_path)] == [1]

    killed = collector(tmp_path, "poll", "section", kill_after="add_location")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # the location is committed, and the index does not show it
    assert [len(r["locations"]) for r in exported(tmp_path)] == [2]
    assert [len(r["locations"]) for r in index_lines(tmp_path)] == [1]

    restart = collector(tmp_path, "poll", "intl")
    assert restart.returncode == 0, restart.stderr
    assert [[loc["source"] for loc in r["locations"]] for r in index_lines(tmp_path)] == \
        [["intl", "section"]]
    assert index_lines(tmp_path) == exported(tmp_path)
    assert "index.jsonl did not agree with the database: rewritten" in restart.stderr

    # agreeing now: the next start leaves the index alone (same file, not rewritten)
    before = os.stat(tmp_path / "data" / "documents" / "index.jsonl")
    again = collector(tmp_path, "poll", "intl")
    assert again.returncode == 0, again.stderr
    assert "did not agree" not in again.stderr
    after = os.stat(tmp_path / "data" / "documents" / "index.jsonl")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_kill_after_a_new_revision_is_repaired_at_the_next_start(tmp_path, two_sites):
    a, b = two_sites
    config(tmp_path, a, b)
    # a copy first (later date, an editor's note), then the original: a new revision
    publish(b, "copy", "A COPY OF THE STATEMENT", ["Editor's note: we reprint this.", *BODY],
            T0 + timedelta(days=1))
    first = collector(tmp_path, "poll", "section")
    assert first.returncode == 0, first.stderr
    publish(a, "strike", "The strike goes on", BODY, T0)
    killed = collector(tmp_path, "poll", "intl", kill_after="update_document")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert [(r["title"], r["revision"]) for r in exported(tmp_path)] == \
        [("The strike goes on", 2)]
    assert [(r["title"], r["revision"]) for r in index_lines(tmp_path)] == \
        [("A COPY OF THE STATEMENT", 1)]

    restart = collector(tmp_path, "poll", "section")
    assert restart.returncode == 0, restart.stderr
    assert index_lines(tmp_path) == exported(tmp_path)
    (record,) = index_lines(tmp_path)
    assert (record["title"], record["revision"], record["source"]) == \
        ("The strike goes on", 2, "intl")
    # and the corpus file holds the original's text (it was written at start-up)
    text = (tmp_path / "data" / "documents" / record["file"]).read_text(encoding="utf-8")
    assert text.startswith("The strike goes on\n\n") and "Editor's note" not in text


def test_a_new_document_appended_keeps_the_index_in_agreement(tmp_path, two_sites):
    """The common case costs no rewrite: a new document's line is appended, the recorded
    generation follows, and the next start finds index and database in agreement."""
    a, b = two_sites
    config(tmp_path, a, b)
    publish(a, "strike", "The strike goes on", BODY, T0)
    assert collector(tmp_path, "poll", "intl").returncode == 0
    publish(b, "other", "Another statement", paragraphs(77, count=5), T0)
    before = os.stat(tmp_path / "data" / "documents" / "index.jsonl")
    done = collector(tmp_path, "poll", "section")
    assert done.returncode == 0, done.stderr
    after = os.stat(tmp_path / "data" / "documents" / "index.jsonl")
    assert after.st_ino == before.st_ino          # appended to, not replaced
    assert index_lines(tmp_path) == exported(tmp_path)
    store = store_of_dir(tmp_path)
    try:
        state = json.loads((tmp_path / "data" / "documents" / ".index.jsonl.state")
                           .read_text(encoding="utf-8"))
        assert state["generation"] == store.index_generation()
        assert state["size"] == after.st_size
    finally:
        store.close()


def store_of_dir(tmp_path):
    from collector.config import load_config

    return store_of(load_config(tmp_path / "sources.yaml", env={}))
