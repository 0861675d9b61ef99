"""Suppression holds at send time: claim_batch never queues a suppressed address (listed after
it was added, by hand or by an event of any campaign), gives it a status that says why, and
picks the next one in its place; duplicating leaves suppressed recipients out and says so; the
simulator (which claims through claim_batch) never sends to them. The claim reads suppressions
by index, never by a Seq Scan, on a campaign of 100,000 recipients."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core import figures, recipients
from core.demo import Simulator
from core.events import EventInput, record_event
from core.recipients import duplicate_campaign
from tests.core.test_query_plans import _explaining
from tests.factories import make_campaign, make_recipients

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _running(s, campaign_id: str, n: int):
    c = make_campaign(s, campaign_id, status="running", started_at=T0)
    return c, make_recipients(s, c, n)


def _emails(s, ids: list[int]) -> list[str]:
    rows = s.execute(
        text("SELECT id, email_address FROM campaign_recipients WHERE id = ANY(:ids)"),
        {"ids": ids},
    ).all()
    by_id = dict(rows)
    return [by_id[i] for i in ids]


def _rows(s, ids: list[int]) -> dict[int, tuple[str, str | None]]:
    rows = s.execute(
        text("SELECT id, status, error_message FROM campaign_recipients WHERE id = ANY(:ids)"),
        {"ids": ids},
    ).all()
    return {r.id: (r.status, r.error_message) for r in rows}


def test_an_address_suppressed_after_it_was_added_is_never_claimed(db):
    with db.transaction() as s:
        _, ids = _running(s, "camp_claim", 10)
        _, other_ids = _running(s, "camp_other", 1)
        emails = _emails(s, ids)
        # Listed by hand, by an unsubscribe and a complaint, and by a hard bounce in another
        # campaign (the trigger's row, which has no key until core keys it).
        recipients.suppress(s, emails[0].upper(), "manual")
        recipients.suppress(s, emails[1], "unsubscribe")
        recipients.suppress(s, emails[2], "complaint")
        s.execute(
            text("UPDATE campaign_recipients SET email_address = :e WHERE id = :id"),
            {"e": emails[3], "id": other_ids[0]},
        )
        record_event(
            s,
            EventInput("bounce", recipient_id=other_ids[0], event_data={"bounce_type": "hard"}),
        )
    with db.transaction() as s:
        claimed = recipients.claim_batch(s, "camp_claim", 5)
    # The four listed are passed over and the batch still has five.
    assert [r.id for r in claimed] == ids[4:9]
    with db.reading() as s:
        rows = _rows(s, ids[:4])
    assert rows == {
        ids[0]: ("failed", "suppressed: manual"),
        ids[1]: ("unsubscribed", "suppressed: unsubscribe"),
        ids[2]: ("unsubscribed", "suppressed: complaint"),
        ids[3]: ("failed", "suppressed: hard_bounce"),
    }
    with db.transaction() as s:
        assert [r.id for r in recipients.claim_batch(s, "camp_claim", 5)] == ids[9:]
        assert recipients.claim_batch(s, "camp_claim", 5) == ()
        # Retried, a suppressed recipient is refused again, never queued.
        assert recipients.retry_failed(s, "camp_claim") == 2
        assert recipients.claim_batch(s, "camp_claim", 5) == ()
        assert figures.recount(s) == ()  # counters equal a recount throughout


def test_duplicating_leaves_suppressed_recipients_out_and_says_how_many(db):
    with db.transaction() as s:
        src = make_campaign(s, "camp_src", status="completed")
        ids = make_recipients(s, src, 5, status="sent", sent_at=T0)
        emails = _emails(s, ids)
        recipients.suppress(s, emails[1], "unsubscribe")
        recipients.suppress(s, emails[3].upper())
    with db.transaction() as s:
        result = duplicate_campaign(s, "camp_src")
    assert (result.copied, result.skipped_suppressed) == (3, 2)
    assert result.campaign.total_recipients == 3
    assert "2 left out: suppressed" in result.describe()
    with db.reading() as s:
        copied = s.scalars(
            text("SELECT email_address FROM campaign_recipients WHERE campaign_id = :c"),
            {"c": result.campaign.id},
        ).all()
    assert sorted(copied) == sorted([emails[0], emails[2], emails[4]])
    with db.transaction() as s:
        plain = duplicate_campaign(s, result.campaign.id)
    assert (plain.copied, plain.skipped_suppressed) == (3, 0)
    assert "left out" not in plain.describe()


def test_the_simulator_never_sends_to_a_suppressed_address(db):
    with db.transaction() as s:
        _, ids = _running(s, "camp_sim", 40)
        emails = _emails(s, ids)
        for e in emails[::4]:
            recipients.suppress(s, e, "unsubscribe")
    sim = Simulator(db, rate=400, seed=3)
    now = T0
    for _ in range(20):
        now += timedelta(seconds=1)
        sim.step(now)
    with db.reading() as s:
        rows = _rows(s, ids)
        sent = s.scalars(
            text("SELECT id FROM campaign_recipients WHERE sent_at IS NOT NULL AND id = ANY(:i)"),
            {"i": ids[::4]},
        ).all()
        events = s.scalar(
            text("SELECT count(*) FROM email_tracking WHERE campaign_recipient_id = ANY(:i)"),
            {"i": ids[::4]},
        )
    assert sent == [] and events == 0
    assert {rows[i] for i in ids[::4]} == {("unsubscribed", "suppressed: unsubscribe")}
    assert all(rows[i][0] not in ("pending", "queued") for i in ids)


BIG = 100_000


def test_claiming_reads_suppressions_by_index_on_a_big_campaign(db):
    with db.transaction() as s:
        c = make_campaign(s, "camp_big", status="running", started_at=T0)
        s.execute(
            text(
                "INSERT INTO leads (email) SELECT 'big' || g || '@example.com'"
                " FROM generate_series(1, :n) g"
            ),
            {"n": BIG},
        )
        s.execute(
            text(
                "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)"
                " SELECT :c, id, email FROM leads WHERE email LIKE 'big%'"
            ),
            {"c": c.id},
        )
        # Every tenth address listed (10,000 rows, keyed).
        s.execute(
            text(
                "INSERT INTO suppressions (email_address, email_key, reason)"
                " SELECT 'big' || g || '@example.com', 'big' || g || '@example.com', 'manual'"
                " FROM generate_series(1, :n, 10) g"
            ),
            {"n": BIG},
        )
        # And a list of a realistic size beside them: 200,000 addresses of no recipient, so
        # that reading the whole list is never the cheaper plan (PostgreSQL 15 reads 10,000
        # rows whole for 1,000 keys, which is right at that size).
        s.execute(
            text(
                "INSERT INTO suppressions (email_address, email_key, reason)"
                " SELECT 'other' || g || '@example.org', 'other' || g || '@example.org',"
                " 'manual' FROM generate_series(1, 200000) g"
            )
        )
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    with db.transaction() as s, _explaining(db) as plans:
        claimed = recipients.claim_batch(s, "camp_big", 1000)
    assert len(claimed) == 1000  # every tenth of the first ~1,110 passed over
    watched = {"suppressions", "campaign_recipients"}
    used = set()
    for statement, plan in plans:
        for n in plan:
            relation = n.get("Relation Name")
            assert not (n["Node Type"] == "Seq Scan" and relation in watched), (
                f"Seq Scan on {relation} in:\n{statement}\n{plan}"
            )
            if relation == "suppressions":
                used.add(n.get("Index Name"))
    assert "suppressions_email_key_key" in used, used
    with db.transaction() as s:
        started = time.perf_counter()
        assert len(recipients.claim_batch(s, "camp_big", 1000)) == 1000
        took = time.perf_counter() - started
        print(f"claim_batch(1000) of {BIG:,}, 10% suppressed: {took:.3f} s")
