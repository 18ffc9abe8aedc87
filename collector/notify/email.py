"""Sending a rendered digest over SMTP; the only smtplib user.

Security is "starttls" (the default: refused outright when the server does not offer
STARTTLS, so a downgrade cannot leak the password or the digest), "tls" (implicit TLS, usually
port 465) or "none" (only for a relay on loopback). Certificates are verified against the
system store, or `ca_file` when given.

Every failure becomes collector.errors.DeliveryError with `temporary` telling the retry policy
what to do: connection problems, timeouts, dropped connections and 4xx replies are temporary;
5xx replies, refused credentials, missing STARTTLS and certificate failures are permanent.
A dropped connection after the message data is ambiguous (the server may have kept it); it is
reported as temporary, and the repeat carries the same Message-ID.

`send` blocks (it runs in a thread). A service that stops calls `Abort.abort()` from any
thread: the socket of the exchange in progress is shut down, so a server that never greets
or never answers the message data releases the thread at once instead of after the timeout,
and `send` raises a temporary DeliveryError (the digest stays pending and is retried).
"""

from __future__ import annotations

import ipaddress
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from collector import limits
from collector.errors import DeliveryError
from collector.notify.render import envelope_recipients

SECURITY_MODES = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server. The password comes from the environment, never YAML."""

    host: str | None
    port: int = 587
    security: str = "starttls"          # starttls | tls | none
    username: str | None = None
    password: str | None = None
    sender: str = "collector@localhost"  # envelope sender and From
    timeout_s: float = limits.SMTP_TIMEOUT_S
    ca_file: Path | None = None          # extra trust anchor (a private CA)

    def __repr__(self) -> str:           # never print the password
        return (f"SmtpSettings(host={self.host!r}, port={self.port}, "
                f"security={self.security!r}, username={self.username!r}, "
                f"password={'***' if self.password else None}, sender={self.sender!r})")


@dataclass(frozen=True)
class SendResult:
    """What the server accepted. `refused` lists recipients the server refused permanently
    while accepting the others (the message went out; retrying would not reach them)."""

    message_id: str
    accepted: tuple[str, ...]
    refused: tuple[tuple[str, int, str], ...] = ()


class Abort:
    """Lets another thread abandon the SMTP exchanges of one sender, now and from then on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.aborted = False

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sock = self._sock
        if sock is not None:
            try:
                # the plain socket's shutdown, also under TLS: it wakes a blocked read in the
                # sending thread without touching the TLS object that thread is using
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def attach(self, sock: socket.socket | None) -> None:
        """Track the socket of the exchange in progress (None: the exchange is over);
        DeliveryError if the sender was abandoned already."""
        with self._lock:
            self._sock = sock
            aborted = self.aborted
        if aborted and sock is not None:
            raise DeliveryError("abandoned: the service is stopping", temporary=True)


class _Client(smtplib.SMTP):
    """smtplib's client, handing its socket to `abort` as soon as it is connected, before the
    server's greeting is read (smtplib's own hook for the socket, as SMTP_SSL uses it)."""

    def __init__(self, abort: Abort | None, host: str, port: int, timeout: float):
        self.abort = abort
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # (smtplib's hook, absent from its type stubs)
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        if self.abort is not None:
            self.abort.attach(sock)
        return sock


class _TlsClient(smtplib.SMTP_SSL):
    """The same for implicit TLS."""

    def __init__(self, abort: Abort | None, host: str, port: int, timeout: float,
                 context: ssl.SSLContext):
        self.abort = abort
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # (smtplib's hook, absent from its type stubs)
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        if self.abort is not None:
            self.abort.attach(sock)
        return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if smtp.ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=str(smtp.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"cannot read CA file {smtp.ca_file}: {exc}",
                                temporary=False) from exc
    return ctx


def _code_error(what: str, code: int, text: bytes | str) -> DeliveryError:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return DeliveryError(f"{what}: {code} {text}".strip(), temporary=400 <= code < 500)


def send(message: EmailMessage, smtp: SmtpSettings, abort: Abort | None = None) -> SendResult:
    """Deliver `message` to the recipients in its To/Cc headers; raise DeliveryError if not.
    `abort` lets another thread abandon the exchange (see Abort)."""
    if abort is not None and abort.aborted:
        raise DeliveryError("abandoned: the service is stopping", temporary=True)
    try:
        return _send(message, smtp, abort)
    except DeliveryError as exc:
        if abort is not None and abort.aborted:
            raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: abandoned: the service is "
                                "stopping", temporary=True) from exc
        raise
    finally:
        if abort is not None:
            abort.attach(None)


def _send(message: EmailMessage, smtp: SmtpSettings, abort: Abort | None) -> SendResult:
    if not smtp.host:
        raise DeliveryError("no SMTP host configured", temporary=False)
    if smtp.security not in SECURITY_MODES:
        raise DeliveryError(f"SMTP security {smtp.security!r} is not one of "
                            f"{', '.join(SECURITY_MODES)}", temporary=False)
    if smtp.security == "none" and smtp.password and not _is_loopback(smtp.host):
        raise DeliveryError("refusing to send an SMTP password without TLS to "
                            f"{smtp.host}", temporary=False)
    recipients = envelope_recipients(message)
    if not recipients:
        raise DeliveryError("the message has no recipients", temporary=False)
    where = f"SMTP {smtp.host}:{smtp.port}"
    client: smtplib.SMTP | None = None
    try:
        if smtp.security == "tls":
            client = _TlsClient(abort, smtp.host, smtp.port, smtp.timeout_s, _tls_context(smtp))
        else:
            client = _Client(abort, smtp.host, smtp.port, smtp.timeout_s)
        client.ehlo()
        if smtp.security == "starttls":
            if not client.has_extn("starttls"):
                raise DeliveryError(f"{where} does not offer STARTTLS; refusing to send "
                                    "in clear text", temporary=False)
            client.starttls(context=_tls_context(smtp))
            client.ehlo()
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        refused = client.send_message(message, from_addr=smtp.sender, to_addrs=recipients)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{where}: login refused: {exc.smtp_code}",
                            temporary=400 <= exc.smtp_code < 500) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"{where}: {exc}", temporary=False) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{addr}: {code} {msg.decode('utf-8', 'replace')}"
                           for addr, (code, msg) in exc.recipients.items())
        raise DeliveryError(f"{where}: every recipient refused: {detail}",
                            temporary=any(400 <= c < 500 for c in codes)) from exc
    except smtplib.SMTPSenderRefused as exc:
        raise _code_error(f"{where}: sender refused", exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPDataError as exc:
        raise _code_error(f"{where}: message refused", exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise DeliveryError(f"{where}: connection lost: {exc}", temporary=True) from exc
    except smtplib.SMTPResponseException as exc:
        raise _code_error(where, exc.smtp_code, exc.smtp_error) from exc
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(f"{where}: certificate not trusted: {exc.verify_message}",
                            temporary=False) from exc
    except (OSError, smtplib.SMTPException) as exc:
        # Refused, reset, unreachable, timed out, TLS handshake torn down: all may pass.
        kind = "timed out" if isinstance(exc, socket.timeout | TimeoutError) else str(exc)
        raise DeliveryError(f"{where}: {kind or type(exc).__name__}", temporary=True) from exc
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
    # send_message returns the recipients refused while others were accepted. A temporary
    # refusal must be retried (a repeat for the others, with the same Message-ID); permanent
    # ones cannot be helped by retrying and are reported to the caller instead.
    if any(400 <= code < 500 for code, _ in refused.values()):
        detail = "; ".join(f"{a}: {c}" for a, (c, _) in refused.items())
        raise DeliveryError(f"{where}: some recipients deferred: {detail}", temporary=True)
    return SendResult(
        message_id=str(message.get("Message-ID", "")),
        accepted=tuple(r for r in recipients if r not in refused),
        refused=tuple((a, c, m.decode("utf-8", "replace")) for a, (c, m) in refused.items()),
    )
