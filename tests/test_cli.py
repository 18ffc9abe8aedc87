"""The `collector` command as a user runs it: real processes, real files, a loopback site."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import write_config
from tests.pages import article, rss_feed, wordpress_page
from tests.webserver import Page

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLLECTOR_CONFIG": "", "COLLECTOR_DATA": ""}
    env.pop("COLLECTOR_CONFIG")
    env.pop("COLLECTOR_DATA")
    return subprocess.run([sys.executable, "-m", "collector.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def site_with_feed(site, n=2):
    items = [article(i, f"Statement number {i}", T0.replace(day=i)) for i in range(1, n + 1)]
    site.pages["/feed/"] = Page(rss_feed("Red Dawn", site.base, items), "application/rss+xml")
    for a in items:
        site.pages[f"/{a.slug}/"] = Page(wordpress_page("Red Dawn", a, site.base))
    return items


def test_check_validates_and_reports_errors_with_lines(tmp_path):
    path = write_config(tmp_path, "sources:\n  - id: a\n    url: https://a.org/\n"
                                  "    colour: red\n")
    line = path.read_text().splitlines().index("    colour: red") + 1
    r = cli("check", cwd=tmp_path)
    assert r.returncode == 2
    assert f"sources.yaml:{line}: source 'a': unknown key 'colour'" in r.stderr
    write_config(tmp_path, "sources:\n  - id: a\n    url: https://a.org/\n")
    r = cli("check", cwd=tmp_path)
    assert r.returncode == 0 and "1 sources" in r.stdout


def test_poll_status_export_round(tmp_path, site):
    items = site_with_feed(site)
    write_config(tmp_path, f"sources:\n  - id: reddawn\n    url: {site.url('/feed/')}\n"
                           "    kind: feed\n")
    r = cli("poll", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "reddawn" in r.stdout and "2 new documents" in r.stdout
    r = cli("status", "--json", cwd=tmp_path)
    rows = json.loads(r.stdout)["sources"]
    assert rows[0]["id"] == "reddawn" and rows[0]["documents"] == 2
    r = cli("export", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    exported = sorted(p.name for p in (tmp_path / "out").glob("*.txt"))
    corpus = sorted(p.name for p in (tmp_path / "data" / "documents").glob("*.txt"))
    assert exported == corpus and len(exported) == len(items)
    for name in exported:
        assert (tmp_path / "out" / name).read_bytes() == \
            (tmp_path / "data" / "documents" / name).read_bytes()
    index = (tmp_path / "out" / "index.jsonl").read_text().splitlines()
    assert len(index) == 2


def test_poll_exits_non_zero_when_every_source_failed(tmp_path):
    write_config(tmp_path, "sources:\n  - id: dead\n    url: http://127.0.0.1:9/feed\n"
                           "    kind: feed\n")
    r = cli("poll", cwd=tmp_path)
    assert r.returncode == 1
    assert "FAILED" in r.stdout and "1 failed" in r.stdout


def test_check_source_is_a_dry_run_that_stores_nothing(tmp_path, site):
    site_with_feed(site)
    write_config(tmp_path, f"sources:\n  - id: reddawn\n    url: {site.url('/feed/')}\n")
    r = cli("check", "--source", "reddawn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "method:  feed" in r.stdout and "candidates: 2" in r.stdout
    assert "Statement number 2" in r.stdout and "first document" in r.stdout
    assert not (tmp_path / "data" / "collector.db").exists()


def test_run_keeps_running_with_unreachable_sources_and_stops_cleanly(tmp_path):
    write_config(tmp_path, "sources:\n  - id: dead\n    url: http://127.0.0.1:9/feed\n"
                           "    kind: feed\n  - id: nohost\n    url: http://nonexistent.invalid/\n"
                           "    kind: feed\n",
                 settings_extra="  bind: 127.0.0.1:0\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "run"], cwd=tmp_path,
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
                any("source dead" in ln for ln in lines)
                and any("source nohost" in ln for ln in lines)):
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
        assert proc.poll() is None, "".join(lines)
        assert any("source dead: FAILED" in ln for ln in lines), "".join(lines)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
        # RELIABILITY 42: a clean exit well inside docker's 10 s stop timeout
        assert time.monotonic() - sent < 8, rest
        assert proc.returncode == 0, rest
        assert "stopped" in rest
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.sqlite_only
def test_second_service_on_the_same_sqlite_data_is_refused(tmp_path):
    write_config(tmp_path, "sources: []\n", settings_extra="  bind: 127.0.0.1:0\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    first = subprocess.Popen([sys.executable, "-m", "collector.cli", "run", "--no-http"],
                             cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = first.stderr.readline()
            if "collector running" in line or not line:
                break
        second = cli("run", "--no-http", cwd=tmp_path, timeout=60)
        assert second.returncode == 1
        assert "another collector is already running" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)


def test_check_reports_a_broken_user_template(tmp_path):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "digest.txt.j2").write_text("{{ title }\n")
    write_config(tmp_path, "sources: []\n", settings_extra="  template_dir: tpl\n")
    r = cli("check", cwd=tmp_path)
    assert r.returncode == 2
    assert "digest.txt.j2" in r.stderr
