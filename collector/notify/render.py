"""A digest run as an email: multipart/alternative, a text/plain and a text/html part.

Both parts come from Jinja2 templates (collector/templates/digest.txt.j2 and digest.html.j2),
which a user may override by putting files of the same names in a template directory. Every
template runs in an immutable sandbox (a user template cannot reach Python internals) with
undefined names as errors. The HTML environment autoescapes unconditionally, whatever a
template is called; the text environment does not escape, because its output is only ever
sent as text/plain, where an escaped `&amp;` would be a corruption, not a protection.

Headers are built here and only here: every value is stripped of line breaks and control
characters, and literal encoded-word openers (`=?`) are broken up, so no title, organisation
or address can add a header or fold into one (Python's email package before 3.11.10 turns a
literal `=?utf-8?q?=0A?=` into a real line break when folding).

The Message-ID is derived from the digest id and the run key, so sending the same run again
after a crash carries the same Message-ID and mail clients can recognise the repeat.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from collector import limits
from collector.errors import ConfigError
from collector.notify import ChangeNote, DigestItem, SourceHealthNote

#: The built-in templates; a user's template directory is searched first.
BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEXT_TEMPLATE = "digest.txt.j2"
HTML_TEMPLATE = "digest.html.j2"
#: Subjects longer than this are cut: mail clients show less anyway.
MAX_SUBJECT_CHARS = 200

#: Everything that a mail parser or str.splitlines() may take as the end of a line, and every
#: other control or format character that has no business in a header.
_HEADER_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\ufeff]+")
_SPACES = re.compile(r"\s+")
#: Lone surrogates cannot be encoded as UTF-8 at all; they become U+FFFD.
_SURROGATES = re.compile("[\ud800-\udfff]")


def _encodable(value: str) -> str:
    return _SURROGATES.sub("\ufffd", value)


def header_value(value: str, *, limit: int = 998) -> str:
    """A string safe to put in one header: one line, no controls, no encoded-word opener."""
    value = _HEADER_BREAKS.sub(" ", _encodable(value))
    value = _SPACES.sub(" ", value).strip()
    # A literal "=?" would be taken for the start of an RFC 2047 encoded word; the
    # word joiner keeps the text visible but stops it from being decoded as one.
    value = value.replace("=?", "=\u2060?")
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def safe_url(url: str | None) -> str:
    """The URL if it is an absolute http(s) URL without breaks, else "" (rendered as no link)."""
    if not url or _HEADER_BREAKS.search(url) or any(c.isspace() for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def message_id(digest_id: str, run_key: str, sender: str) -> str:
    """`<digest.HASH@domain>`: the same for the same digest and run, different otherwise."""
    digest = hashlib.sha256(f"{digest_id}\x00{run_key}".encode()).hexdigest()[:32]
    domain = parseaddr(sender)[1].rpartition("@")[2]
    domain = re.sub(r"[^A-Za-z0-9.-]", "", domain).strip(".") or "collector.localhost"
    return f"<digest.{digest}@{domain}>"


def run_key_for(item_ids: Sequence[str], health: Sequence[SourceHealthNote] = ()) -> str:
    """A run key derived from what a run carries, for stores that do not keep one per batch.

    Stable only while the batch is: a store that lets new entries join a pending batch between
    attempts should keep the key it chose at the first attempt instead.
    """
    h = hashlib.sha256()
    for doc_id in sorted(item_ids):
        h.update(doc_id.encode() + b"\n")
    for note in health:
        h.update(f"{note.source_id}:{note.state}:{note.since.isoformat()}\n".encode())
    return h.hexdigest()[:24]


# --- what templates see --------------------------------------------------------------------

@dataclass(frozen=True)
class LinkView:
    name: str
    url: str                      # "" when not a safe http(s) URL


@dataclass(frozen=True)
class ItemView:
    id: str
    title: str
    source_name: str
    url: str                      # "" when not a safe http(s) URL
    date: str                     # published date, or collected date
    date_is_collected: bool
    also_published: tuple[LinkView, ...]
    paragraphs: tuple[str, ...]
    more: int                     # paragraphs left out
    number: int = 0               # 1, 2, … in the order of the message
    anchor: str = ""              # id of the statement in the HTML part ("s1", "s2", …)
    stored_url: str = ""          # its page on this service, when public_url is set
    tags: tuple[str, ...] = ()
    host: str = ""                # the original's host name, for link text


@dataclass(frozen=True)
class GroupView:
    heading: str                  # "" when the digest is not grouped
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class DigestAbout:
    """What the footer says about a digest: which one, why the reader gets it, how to change
    it."""

    id: str
    title: str
    selection: str                # "every statement", "statements tagged gaza", …
    schedule: str                 # "every morning at 07:00 (Europe/Berlin)", …
    timezone: str
    public_url: str = ""


@dataclass(frozen=True)
class NoteView:
    source_name: str
    state: str
    since: str
    error: str


@dataclass(frozen=True)
class ChangeView:
    """A statement found edited, removed or restored, as a digest shows it."""

    kind: str                     # edited | removed | restored
    label: str                    # "Edited", "Removed", "Back again"
    title: str
    source_name: str
    url: str                      # "" when not a safe http(s) URL
    at: str
    reason: str
    status: str                   # "HTTP 404", "" when none
    final_url: str                # "" when none, unsafe, or the statement's own URL
    stored_url: str = ""


_CHANGE_LABELS = {"edited": "Edited", "removed": "Removed", "restored": "Back again"}


def _change_view(c: ChangeNote, tz: tzinfo, public_url: str) -> ChangeView:
    final = safe_url(c.final_url) if c.final_url and c.final_url != c.url else ""
    return ChangeView(kind=c.kind, label=_CHANGE_LABELS[c.kind], title=c.title,
                      source_name=c.source_name, url=safe_url(c.url),
                      at=_local(c.at, tz).strftime("%Y-%m-%d %H:%M"), reason=c.reason,
                      status=f"HTTP {c.status}" if c.status else "", final_url=final,
                      stored_url=stored_url(public_url, c.document_id))


def _local(dt: datetime, tz: tzinfo) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(tz)


def _item_view(item: DigestItem, *, full_text: bool, paragraphs: int, tz: tzinfo) -> ItemView:
    shown = item.blocks if full_text else item.blocks[: max(paragraphs, 0)]
    when = item.published or item.collected
    return ItemView(
        id=item.id, title=item.title, source_name=item.source_name, url=safe_url(item.url),
        date=_local(when, tz).strftime("%Y-%m-%d"), date_is_collected=item.published is None,
        also_published=tuple(LinkView(name=n, url=safe_url(u)) for n, u in item.also_published),
        paragraphs=tuple(shown), more=len(item.blocks) - len(shown), tags=item.tags,
        host=(urlsplit(item.url).hostname or "") if safe_url(item.url) else "",
    )


def _groups(items: Sequence[ItemView], group_by: str | None) -> list[GroupView]:
    """The items under headings: by organisation or by (first) tag, headings in alphabetical
    order and items in their order within each; one group without heading otherwise."""
    if group_by not in ("organisation", "tag"):
        return [GroupView("", tuple(items))] if items else []
    groups: dict[str, list[ItemView]] = {}
    for item in items:
        if group_by == "organisation":
            key = item.source_name
        else:
            key = sorted(item.tags)[0] if item.tags else "no tag"
        groups.setdefault(key, []).append(item)
    return [GroupView(k, tuple(v)) for k, v in sorted(groups.items(),
                                                      key=lambda kv: kv[0].casefold())]


def stored_url(public_url: str | None, doc_id: str) -> str:
    """The statement's page on this service, or "" without a public URL."""
    if not public_url:
        return ""
    return safe_url(f"{public_url.rstrip('/')}/d/{doc_id}")


def _note_view(note: SourceHealthNote, tz: tzinfo) -> NoteView:
    return NoteView(source_name=note.source_name, state=note.state,
                    since=_local(note.since, tz).strftime("%Y-%m-%d %H:%M %Z"),
                    error=note.error or "")


# --- templates -----------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _environments(template_dir: Path | None) -> tuple[jinja2.Environment, jinja2.Environment]:
    search = [str(template_dir)] if template_dir is not None else []
    search.append(str(BUILTIN_TEMPLATES))
    common = dict(loader=jinja2.FileSystemLoader(search), undefined=jinja2.StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    text_env = ImmutableSandboxedEnvironment(autoescape=False, **common)
    html_env = ImmutableSandboxedEnvironment(autoescape=True, **common)
    return text_env, html_env


def _render(env: jinja2.Environment, name: str, context: dict) -> str:
    try:
        return env.get_template(name).render(context)
    except SecurityError as exc:
        raise ConfigError([f"template {name}: not allowed in a template: {exc}"]) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError([f"template {exc.filename or name}, line {exc.lineno}: "
                           f"{exc.message}"]) from exc
    except jinja2.TemplateError as exc:
        raise ConfigError([f"template {name}: {exc}"]) from exc


def subject_for(title: str, items: Sequence[DigestItem],
                health_notes: Sequence[SourceHealthNote],
                changes: Sequence[ChangeNote] = ()) -> str:
    if not items and changes:
        kinds = {c.kind for c in changes}
        what = " and ".join(k for k in ("edited", "removed", "restored") if k in kinds)
        n = len(changes)
        subject = f"{title}: {n} statement{'s' if n != 1 else ''} {what}"
    elif len(items) == 1:
        subject = f"{title}: {items[0].source_name}: {items[0].title}"
    elif items:
        subject = f"{title}: {len(items)} new statements"
    else:
        subject = f"{title}: source health"
    return header_value(subject, limit=MAX_SUBJECT_CHARS)


def render_parts(digest_id: str, items: Sequence[DigestItem],
                 health_notes: Sequence[SourceHealthNote], *, full_text: bool,
                 paragraphs: int = limits.DIGEST_DEFAULT_PARAGRAPHS,
                 template_dir: Path | None = None, now: datetime,
                 title: str | None = None, tz: tzinfo = UTC, group_by: str | None = None,
                 about: DigestAbout | None = None,
                 changes: Sequence[ChangeNote] = ()) -> tuple[str, str]:
    """The text and HTML bodies of a digest, times in `tz` (the digest's time zone)."""
    views = [_item_view(i, full_text=full_text, paragraphs=paragraphs, tz=tz) for i in items]
    groups = _groups(views, group_by)
    # numbered in the order the message shows them, grouped or not
    numbered: list[ItemView] = []
    public = about.public_url if about is not None else ""
    for g in groups:
        for v in g.items:
            n = len(numbered) + 1
            numbered.append(replace(v, number=n, anchor=f"s{n}",
                                    stored_url=stored_url(public, v.id)))
    by_id = {v.id: v for v in numbered}
    groups = [GroupView(g.heading, tuple(by_id[v.id] for v in g.items)) for g in groups]
    context = {
        "digest_id": digest_id,
        "title": title or digest_id,
        "items": numbered,
        "groups": groups,
        "grouped": bool(group_by) and bool(groups),
        "about": about or DigestAbout(digest_id, title or digest_id, "", "", str(tz)),
        "health_notes": [_note_view(n, tz) for n in health_notes],
        "changes": [_change_view(c, tz, public) for c in changes],
        "full_text": full_text,
        "now": _local(now, tz).strftime("%Y-%m-%d %H:%M %Z"),
    }
    text_env, html_env = _environments(template_dir)
    return (_encodable(_render(text_env, TEXT_TEMPLATE, context)),
            _encodable(_render(html_env, HTML_TEMPLATE, context)))


def render_email(digest_id: str, items: Sequence[DigestItem],
                 health_notes: Sequence[SourceHealthNote], *, run_key: str, full_text: bool,
                 paragraphs: int = limits.DIGEST_DEFAULT_PARAGRAPHS,
                 template_dir: Path | None, now: datetime, sender: str,
                 recipients: Sequence[str], title: str | None = None,
                 tz: tzinfo = UTC, group_by: str | None = None,
                 about: DigestAbout | None = None,
                 changes: Sequence[ChangeNote] = ()) -> EmailMessage:
    """The digest message for one run; the same digest, run key and content give the same
    Message-ID and bodies."""
    if not recipients:
        raise ConfigError([f"digest '{digest_id}': no recipients"])
    text, html = render_parts(digest_id, items, health_notes, full_text=full_text,
                              paragraphs=paragraphs, template_dir=template_dir, now=now,
                              title=title, tz=tz, group_by=group_by, about=about,
                              changes=changes)
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject_for(header_value(title or digest_id), items, health_notes,
                                 changes)
    msg["From"] = _address_header(sender)
    msg["To"] = ", ".join(_address_header(r) for r in recipients)
    # in the digest's time zone, like the times in its body
    msg["Date"] = format_datetime(_local(now, tz))
    msg["Message-ID"] = message_id(digest_id, run_key, sender)
    msg["X-Collector-Digest"] = header_value(digest_id, limit=100)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def _address_header(addr: str) -> str:
    """One address, checked: exactly one mailbox, no line breaks."""
    clean = header_value(addr)
    found = getaddresses([clean])
    if len(found) != 1 or "@" not in found[0][1]:
        raise ConfigError([f"{addr!r} is not one e-mail address"])
    return clean


def envelope_recipients(message: EmailMessage) -> list[str]:
    """The bare addresses in a message's To and Cc headers (for the SMTP envelope)."""
    fields = [str(v) for h in ("To", "Cc") for v in message.get_all(h, [])]
    return [a for _, a in getaddresses(fields) if a]


def check_templates(template_dir: Path | None, *, now: datetime) -> list[str]:
    """Problems rendering the (user's) templates with a sample digest; empty when fine."""
    sample = DigestItem(
        id="0" * 16, seq=0, title="Sample statement", source_id="sample",
        source_name="Sample organisation", url="https://example.org/statement", published=now,
        collected=now, blocks=("First paragraph.", "Second paragraph."),
        also_published=(("Other organisation", "https://example.net/s"),), updated=now)
    note = SourceHealthNote(source_name="Sample source", state="broken", since=now,
                            error="timeout", source_id="sample")
    try:
        render_parts("sample", [sample], [note], full_text=False, template_dir=template_dir,
                     now=now)
    except ConfigError as exc:
        return exc.problems
    return []
