"""Newsletters in a mailbox (`kind: imap`): each new message is a statement.

A poll logs in (the password only from the environment variable the source names), opens the
folder, and reads the unread messages without marking them (`BODY.PEEK`), newest first, at most
`limits.IMAP_MAX_MESSAGES`. Each message becomes a candidate: the subject is the title, the date
and sender come from its headers, and its HTML part is extracted like a fetched page (the plain
text part when there is no HTML). Its key is the Message-ID (or, lacking one, the folder's
UIDVALIDITY and the message's UID).

Only after the pipeline has stored a message (or recorded it as seen for good) is it marked
read, or moved to `move_to`, in a second short session (`settle`). A crash in between leaves
the message unread: the next poll reads it again, finds its key already stored, and only marks
it. So nothing is lost and nothing is taken twice.

Connections are address-checked like every fetch (collector.transport.AddressGuard): the host
is resolved once, checked, and the connection made to the checked address.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import imaplib
import logging
import os
import re
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from .. import limits
from ..config import Imap, Source
from ..errors import FetchError
from ..models import Candidate
from ..transport import AddressGuard, Blocked, DnsFailed
from .post import ChannelListing, paragraphs_html

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..store import SourceState

log = logging.getLogger("collector.channels.imap")
_SIZE = re.compile(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)")


@dataclass(frozen=True)
class Message:
    uid: int
    key: str
    raw: bytes


class _Plain(imaplib.IMAP4):
    """IMAP4 connecting to an address checked beforehand (not to whatever DNS says later)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._address = address
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((self._address, self.port), timeout)


class _Tls(imaplib.IMAP4_SSL):
    def __init__(self, host: str, port: int, address: str, context: ssl.SSLContext,
                 timeout: float) -> None:
        self._address = address
        super().__init__(host, port, ssl_context=context, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def password_for(source: Source, env: Any = os.environ) -> str:
    box = _box(source)
    password = env.get(box.password_env)
    if not password:
        raise FetchError(f"source {source.id}: the IMAP password is read from the environment "
                         f"variable {box.password_env}, which is not set", kind="auth",
                         url=source.url)
    return str(password)


def _box(source: Source) -> Imap:
    if source.imap is None:
        raise FetchError(f"source {source.id}: kind imap needs an 'imap:' block",
                         kind="config", url=source.url)
    return source.imap


def _where(box: Imap) -> str:
    return f"{box.user}@{box.host}:{box.port}"


class Session:
    """One logged-in IMAP session on the source's folder (blocking; run in a thread)."""

    def __init__(self, source: Source, password: str, address: str) -> None:
        self.source = source
        self.box = box = _box(source)
        timeout = limits.IMAP_TIMEOUT_S
        try:
            if box.security == "tls":
                self.conn: imaplib.IMAP4 = _Tls(box.host, box.port, address,
                                                _context(source.verify_tls), timeout)
            else:
                self.conn = _Plain(box.host, box.port, address, timeout)
                if box.security == "starttls":
                    self.conn.starttls(_context(source.verify_tls))
        except (OSError, imaplib.IMAP4.error) as exc:
            raise _network_error(source, exc) from exc
        try:
            self.conn.login(box.user, password)
        except imaplib.IMAP4.error as exc:
            self.close()
            raise FetchError(f"source {source.id}: IMAP login as {_where(box)} refused: "
                             f"{_text(exc)}", kind="auth", url=source.url) from None
        status, data = self.conn.select(_quote(box.folder))
        if status != "OK":
            self.close()
            raise FetchError(f"source {source.id}: IMAP folder '{box.folder}' cannot be opened "
                             f"on {_where(box)}: {_text(data)}", kind="imap_folder",
                             url=source.url)
        # the untagged "OK [UIDVALIDITY n]" of SELECT, which imaplib keeps by name
        _name, values = self.conn.response("UIDVALIDITY")
        value = values[0] if values else None
        self.uidvalidity = int(value) if isinstance(value, bytes) and value.isdigit() else 0

    def close(self) -> None:
        try:
            self.conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass

    def _uid(self, *args: str) -> list[Any]:
        status, data = self.conn.uid(*args)
        if status != "OK":
            raise FetchError(f"source {self.source.id}: IMAP {args[0]} failed on "
                             f"{_where(self.box)}: {_text(data)}", kind="imap",
                             url=self.source.url)
        return list(data)

    def unread(self) -> list[Message]:
        data = self._uid("SEARCH", "UNSEEN")
        uids = sorted(int(u) for u in (data[0] or b"").split())
        uids = uids[-limits.IMAP_MAX_MESSAGES:]
        out = []
        for uid in reversed(uids):            # newest first
            sizes = self._uid("FETCH", str(uid), "(RFC822.SIZE)")
            size = _size(sizes)
            if size > limits.IMAP_MAX_MESSAGE_BYTES:
                log.warning("source %s: message %d is %d bytes, over the cap; left unread",
                            self.source.id, uid, size)
                continue
            parts = self._uid("FETCH", str(uid), "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple) and len(p) > 1), None)
            if not isinstance(raw, bytes):
                continue
            out.append(Message(uid, _key(raw, self.uidvalidity, uid), raw))
        return out

    def acknowledge(self, uids: list[int]) -> None:
        """Mark `uids` read, or move them to `move_to`."""
        if not uids:
            return
        ids = ",".join(str(u) for u in uids)
        if self.box.move_to is None:
            self._uid("STORE", ids, "+FLAGS.SILENT", "(\\Seen)")
            return
        self._uid("STORE", ids, "+FLAGS.SILENT", "(\\Seen)")
        if "MOVE" in self.conn.capabilities:
            self._uid("MOVE", ids, _quote(self.box.move_to))
            return
        self._uid("COPY", ids, _quote(self.box.move_to))
        self._uid("STORE", ids, "+FLAGS.SILENT", "(\\Deleted)")
        self.conn.expunge()


def _size(data: list[Any]) -> int:
    for item in data:
        blob = item[0] if isinstance(item, tuple) else item
        if isinstance(blob, bytes) and (m := _SIZE.search(blob)):
            return int(m.group(2) or m.group(3))
    return 0


def _key(raw: bytes, uidvalidity: int, uid: int) -> str:
    head = email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n",
                                    policy=email.policy.compat32)
    mid = (head.get("Message-ID") or "").strip()
    return f"mid:{mid}" if mid else f"uid:{uidvalidity}:{uid}"


def _context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _network_error(source: Source, exc: BaseException) -> FetchError:
    box = _box(source)
    if isinstance(exc, TimeoutError | socket.timeout):
        kind = "timeout"
    elif isinstance(exc, ConnectionRefusedError):
        kind = "refused"
    elif isinstance(exc, ssl.SSLError):
        kind = "tls"
    else:
        kind = "connect"
    return FetchError(f"source {source.id}: cannot reach IMAP server {_where(box)}: {exc}",
                      kind=kind, url=source.url)


async def _address(source: Source, pipeline: Pipeline) -> str:
    box = _box(source)
    guard = AddressGuard(allow_private=source.allow_private_addresses,
                         allowed_networks=pipeline.fetcher.allowed_networks)
    try:
        return (await guard.permitted(box.host, box.port))[0]
    except Blocked as exc:
        raise FetchError(f"source {source.id}: {exc}", kind="blocked_address",
                         url=source.url) from None
    except DnsFailed as exc:
        raise FetchError(f"source {source.id}: {exc}", kind="dns", url=source.url) from None


def candidate(source: Source, message: Message) -> Candidate:
    """A message as a statement candidate: subject, date, sender, and its HTML (or text)."""
    msg = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    subject = " ".join(str(msg.get("Subject") or "").split())
    published = None
    with contextlib.suppress(TypeError, ValueError, IndexError):
        published = parsedate_to_datetime(str(msg.get("Date"))).astimezone(UTC)
    name, addr = parseaddr(str(msg.get("From") or ""))
    page_html = content_html = None
    html_part = msg.get_body(preferencelist=("html",))
    if html_part is not None:
        page_html = _decoded(html_part)
    else:
        text_part = msg.get_body(preferencelist=("plain",))
        if text_part is not None:
            content_html = paragraphs_html(_decoded(text_part).splitlines())
    anchor = hashlib.sha256(message.key.encode("utf-8")).hexdigest()[:16]
    return Candidate(key=message.key, url=f"{source.url}#msg-{anchor}", title=subject or None,
                     published=published, content_html=content_html, page_html=page_html,
                     author=name or addr or None, complete=True)


def _decoded(part: Any) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError):      # an unknown charset: keep what decodes
        payload = part.get_payload(decode=True) or b""
        return bytes(payload).decode("utf-8", "replace")


def _read(source: Source, password: str, address: str) -> tuple[int, list[Message]]:
    session = Session(source, password, address)
    try:
        return session.uidvalidity, session.unread()
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _network_error(source, exc) from exc
    finally:
        session.close()


def _acknowledge(source: Source, password: str, address: str, uidvalidity: int,
                 uids: list[int]) -> None:
    session = Session(source, password, address)
    try:
        if session.uidvalidity != uidvalidity:
            # the folder was rebuilt: these UIDs name other messages now; the next poll
            # reads them again and finds them stored
            log.warning("source %s: UIDVALIDITY changed; not marking messages", source.id)
            return
        session.acknowledge(uids)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _network_error(source, exc) from exc
    finally:
        session.close()


async def read(pipeline: Pipeline, source: Source, state: SourceState) -> ChannelListing:
    """The unread messages of the source's folder; `settle` marks those stored."""
    password = password_for(source)
    address = await _address(source, pipeline)
    uidvalidity, messages = await asyncio.to_thread(_read, source, password, address)
    candidates = [candidate(source, m) for m in messages]

    async def settle(done: set[str]) -> None:
        uids = [m.uid for m in messages if m.key in done]
        await acknowledge(source, password, address, uidvalidity, uids)

    return ChannelListing(candidates, settle=settle)


async def acknowledge(source: Source, password: str, address: str, uidvalidity: int,
                      uids: list[int]) -> None:
    """Mark stored messages read (or move them); separate so a crash here can be tested."""
    await asyncio.to_thread(_acknowledge, source, password, address, uidvalidity, uids)


async def preview(pipeline: Pipeline, source: Source) -> list[Candidate]:
    """The unread messages, newest first, left unread (no database, nothing marked)."""
    password = password_for(source)
    address = await _address(source, pipeline)
    _uidvalidity, messages = await asyncio.to_thread(_read, source, password, address)
    return [candidate(source, m) for m in messages]
