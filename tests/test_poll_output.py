"""What `collector poll` prints, run as a user runs it: progress only on a terminal and never
glued to a log line, `--quiet`, a summary with failures first, and JSON log lines that carry
the poll's figures as fields."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import write_config
from tests.test_cli import cli, site_with_feed

#: Seconds a polled run may take before the test gives up reading its terminal.
RUN_TIMEOUT_S = 120


def two_sources(tmp_path: Path, site) -> None:
    site_with_feed(site)
    write_config(tmp_path, f"sources:\n  - id: reddawn\n    url: {site.url('/feed/')}\n"
                           "    kind: feed\n  - id: zdead\n    url: "
                           f"{site.url('/missing/feed')}\n    kind: feed\n")


def test_summary_lists_failures_first_in_words_and_no_progress_on_a_pipe(tmp_path, site):
    two_sources(tmp_path, site)
    r = cli("poll", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert rows[0].split()[:2] == ["source", "result"]
    assert rows[2].startswith("zdead") and "FAILED (http_status)" in rows[2]
    assert "127.0.0.1 says the page does not exist (404)" in rows[2]
    assert rows[3].startswith("reddawn")
    assert rows[-1].startswith("2 sources polled in ") and "2 new documents, 1 failed" in rows[-1]
    assert "\r" not in r.stderr and "[1/2]" not in r.stderr


def test_quiet_prints_only_failures_and_the_closing_line(tmp_path, site):
    two_sources(tmp_path, site)
    r = cli("poll", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:-1]] == ["zdead"]
    assert "2 new documents, 1 failed" in lines[-1]
    assert " INFO " not in r.stderr
    assert "zdead: FAILED" in r.stderr                  # warnings still reach the log


def test_json_log_lines_carry_the_poll_as_fields(tmp_path, site):
    two_sources(tmp_path, site)
    r = cli("--log-format", "json", "poll", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stderr.splitlines()]
    polls = {rec["source"]: rec for rec in records
             if rec["logger"] == "collector.service" and "result" in rec}
    assert polls["reddawn"]["result"] == "ok" and polls["reddawn"]["new"] == 2
    assert polls["reddawn"]["url"] == site.url("/feed/")
    assert isinstance(polls["reddawn"]["elapsed_s"], float)
    assert polls["zdead"]["result"] == "error" and polls["zdead"]["kind"] == "http_status"
    assert polls["zdead"]["level"] == "warning"
    new_docs = [rec for rec in records if rec.get("document")]
    assert len(new_docs) == 2 and {rec["source"] for rec in new_docs} == {"reddawn"}


def test_progress_on_a_terminal_is_erased_before_every_log_line(tmp_path, site):
    two_sources(tmp_path, site)
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "poll"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:          # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        stdout, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
    terminal = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "[1/2]" in terminal and "[2/2]" in terminal
    # a log line written after progress starts on a cleared line, never after "[n/2] id"
    for piece in terminal.split("\r\x1b[K")[1:]:
        if piece.startswith("["):
            assert "\n" not in piece, repr(piece)
    assert "sources polled" in stdout and "\r" not in stdout
