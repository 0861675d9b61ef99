"""core.campaigns.sending: the figures a confirmation states, and whether anything sends a running
campaign (pending recipients, none claimed, no send for a minute: nothing does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core import campaigns, recipients
from tests.factories import make_campaign, make_recipients


def test_move_preview_counts_what_start_sends_and_complete_leaves(db):
    with db.transaction() as s:
        c = make_campaign(s, "camp_pv")
        make_recipients(s, c, 3)
        make_recipients(s, c, 2, status="sent", sent_at=datetime(2026, 11, 1, tzinfo=UTC))
        make_recipients(s, c, 1, status="failed", error_message="550")
    with db.reading() as s:
        p = campaigns.move_preview(s, "camp_pv", "start")
    assert (p.campaign.campaign_id, p.action, p.pending, p.not_sent) == ("camp_pv", "start", 3, 4)


def test_a_running_campaign_nothing_sends_is_idle_until_a_sender_claims(db):
    with db.transaction() as s:
        c = make_campaign(s, "camp_idle", status="running", started_at=datetime.now(UTC))
        make_recipients(s, c, 3)
        make_campaign(s, "camp_draft_idle")
    with db.reading() as s:
        assert campaigns.sending_state(s, "camp_idle").idle
        assert not campaigns.sending_state(s, "camp_draft_idle").idle  # not running
    with db.transaction() as s:
        (first, *_) = recipients.claim_batch(s, "camp_idle", 1)
    with db.reading() as s:
        assert not campaigns.sending_state(s, "camp_idle").idle  # one is claimed: a sender works
    with db.transaction() as s:
        recipients.mark_sent(s, [first.id])
    with db.reading() as s:
        state = campaigns.sending_state(s, "camp_idle")
    assert not state.idle and state.last_sent_at is not None  # sent just now
    with db.transaction() as s:
        old = datetime.now(UTC) - campaigns.IDLE_AFTER - timedelta(seconds=5)
        s.execute(
            text("UPDATE campaign_recipients SET sent_at = :t WHERE id = :i"),
            {"t": old, "i": first.id},
        )
    with db.reading() as s:
        assert campaigns.sending_state(s, "camp_idle").idle  # a minute without a send


def test_the_send_rate_and_time_left_come_from_the_recent_sends(db):
    with db.transaction() as s:
        c = make_campaign(s, "camp_rate", status="running", started_at=datetime.now(UTC))
        ids = make_recipients(s, c, 10)
        recipients.mark_sent(s, ids[:5])
        now = s.execute(text("SELECT now()")).scalar_one()
        for i, rid in enumerate(ids[:5]):  # 4 s apart, the last a moment ago; one long ago
            at = now - timedelta(seconds=4 * i + 0.5) if i < 4 else now - timedelta(hours=1)
            s.execute(
                text("UPDATE campaign_recipients SET sent_at = :t WHERE id = :i"),
                {"t": at, "i": rid},
            )
    with db.reading() as s:
        state = campaigns.sending_state(s, "camp_rate")
    assert state.recent == 4 and state.rate == 3 / 12  # 3 gaps over 12 s
    assert state.seconds_left(5) == 20 and state.seconds_left(0) is None
    with db.transaction() as s:
        s.execute(text("UPDATE campaigns SET status = 'paused' WHERE id = :c"), {"c": c.id})
    with db.reading() as s:
        assert campaigns.sending_state(s, "camp_rate").rate is None  # not running: not read
