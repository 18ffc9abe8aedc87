"""`collector run` under systemd's notify protocol: READY, WATCHDOG and STOPPING reach a real
unix datagram socket named by NOTIFY_SOCKET."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from tests.helpers import write_config


def test_run_tells_systemd_it_is_ready_alive_and_stopping(tmp_path):
    write_config(tmp_path, "sources: []\n", settings_extra="  bind: 127.0.0.1:0\n")
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update(NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000")   # ping every second
    proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "run", "--no-http"],
                            cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    got: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "WATCHDOG=1" not in got:
            got.append(sock.recv(256).decode())
        proc.send_signal(signal.SIGTERM)
        while time.monotonic() < deadline and "STOPPING=1" not in got:
            got.append(sock.recv(256).decode())
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    assert got[0] == "READY=1"
    assert "WATCHDOG=1" in got
    assert "STOPPING=1" in got
    assert proc.returncode == 0
