"""SIGKILL a real `collector poll` in the middle of a WARC capture, then restart it.

The child stops at a fault point of collector.capture (COLLECTOR_CAPTURE_FAULT, read by the
capture module only for these tests): half of a capture's records on disk, or all of them
written but their length not yet committed. It says so on stderr and waits; the test kills it
there, so the kill lands at that exact point, with no sleep. Afterwards no database row points
into a truncated record (every pointer reads back as whole, valid records), and the restart
cuts the damaged tail off and leaves only complete files (`warcio check` passes on all).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from collector import capture
from collector.config import load_config
from collector.scheduler import owner_dead
from collector.store import capture as stored_captures
from tests.helpers import store_of, write_config
from tests.pages import article, rss_feed, wordpress_page
from tests.webserver import Page

T0 = datetime(2024, 5, 1, tzinfo=UTC)
WARCIO = Path(sys.executable).parent / "warcio"


def _env(fault: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COLLECTOR_") or k == "COLLECTOR_TEST_DATABASE_URL"}
    if fault:
        env["COLLECTOR_CAPTURE_FAULT"] = fault
    return env


def _poll(cwd: Path, fault: str | None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "collector.cli", "poll", "--quiet"],
                            cwd=cwd, env=_env(fault), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _check_pointers(config) -> int:
    """Every pointer reads back as a request, a response and a metadata record, whole."""
    store = store_of(config)
    try:
        caps = stored_captures.captures(store)
    finally:
        store.close()
    warcs = capture.Warcs(config.settings.warc_dir)
    for c in caps:
        assert c.pointer is not None
        records = []
        for rec in ArchiveIterator(io.BytesIO(warcs.read(c.pointer)), check_digests=True):
            records.append(rec.rec_type)
            rec.content_stream().read()
        assert records == ["request", "response", "metadata"]
    return len(caps)


@pytest.mark.parametrize("fault", ["mid-record", "before-commit"])
def test_sigkill_mid_capture_leaves_no_pointer_into_a_partial_record(tmp_path, site, fault):
    items = [article(i, f"Statement {i} about the strike", T0 + timedelta(days=i))
             for i in range(3)]
    site.pages["/feed/"] = Page(rss_feed("Red", site.base, items), "application/rss+xml")
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red", a, site.base))
    config = load_config(write_config(tmp_path, f"""sources:
  - id: red
    url: {site.url('/feed/')}
    kind: feed
    backfill: 10
"""), env={})

    child = _poll(tmp_path, f"{fault}@2")   # the second capture: the first one is committed
    try:
        assert child.stderr is not None
        line = child.stderr.readline()   # blocks until the child stands at the fault point
        assert line.startswith("capture fault point"), line + child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr is not None:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    [warc] = sorted(config.settings.warc_dir.glob("*.warc.gz"))
    if fault == "mid-record":
        assert capture.complete_length(warc) < warc.stat().st_size
    # the first capture is the one stored; nothing points at the second, killed mid-way
    assert _check_pointers(config) == 1

    # the killed worker's lease on the source: a restart on SQLite drops it by itself (its
    # process is gone); on PostgreSQL it would run out after its term, so it is freed here
    store = store_of(config)
    try:
        store.clear_leases(owner_dead)
    finally:
        store.close()
    restart = _poll(tmp_path, None)
    _, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err
    files = sorted(config.settings.warc_dir.glob("*.warc.gz"))
    for f in files:
        assert capture.complete_length(f) == f.stat().st_size
    check = subprocess.run([str(WARCIO), "check", *map(str, files)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert _check_pointers(config) == 3
    # half a record was cut off; complete records past the committed length (the kill came
    # before it was written) are kept, pointed at by no row
    responses = 0
    for f in files:
        with open(f, "rb") as stream:
            responses += sum(rec.rec_type == "response" for rec in ArchiveIterator(stream))
    assert responses == (3 if fault == "mid-record" else 4)
    store = store_of(config)
    try:
        assert store.count_documents() == 3
    finally:
        store.close()
