"""A real SMTP server on 127.0.0.1 that can be told to fail, for digest delivery tests.

`FaultySmtpServer` wraps aiosmtpd in a background thread and records every message it
accepts (with its Message-ID). Faults, switched at any time:

    server.stop() / server.start()      refuse connections (nothing listening) / listen again
    server.fail("rcpt", 450)            answer RCPT TO with this code (also "mail", "data")
    server.fail("drop_after_data")      read the whole message, then drop the connection
                                        before the 250 (the message is not kept)
    server.fail("lose_reply")           keep the message, then drop before the 250 (the
                                        ambiguous case: the client cannot know it went out)
    server.fail("stall", seconds=2)     say nothing for a while after the message data
    server.fail(..., times=n)           the fault applies to the next n messages only
    server.heal()                       no fault

TLS: `tls="starttls"` offers STARTTLS (and AUTH only after it), `tls="tls"` is implicit TLS,
`tls="none"` offers neither. The certificate is self-signed for 127.0.0.1; clients trust it
through `server.ca_file`. `users` turns on AUTH with these user names and passwords.

The pytest fixture is `smtp_server` (STARTTLS, one user); `make_smtp_server` builds others.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
USER = "digest"
PASSWORD = "s3cret-for-tests"


@dataclass(frozen=True)
class Received:
    message_id: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 and localhost (made with openssl)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, server: FaultySmtpServer):
        self.server = server

    def _take_fault(self, stage: str):
        with self.server._lock:
            fault = self.server._fault
            if fault is None or fault[0] != stage:
                return None
            if fault[2] is not None:
                left = fault[2] - 1
                self.server._fault = None if left <= 0 else (fault[0], fault[1], left)
            self.server.faults_hit += 1
            return fault

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        fault = self._take_fault("mail")
        if fault:
            return f"{fault[1]} fault injected at MAIL"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        fault = self._take_fault("rcpt")
        if fault:
            return f"{fault[1]} fault injected at RCPT"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        fault = self._take_fault("data")
        if fault:
            return f"{fault[1]} fault injected at DATA"
        stall = self._take_fault("stall")
        if stall:
            await asyncio.sleep(stall[1])
        content = envelope.original_content or b""
        if self._take_fault("drop_after_data"):
            server.transport.abort()
            return "250 never sent"
        self.server._record(envelope, content)
        if self._take_fault("lose_reply"):
            server.transport.abort()
            return "250 never sent"
        return "250 Message accepted"


class FaultySmtpServer:
    """See the module docstring."""

    def __init__(self, cert: tuple[Path, Path], *, tls: str = "starttls",
                 users: dict[str, str] | None = None):
        self.host = HOST
        self.port = _free_port()
        self.ca_file, self._key = cert
        self.tls = tls
        self.users = dict(users or {})
        self.messages: list[Received] = []
        self.faults_hit = 0
        self._fault: tuple[str, float, int | None] | None = None
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    # --- faults ---------------------------------------------------------------------------
    def fail(self, stage: str, code: int = 451, *, times: int | None = None,
             seconds: float | None = None) -> None:
        if stage not in ("mail", "rcpt", "data", "drop_after_data", "lose_reply", "stall"):
            raise ValueError(f"unknown fault stage {stage!r}")
        with self._lock:
            self._fault = (stage, seconds if stage == "stall" else code, times)

    def heal(self) -> None:
        with self._lock:
            self._fault = None

    # --- what arrived ---------------------------------------------------------------------
    def _record(self, envelope, content: bytes) -> None:
        msg = email.message_from_bytes(content, policy=email.policy.default)
        with self._lock:
            self.messages.append(Received(
                message_id=str(msg.get("Message-ID", "")), mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos), content=content))

    def message_ids(self) -> list[str]:
        with self._lock:
            return [m.message_id for m in self.messages]

    # --- listening ------------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.ca_file), str(self._key))
        return ctx

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and self.users.get(auth_data.login.decode()) == auth_data.password.decode())
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        if self._controller is not None:
            return
        kwargs: dict = {"hostname": self.host, "port": self.port}
        smtp_kwargs: dict = {"timeout": 30}
        if self.users:
            smtp_kwargs["authenticator"] = self._authenticate
            smtp_kwargs["auth_required"] = False
            # Allow AUTH over the implicit-TLS socket and over STARTTLS; never in clear.
            smtp_kwargs["auth_require_tls"] = self.tls != "tls"
        if self.tls == "starttls":
            smtp_kwargs["tls_context"] = self._ssl_context()
        elif self.tls == "tls":
            kwargs["ssl_context"] = self._ssl_context()
        self._controller = Controller(_Handler(self), **kwargs, **smtp_kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("smtp-cert"))


@pytest.fixture
def make_smtp_server(smtp_certificate) -> Iterator:
    """A factory: make_smtp_server(tls="none", users={...}) -> a started FaultySmtpServer."""
    made: list[FaultySmtpServer] = []

    def make(**kwargs) -> FaultySmtpServer:
        server = FaultySmtpServer(smtp_certificate, **kwargs)
        server.start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def smtp_server(make_smtp_server) -> FaultySmtpServer:
    """A started STARTTLS server on 127.0.0.1 with AUTH for USER/PASSWORD."""
    return make_smtp_server(tls="starttls", users={USER: PASSWORD})
