"""A throwaway Dovecot IMAP server on loopback for tests (Debian package `dovecot-imapd`).

It runs in the foreground with its own configuration, run and state directories in a fresh
temporary directory, one passwd-file of users, and Maildir mailboxes owned by `nobody` (Dovecot
refuses mail access as root). It needs root to start (as `.ci/run` is); tests skip otherwise.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
#: Time for Dovecot to start listening.
START_TIMEOUT_S = 20.0


def available() -> str | None:
    """Why the server cannot run here, or None."""
    if not Path(DOVECOT).exists():
        return "Dovecot is not installed (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "Dovecot needs root to start"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dovecot:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="collector-imapd-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        self.users: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        nobody = 65534
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir()
        os.chown(self.root / "home", nobody, nobody)
        (self.root / "passwd").write_text("")
        (self.root / "dovecot.conf").write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {nobody}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={nobody} gid={nobody} home={self.root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")

    def add_user(self, user: str, password: str) -> None:
        self.users[user] = password
        (self.root / "passwd").write_text(
            "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items()))

    def start(self) -> Dovecot:
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.root / "dovecot.log")
                    raise RuntimeError("dovecot did not start: " + (
                        log.read_text()[-2000:] if log.exists() else "no log")) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(user, self.users[user])
        return conn

    def deliver(self, user: str, message: bytes, folder: str = "INBOX") -> None:
        conn = self.client(user)
        try:
            if folder != "INBOX":
                conn.create(folder)
            status, data = conn.append(folder, "", None, message)
            assert status == "OK", data
        finally:
            conn.logout()

    def create(self, user: str, folder: str) -> None:
        conn = self.client(user)
        try:
            conn.create(folder)
        finally:
            conn.logout()

    def flags(self, user: str, folder: str = "INBOX") -> dict[str, set[str]]:
        """Subject → flags of every message in `folder`."""
        conn = self.client(user)
        try:
            conn.select(folder, readonly=True)
            _status, data = conn.uid("SEARCH", "ALL")
            out: dict[str, set[str]] = {}
            for uid in (data[0] or b"").split():
                _, parts = conn.uid("FETCH", uid.decode(),
                                    "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                meta = parts[0][0].decode() if isinstance(parts[0], tuple) else ""
                subject = parts[0][1].decode().split(":", 1)[1].strip() \
                    if isinstance(parts[0], tuple) else ""
                flags = meta.split("FLAGS (", 1)[1].split(")", 1)[0].split() \
                    if "FLAGS (" in meta else []
                out[subject] = set(flags)
            return out
        finally:
            conn.logout()

