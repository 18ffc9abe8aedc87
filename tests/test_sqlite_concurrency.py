"""RELIABILITY 43: the service, several `collector poll` processes and readers on one SQLite
database at once: no "database is locked", nothing collected twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest

from collector.config import load_config
from tests.helpers import store_of, write_config
from tests.pages import article, rss_feed, wordpress_page
from tests.webserver import Page

T0 = datetime(2024, 2, 1, tzinfo=UTC)

pytestmark = pytest.mark.sqlite_only


def test_service_polls_and_readers_share_sqlite_without_lock_errors(tmp_path, site):
    n_sources, n_items = 6, 5
    body = "sources:\n"
    for s in range(n_sources):
        items = [article(s * 100 + i, f"Source {s} statement {i}", T0.replace(day=i + 1))
                 for i in range(n_items)]
        for a in items:
            a.slug = f"s{s}/{a.slug}"
            site.pages[f"/{a.slug}/"] = Page(wordpress_page(f"Site {s}", a, site.base))
        site.pages[f"/s{s}/feed/"] = Page(rss_feed(f"Site {s}", site.base, items),
                                          "application/rss+xml")
        body += f"  - id: s{s}\n    url: {site.url(f'/s{s}/feed/')}\n    kind: feed\n"
    config_path = write_config(tmp_path, body, settings_extra="  bind: 127.0.0.1:0\n"
                                                               "  tick: 1s\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    service = subprocess.Popen([sys.executable, "-m", "collector.cli", "run"], cwd=tmp_path,
                               env=env, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = service.stderr.readline()
            if not line:
                break
            log.append(line)
            if m := re.search(r"listening on http://127\.0\.0\.1:(\d+)", line):
                port = int(m.group(1))
        assert port, "".join(log)
        reader_errors: list[str] = []
        stop = threading.Event()

        def read() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                while not stop.is_set():
                    for path in ("/", "/sources", "/search?q=statement", "/metrics"):
                        r = client.get(path)
                        if r.status_code != 200:
                            reader_errors.append(f"{path}: {r.status_code} {r.text[:200]}")

        readers = [threading.Thread(target=read) for _ in range(2)]
        for t in readers:
            t.start()
        polls = [subprocess.Popen([sys.executable, "-m", "collector.cli", "poll", f"s{s}"],
                                  cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for s in range(n_sources)]
        outputs = [p.communicate(timeout=120)[0] for p in polls]
        time.sleep(3)
        stop.set()
        for t in readers:
            t.join(timeout=30)
    finally:
        service.send_signal(signal.SIGTERM)
        rest = service.communicate(timeout=30)[1]
    everything = "".join(log) + rest + "".join(outputs)
    assert "database is locked" not in everything
    assert service.returncode == 0
    assert reader_errors == []
    for out, p in zip(outputs, polls, strict=True):
        assert p.returncode == 0, out
    store = store_of(load_config(config_path, env={}))
    titles = [d.title for d in store.iter_documents()]
    assert len(titles) == len(set(titles)) == n_sources * n_items
