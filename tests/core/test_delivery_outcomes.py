"""The sender (core.delivery) against a real SMTP server on loopback (tests/delivery/relay.py)
whose answers depend on the address, here so that CI runs its SQL on PostgreSQL 15 too:
the database after each (statuses, attempts, errors, bounce events, suppressions, counters
equal to a recount) and the messages the server received, parsed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.events import recipient_timeline
from core.tracking.ids import message_id
from tests.core.test_counters import assert_counters_match
from tests.delivery import messages
from tests.delivery.data import attempts, recipients, running_campaign, send
from tests.delivery.relay import LoopbackRelay

ADDRESSES = [
    "ok@a.test",
    "greylist@a.test",
    "busy@a.test",
    "nouser@b.test",
    "rejected@b.test",
    "drop@c.test",
    "slow@c.test",
    "ok2@c.test",
]


@pytest.fixture
def relay():
    server = LoopbackRelay().start()
    yield server
    server.stop()


def test_each_answer_of_the_relay_has_its_outcome(db, db_url, relay):
    pk, ids = running_campaign(db, "camp_outcomes", ADDRESSES)
    totals = send(db, relay.url)
    rows = recipients(db, pk)

    sent = {"ok@a.test", "greylist@a.test", "drop@c.test", "slow@c.test", "ok2@c.test"}
    for address in sent:
        status, error, _n, sent_at, lease = rows[address]
        assert (status, error, lease) == ("sent", None, None), address
        assert sent_at is not None
    assert [a[:3] for a in attempts(db, ids["ok@a.test"])] == [(1, 250, "sent")]
    assert [a[:3] for a in attempts(db, ids["greylist@a.test"])] == [
        (1, 421, "retry"),
        (2, 250, "sent"),
    ]
    dropped = attempts(db, ids["drop@c.test"])
    assert [a[:3] for a in dropped] == [(1, None, "retry"), (2, 250, "sent")]
    assert dropped[0][3].startswith("no reply at DATA")

    # 451 for ever: tried max_attempts (3) times, then failed with the reply.
    assert rows["busy@a.test"][:3] == ("failed", "451 4.3.0 Mailbox busy, try again later", 3)
    assert [a[:3] for a in attempts(db, ids["busy@a.test"])] == [
        (1, 451, "retry"),
        (2, 451, "retry"),
        (3, 451, "failed"),
    ]
    # 5xx at DATA: failed at once, no bounce.
    assert rows["rejected@b.test"][:3] == ("failed", "554 5.6.0 Message content rejected", 1)
    # 5.1.1 at RCPT: a hard bounce event (source smtp), the address suppressed.
    assert rows["nouser@b.test"][:3] == ("bounced", "550 5.1.1 No such user here", 1)
    with db.reading() as s:
        events = s.execute(
            text("SELECT campaign_recipient_id, event_type, source, event_data FROM email_tracking")
        ).all()
        suppressed = s.execute(text("SELECT email_address, reason FROM suppressions")).all()
    assert len(events) == 1
    rid, kind, source, data = events[0]
    assert (rid, kind, source) == (ids["nouser@b.test"], "bounce", "smtp")
    assert data["bounce_type"] == "hard" and data["error_code"] == "550"
    assert data["enhanced_status"] == "5.1.1"
    assert [tuple(r) for r in suppressed] == [("nouser@b.test", "hard_bounce")]
    assert (totals.sent, totals.failed, totals.bounced) == (5, 2, 1)
    assert_counters_match(db_url)

    # The relay received each sent message once, as built, the Return-Path as the envelope.
    received = relay.behaviour.received_by()
    assert sorted(received) == sorted(sent)
    for address in sent:
        (got,) = received[address]
        assert got.mail_from == messages.BOUNCES
        parsed = got.message
        assert parsed["Message-ID"] == message_id(pk, ids[address], messages.DOMAIN)
        assert parsed["Subject"] == f"Hello {address}"
        assert parsed["To"] == address and parsed["Return-Path"] is None
        assert address in parsed.get_content()

    # The timeline shows the attempts with their replies.
    with db.reading() as s:
        timeline = recipient_timeline(s, ids["greylist@a.test"])
    assert [(a.attempt, a.code, a.outcome) for a in timeline.attempts] == [
        (1, 421, "retry"),
        (2, 250, "sent"),
    ]
    assert timeline.attempts[0].reply == "421 4.7.0 Greylisted, try again later"


def test_retry_failed_requeues_what_failed_and_it_is_tried_afresh(db, db_url, relay):
    pk, ids = running_campaign(
        db, "camp_retry", ["busy@a.test", "rejected@a.test", "nouser@a.test"]
    )
    send(db, relay.url, max_attempts=1)
    from core.recipients import retry_failed

    with db.transaction() as s:
        assert retry_failed(s, pk) == 2  # busy and rejected; the bounce stays bounced
    rows = recipients(db, pk)
    assert rows["busy@a.test"][:3] == ("pending", None, 0)
    assert rows["nouser@a.test"][0] == "bounced"
    send(db, relay.url, max_attempts=1)
    assert [a[:3] for a in attempts(db, ids["busy@a.test"])] == [
        (1, 451, "failed"),
        (1, 451, "failed"),
    ]
    assert recipients(db, pk)["busy@a.test"][:3] == (
        "failed",
        "451 4.3.0 Mailbox busy, try again later",
        1,
    )
    assert relay.behaviour.rcpts["nouser@a.test"] == 1  # suppressed: never tried again
    assert_counters_match(db_url)
