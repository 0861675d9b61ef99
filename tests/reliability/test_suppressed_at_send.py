"""Suppression holds at send time under concurrent senders (issue 11, item 2): addresses listed
after they were added, by events of another campaign (the trigger's rows, keyed by whichever
sender comes first) and by hand, are never claimed by either of two senders racing on the
campaign; no recipient is claimed twice, every other one is sent, counters equal a recount."""

from __future__ import annotations

import threading

import psycopg
from sqlalchemy import text

from core import recipients
from core.events import EventInput, record_events
from core.store import Database
from tests.factories import make_campaign, make_recipients
from tests.reliability.conftest import counter_drift

N = 600


def test_two_senders_never_claim_a_suppressed_address(db, db_url):
    with db.transaction() as s:
        target = make_campaign(s, "camp_target", status="running")
        ids = make_recipients(s, target, N)
        other = make_campaign(s, "camp_before", status="running")
        emails = dict(
            s.execute(
                text("SELECT id, email_address FROM campaign_recipients WHERE campaign_id = :c"),
                {"c": target.id},
            ).all()
        )
        listed = {rid for i, rid in enumerate(ids) if i % 3 == 0}
        by_hand = {rid for i, rid in enumerate(ids) if i % 3 == 1 and i % 2 == 0}
        # The same addresses, upper-cased, as recipients of another campaign that unsubscribe.
        before = make_recipients(s, other, len(listed))
        for rid, target_rid in zip(before, sorted(listed), strict=True):
            s.execute(
                text("UPDATE campaign_recipients SET email_address = :e WHERE id = :i"),
                {"e": emails[target_rid].upper(), "i": rid},
            )
        record_events(s, [EventInput("unsubscribe", recipient_id=rid) for rid in before])
        for rid in by_hand:
            recipients.suppress(s, emails[rid], "manual")
    claimed: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def sender(k: int) -> None:
        own = Database(db_url)
        try:
            while True:
                batch = own.run(lambda s: recipients.claim_batch(s, "camp_target", 25))
                if not batch:
                    return
                got = [r.id for r in batch]
                claimed[k].extend(got)
                own.run(lambda s, got=got: recipients.mark_sent(s, got))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    every = claimed[0] + claimed[1]
    assert len(every) == len(set(every)), "a recipient was claimed twice"
    assert claimed[0] and claimed[1], "one sender did all the work"
    assert set(every) == set(ids) - listed - by_hand
    with psycopg.connect(db_url) as conn:
        left = dict(
            conn.execute(
                "SELECT status, count(*) FROM campaign_recipients WHERE campaign_id = %s"
                " GROUP BY 1",
                (target.id,),
            ).fetchall()
        )
        unkeyed = conn.execute("SELECT count(*) FROM suppressions WHERE email_key IS NULL")
        assert unkeyed.fetchone() == (0,)
    assert left == {
        "sent": N - len(listed) - len(by_hand),
        "unsubscribed": len(listed),
        "failed": len(by_hand),
    }
    assert counter_drift(db_url) == []
