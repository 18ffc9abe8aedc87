"""`kind: imap`: newsletters read from a real Dovecot on loopback, through the real pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from collector.scheduler import LEASE_S
from tests.helpers import load, poll, store_of
from tests.imapd import Dovecot, available

PASSWORD_ENV = "NEWS_IMAP_PASSWORD"
WHEN = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
PARAGRAPHS = [
    "The harbour union has called all members to a meeting on Thursday evening to decide "
    "whether the strike goes on into its second week.",
    "The employers answered none of the demands: a shorter week, full crews on every ship, "
    "and the reinstatement of the two stewards dismissed in January.",
    "Strike pay will be paid on Friday at the union hall from nine in the morning.",
]

PLAIN = ["The collection for the strike fund reached its target on Sunday night.",
         "Thank you to everyone who gave."]


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    why = available()
    if why:
        pytest.skip(why)
    server = Dovecot()
    server.add_user("news", "s3cret-pass")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def newsletter(subject: str, *, html: bool = True, paragraphs: list[str] = PARAGRAPHS
               ) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Harbour Union <news@harbour.example>"
    msg["To"] = "news@collector.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(WHEN)
    msg["Message-ID"] = make_msgid(domain="harbour.example")
    msg.set_content("\n\n".join(paragraphs))
    if html:
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        msg.add_alternative(f"""<!doctype html><html><head><title>{subject}</title></head>
<body><table width="100%"><tr><td><a href="https://harbour.example/view">View in your
browser</a></td></tr><tr><td><div class="newsletter-body"><h1>{subject}</h1>{body}</div>
</td></tr><tr><td class="footer"><a href="https://harbour.example/unsubscribe">Unsubscribe</a>
</td></tr></table></body></html>""", subtype="html")
    return bytes(msg)


def source(server, *, folder: str = "INBOX", extra: str = "") -> str:  # type: ignore[no-untyped-def]
    return f"""sources:
  - id: letters
    kind: imap
    imap:
      host: 127.0.0.1
      port: {server.port}
      user: news
      folder: {folder}
      security: none
      password_env: {PASSWORD_ENV}
{extra}"""


def test_new_mail_is_stored_then_marked_read_and_never_taken_twice(tmp_path, dovecot,
                                                                   monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pass")
    dovecot.deliver("news", newsletter("Strike meeting on Thursday"))
    dovecot.deliver("news", newsletter("Plain update", html=False, paragraphs=PLAIN))
    config = load(tmp_path, source(dovecot))
    (_, outcome), = poll(config)
    assert outcome.ok, outcome.error
    assert outcome.new_documents == 2 and outcome.method == "imap"
    docs = {d.title: d for d in store_of(config).iter_documents()}
    meeting = docs["Strike meeting on Thursday"]
    for paragraph in PARAGRAPHS:
        assert paragraph in meeting.text
    assert "Unsubscribe" not in meeting.text
    assert meeting.published_at == WHEN
    assert meeting.author == "Harbour Union"
    assert docs["Plain update"].text.strip().split("\n\n")[1:] == PLAIN
    assert all("\\Seen" in f for f in dovecot.flags("news").values())

    (_, again), = poll(config)
    assert again.ok and again.new_documents == 0 and again.duplicates == 0

    dovecot.deliver("news", newsletter("Strike pay on Friday",
                                       paragraphs=["Strike pay is paid on Friday at nine."]))
    (_, later), = poll(config)
    assert later.new_documents == 1
    assert len(list(store_of(config).iter_documents())) == 3


def test_messages_can_be_moved_to_a_folder_once_stored(tmp_path, dovecot, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pass")
    dovecot.create("news", "Collected")
    dovecot.deliver("news", newsletter("Strike meeting on Thursday"))
    config = load(tmp_path, source(dovecot).replace(
        f"      password_env: {PASSWORD_ENV}\n",
        f"      password_env: {PASSWORD_ENV}\n      move_to: Collected\n"))
    (_, outcome), = poll(config)
    assert outcome.new_documents == 1
    assert dovecot.flags("news") == {}
    assert set(dovecot.flags("news", "Collected")) == {"Strike meeting on Thursday"}


CRASHING_POLL = """
import os, sys
from collector.channels import imap

async def crash(*args, **kwargs):
    os._exit(3)            # the process dies after storing, before marking anything read

imap.acknowledge = crash
from collector.cli import main
sys.exit(main(["--config", sys.argv[1], "poll"]))
"""


def test_a_crash_between_storing_and_marking_read_loses_nothing_and_takes_nothing_twice(
        tmp_path, dovecot, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pass")
    dovecot.deliver("news", newsletter("Strike meeting on Thursday"))
    config = load(tmp_path, source(dovecot))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    crashed = subprocess.run([sys.executable, "-c", textwrap.dedent(CRASHING_POLL),
                              str(tmp_path / "sources.yaml")], cwd=tmp_path, env=env,
                             capture_output=True, timeout=120, check=False)
    assert crashed.returncode == 3, crashed.stderr.decode()[-2000:]
    # stored, but still unread on the server
    assert [d.title for d in store_of(config).iter_documents()] == \
        ["Strike meeting on Thursday"]
    assert dovecot.flags("news") == {"Strike meeting on Thursday": {"\\Recent"}} or \
        "\\Seen" not in dovecot.flags("news")["Strike meeting on Thursday"]

    # the next poll comes after the dead process's lease on the source has run out (on
    # SQLite a new process clears it at once; on PostgreSQL it runs out after LEASE_S)
    after_lease = datetime.now(UTC) + timedelta(seconds=LEASE_S + 60)
    (_, outcome), = poll(config, clock=lambda: after_lease)
    assert outcome.ok and outcome.new_documents == 0
    assert [d.title for d in store_of(config).iter_documents()] == \
        ["Strike meeting on Thursday"]
    assert "\\Seen" in dovecot.flags("news")["Strike meeting on Thursday"]


def test_a_bad_password_fails_the_poll_naming_the_source_and_marks_nothing(
        tmp_path, dovecot, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    dovecot.deliver("news", newsletter("Strike meeting on Thursday"))
    config = load(tmp_path, source(dovecot))
    (_, outcome), = poll(config)
    assert not outcome.ok and outcome.error_kind == "auth"
    assert "source letters" in (outcome.error or "") and "news@127.0.0.1" in (outcome.error or "")
    assert "wrong" not in (outcome.error or "")
    assert "\\Seen" not in dovecot.flags("news")["Strike meeting on Thursday"]


def test_a_missing_folder_fails_the_poll_naming_it(tmp_path, dovecot, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pass")
    config = load(tmp_path, source(dovecot, folder="Newsletters"))
    (_, outcome), = poll(config)
    assert not outcome.ok and outcome.error_kind == "imap_folder"
    assert "'Newsletters'" in (outcome.error or "")


def test_an_unset_password_variable_is_named(tmp_path, dovecot, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    config = load(tmp_path, source(dovecot))
    (_, outcome), = poll(config)
    assert not outcome.ok and outcome.error_kind == "auth"
    assert PASSWORD_ENV in (outcome.error or "")


def test_a_private_imap_host_is_refused_unless_allowed(tmp_path, dovecot, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pass")
    config = load(tmp_path, source(dovecot, extra="    allow_private_addresses: false\n"))
    (_, outcome), = poll(config)
    assert not outcome.ok and outcome.error_kind == "blocked_address"


def test_config_requires_the_imap_block_and_never_a_password(tmp_path):
    from collector.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load(tmp_path, """sources:
  - id: a
    kind: imap
  - id: b
    kind: imap
    imap: {host: mail.example, user: u, password: hunter2}
""")
    text = str(caught.value)
    assert "needs an 'imap:' block" in text
    assert "unknown key 'password'" in text


def test_a_message_without_message_id_is_keyed_by_its_uid_and_taken_once(
        tmp_path, dovecot, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pass")
    raw = newsletter("No identity", html=False, paragraphs=PLAIN)
    raw = b"\r\n".join(line for line in raw.replace(b"\r\n", b"\n").split(b"\n")
                       if not line.lower().startswith(b"message-id:"))
    dovecot.deliver("news", raw)
    config = load(tmp_path, source(dovecot))
    (_, outcome), = poll(config)
    assert outcome.new_documents == 1
    (_, again), = poll(config)
    assert again.new_documents == 0 and again.duplicates == 0
    docs = list(store_of(config).iter_documents())
    assert len(docs) == 1 and docs[0].title == "No identity"
