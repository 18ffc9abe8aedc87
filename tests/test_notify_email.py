"""Digest delivery over a real SMTP server on loopback that refuses, defers, rejects and drops.

The outbox here is an in-memory stand-in that keeps the protocol of collector.notify.run
(claimed batches keep their run key until marked delivered); the point under test is that
after every fault and its recovery each statement has reached the server, and none twice
except where the server kept a message whose acceptance the client never heard of (or the
process died between delivery and marking) -- and then with the same Message-ID.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from collector import limits
from collector.errors import DeliveryError
from collector.notify import DigestItem
from collector.notify.email import SmtpSettings, send
from collector.notify.render import render_email
from collector.notify.retry import RetryState, after_failure, after_success, released
from collector.notify.run import Batch, run_digest

try:  # the fixture module, wherever the tests directory sits on sys.path
    from tests.smtpd import (
        PASSWORD,
        USER,
        FaultySmtpServer,
        make_smtp_server,
        smtp_certificate,
        smtp_server,
    )
except ImportError:
    from smtpd import (  # type: ignore[no-redef]  # noqa: F401
        PASSWORD,
        USER,
        FaultySmtpServer,
        make_smtp_server,
        smtp_certificate,
        smtp_server,
    )

T0 = datetime(2024, 5, 1, 5, 0, tzinfo=UTC)
URL = re.compile(rb"https://example\.org/s/([0-9a-f]{16})")


def item(n: int) -> DigestItem:
    return DigestItem(id=f"{n:016x}", seq=n, title=f"Statement {n}", source_id="src",
                      source_name="Ministry", url=f"https://example.org/s/{n:016x}",
                      published=T0, collected=T0, blocks=(f"Text of statement {n}.",))


def settings_for(server: FaultySmtpServer, **kw) -> SmtpSettings:
    base = dict(host=server.host, port=server.port, security=server.tls,
                username=USER if server.users else None,
                password=PASSWORD if server.users else None,
                sender="digests@example.org", timeout_s=5.0, ca_file=server.ca_file)
    base.update(kw)
    return SmtpSettings(**base)


def message(n: int = 1):
    return render_email("d", [item(n)], [], run_key="k", full_text=True, template_dir=None,
                        now=T0, sender="digests@example.org", recipients=["r@example.com"])


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the run may swallow it)."""


class MemoryOutbox:
    """Durable state of one digest as the store would keep it."""

    def __init__(self) -> None:
        self.pending: list[DigestItem] = []
        self.batch: Batch | None = None
        self.retry = RetryState()
        self.runs = 0
        self.crash_before_mark = False

    def add(self, *items: DigestItem) -> None:
        self.pending.extend(items)

    def claim(self, digest_id, *, limit, now):
        if self.batch is None and self.pending:
            self.runs += 1
            self.batch = Batch(run_key=f"run-{self.runs}", items=tuple(self.pending[:limit]))
        return self.batch

    def delivered(self, digest_id, batch, *, now):
        if self.crash_before_mark:
            self.crash_before_mark = False
            raise Crash
        done = {i.id for i in batch.items}
        self.pending = [i for i in self.pending if i.id not in done]
        self.batch = None
        self.retry = after_success(self.retry)

    def failed(self, digest_id, batch, error, *, now):
        self.retry = after_failure(self.retry, temporary=error.temporary, error=str(error),
                                   now=now)


def run(outbox: MemoryOutbox, smtp: SmtpSettings, now: datetime, *, batch_items: int = 3):
    def render(batch: Batch):
        return render_email("d", batch.items, batch.health_notes, run_key=batch.run_key,
                            full_text=True, template_dir=None, now=now,
                            sender=smtp.sender, recipients=["reader@example.com"])

    return run_digest("d", outbox, render=render, transport=lambda m: send(m, smtp), now=now,
                      batch_items=batch_items)


def deliveries(server: FaultySmtpServer) -> tuple[Counter, dict[str, set[str]]]:
    """How often each statement reached the server, and under which Message-IDs."""
    seen: Counter = Counter()
    ids: dict[str, set[str]] = {}
    for m in server.messages:
        in_message = {d.decode() for d in URL.findall(m.message().get_body(("plain",))
                                                      .get_content().encode())}
        for doc_id in in_message:
            seen[doc_id] += 1
            ids.setdefault(doc_id, set()).add(m.message_id)
    return seen, ids


def drive(outbox, smtp, now, *, until_empty: bool, steps: int = 30) -> datetime:
    """Scheduler stand-in: run whenever the retry state says the digest is due."""
    for _ in range(steps):
        if outbox.retry.due(now):
            try:
                run(outbox, smtp, now)
            except Crash:
                pass                                    # restart: durable state stays
        if until_empty and not outbox.pending:
            return now
        now += timedelta(seconds=limits.DIGEST_RETRY_MAX_S)
    return now


FAULTS = [
    ("refuse", {}), ("mail", {"code": 421}), ("rcpt", {"code": 450}), ("rcpt", {"code": 451}),
    ("rcpt", {"code": 421}), ("data", {"code": 451}), ("data", {"code": 421}),
    ("drop_after_data", {}), ("lose_reply", {"times": 1}),
]


@pytest.mark.parametrize("fault,args", FAULTS, ids=[f"{f}-{a.get('code', '')}"
                                                     for f, a in FAULTS])
def test_every_statement_arrives_once_after_fault_and_recovery(smtp_server, fault, args):
    outbox = MemoryOutbox()
    smtp = settings_for(smtp_server)
    now = T0
    outbox.add(item(1), item(2))
    now = drive(outbox, smtp, now, until_empty=True)          # healthy first
    if fault == "refuse":
        smtp_server.stop()
    else:
        smtp_server.fail(fault, **args)
    outbox.add(*(item(n) for n in range(3, 9)))
    # A fault limited to `times` messages is checked right after it struck.
    now = drive(outbox, smtp, now, until_empty=False, steps=1 if "times" in args else 3)
    assert {i.id for i in outbox.pending} >= {item(n).id for n in range(3, 9)}, \
        "nothing is marked delivered while the server fails"
    assert not outbox.retry.quarantined
    if fault == "refuse":
        smtp_server.start()
    else:
        smtp_server.heal()
    outbox.add(item(9))
    drive(outbox, smtp, now, until_empty=True)
    assert outbox.pending == []
    seen, ids = deliveries(smtp_server)
    assert set(seen) == {item(n).id for n in range(1, 10)}
    if fault == "lose_reply":
        # The server kept the message but its one reply was lost: one repeat, same Message-ID.
        assert max(seen.values()) == 2
        assert all(len(v) == 1 for v in ids.values())
    else:
        assert max(seen.values()) == 1


def test_crash_between_delivery_and_marking_repeats_once_with_same_message_id(smtp_server):
    outbox = MemoryOutbox()
    smtp = settings_for(smtp_server)
    outbox.add(*(item(n) for n in range(1, 5)))
    outbox.crash_before_mark = True
    with pytest.raises(Crash):
        run(outbox, smtp, T0, batch_items=10)
    assert len(outbox.pending) == 4                      # nothing marked
    run(outbox, smtp, T0 + timedelta(minutes=1), batch_items=10)
    assert outbox.pending == []
    seen, _ = deliveries(smtp_server)
    assert set(seen.values()) == {2}
    assert len(smtp_server.messages) == 2
    assert len({m.message_id for m in smtp_server.messages}) == 1


def test_large_backlog_goes_out_in_several_messages(smtp_server):
    outbox = MemoryOutbox()
    outbox.add(*(item(n) for n in range(1, 8)))
    report = run(outbox, settings_for(smtp_server), T0, batch_items=3)
    assert report.messages_sent == 3 and report.items_delivered == 7
    seen, _ = deliveries(smtp_server)
    assert len(seen) == 7 and max(seen.values()) == 1


def test_nothing_pending_sends_nothing(smtp_server):
    report = run(MemoryOutbox(), settings_for(smtp_server), T0)
    assert report.messages_sent == 0 and smtp_server.messages == []


def test_poison_digest_is_quarantined_while_others_flow(make_smtp_server):
    rejecting = make_smtp_server(tls="none")
    healthy = make_smtp_server(tls="none")
    rejecting.fail("data", code=552)
    poison, good = MemoryOutbox(), MemoryOutbox()
    poison.add(item(1))
    now = T0
    for wave in range(6):
        good.add(item(100 + wave))
        for outbox, server in ((poison, rejecting), (good, healthy)):
            if outbox.retry.due(now):
                run(outbox, settings_for(server), now)
        now += timedelta(seconds=limits.DIGEST_RETRY_MAX_S)
    assert poison.retry.quarantined
    assert rejecting.faults_hit == limits.DIGEST_POISON_FAILURES   # not retried after that
    assert [i.id for i in poison.pending] == [item(1).id]           # kept, not lost
    assert good.pending == [] and len(deliveries(healthy)[0]) == 6
    # Fixed and sent by hand: it goes out.
    rejecting.heal()
    poison.retry = released(poison.retry)
    run(poison, settings_for(rejecting), now)
    assert poison.pending == [] and len(rejecting.messages) == 1


# --- the SMTP client on its own --------------------------------------------------------------

def test_starttls_with_login_delivers_and_records_message_id(smtp_server):
    result = send(message(), settings_for(smtp_server))
    assert smtp_server.message_ids() == [result.message_id]
    assert smtp_server.messages[0].rcpt_tos == ("r@example.com",)
    assert smtp_server.messages[0].mail_from == "digests@example.org"


def test_implicit_tls_delivers(make_smtp_server):
    server = make_smtp_server(tls="tls", users={USER: PASSWORD})
    send(message(), settings_for(server))
    assert len(server.messages) == 1


def test_starttls_required_but_not_offered_is_refused_before_sending(make_smtp_server):
    server = make_smtp_server(tls="none")
    with pytest.raises(DeliveryError) as info:
        send(message(), settings_for(server, security="starttls", username=None))
    assert "STARTTLS" in str(info.value) and not info.value.temporary
    assert server.messages == []


def test_untrusted_certificate_is_refused(smtp_server):
    with pytest.raises(DeliveryError) as info:
        send(message(), settings_for(smtp_server, ca_file=None))
    assert not info.value.temporary and smtp_server.messages == []


def test_wrong_password_is_a_permanent_failure(smtp_server):
    with pytest.raises(DeliveryError) as info:
        send(message(), settings_for(smtp_server, password="wrong"))
    assert not info.value.temporary and smtp_server.messages == []


def test_password_is_never_sent_in_clear_to_a_remote_host():
    with pytest.raises(DeliveryError) as info:
        send(message(), SmtpSettings(host="mail.example.org", security="none",
                                     username="u", password="p"))
    assert not info.value.temporary


def test_password_is_not_shown_in_settings_repr():
    assert "hunter2" not in repr(SmtpSettings(host="h", password="hunter2"))


@pytest.mark.parametrize("stage,code,temporary", [
    ("rcpt", 450, True), ("rcpt", 550, False), ("data", 451, True), ("data", 552, False),
    ("mail", 421, True), ("mail", 553, False),
])
def test_reply_codes_are_classified(smtp_server, stage, code, temporary):
    smtp_server.fail(stage, code=code)
    with pytest.raises(DeliveryError) as info:
        send(message(), settings_for(smtp_server))
    assert info.value.temporary is temporary and str(code) in str(info.value)
    assert smtp_server.messages == []


def test_refused_connection_is_temporary(smtp_server):
    smtp_server.stop()
    with pytest.raises(DeliveryError) as info:
        send(message(), settings_for(smtp_server))
    assert info.value.temporary


def test_server_that_stalls_after_data_times_out_as_temporary(smtp_server):
    smtp_server.fail("stall", seconds=3)
    with pytest.raises(DeliveryError) as info:
        send(message(), settings_for(smtp_server, timeout_s=0.5))
    assert info.value.temporary


def test_no_smtp_host_is_a_permanent_failure():
    with pytest.raises(DeliveryError) as info:
        send(message(), SmtpSettings(host=None))
    assert not info.value.temporary
