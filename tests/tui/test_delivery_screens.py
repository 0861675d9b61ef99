"""What the sender (core.delivery) leaves, as the screens show it: the recipients header says
which sender is at work on the campaign and when it last sent (its heartbeat row), or why an
alarm paused it; the timeline lists each delivery attempt with the relay's reply, and the
panel shows an attempt's every detail."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import text

from tests.tui.conftest import settle
from tests.tui.data import T0
from tests.tui.helpers import column_values, press, select_campaign
from tui.screens.recipients import RecipientsScreen
from tui.screens.timeline import TimelineScreen


def _header(app) -> str:
    return str(app.screen.query_one("#stats").render())


async def test_the_header_names_the_sender_at_work_and_its_last_send(started, db, ids):
    with db.transaction() as s:
        s.execute(
            text(
                "INSERT INTO delivery_senders (id, host, pid, campaign_id, last_sent_at)"
                " VALUES ('mx1:4242:ab', 'mx1', 4242, :c, :at)"
            ),
            {"c": ids["spring"], "at": T0 + timedelta(seconds=3)},
        )
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "enter")
        assert isinstance(app.screen, RecipientsScreen)
        assert "Sender at work on mx1:4242, last sent 09:00:03" in _header(app)
        await press(pilot, "escape")
        with db.transaction() as s:  # a sender not seen for a while is not at work
            s.execute(text("UPDATE delivery_senders SET last_seen = now() - interval '1 hour'"))
        await press(pilot, "enter")
        assert "Sender at work" not in _header(app)


async def test_the_header_says_why_an_alarm_paused_the_campaign(started, db):
    reason = "errors: 12 of the last 20 attempts failed (60 %, over the 50 % alarm)"
    with db.transaction() as s:
        s.execute(
            text("UPDATE campaigns SET pause_reason = :r WHERE campaign_id = 'camp_paused'"),
            {"r": reason},
        )
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_paused")
        await press(pilot, "enter")
        header = _header(app)
        assert "Paused by its alarm: errors: 12 of the last 20 attempts failed" in header
        await press(pilot, "escape", "s")  # resume: a person's move clears the reason
        await settle(pilot)
        await select_campaign(pilot, "camp_paused")
        await press(pilot, "enter")
        assert "Paused by its alarm" not in _header(app)


async def test_the_timeline_lists_the_delivery_attempts(make_app, db, ids):
    with db.transaction() as s:
        for n, (code, reply, outcome) in enumerate(
            [(421, "421 4.7.0 Greylisted, try again later", "retry"), (250, "250 OK", "sent")]
        ):
            s.execute(
                text(
                    "INSERT INTO send_attempts (campaign_recipient_id, campaign_id, attempt,"
                    " attempted_at, code, enhanced_status, reply, outcome, sender_id)"
                    " VALUES (:r, :c, :n, :at, :code, :status, :reply, :outcome, 'mx1:4242:ab')"
                ),
                {
                    "r": ids["ana"],
                    "c": ids["spring"],
                    "n": n + 1,
                    "at": T0 - timedelta(minutes=5 - n),
                    "code": code,
                    "status": "4.7.0" if code == 421 else None,
                    "reply": reply,
                    "outcome": outcome,
                },
            )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "enter", "enter")  # ana, the first row
        assert isinstance(app.screen, TimelineScreen)
        types = column_values(app, "#events", "event_type")
        assert types[:3] == ["attempt 1", "attempt 2", "sent"]
        details = column_values(app, "#events", "detail")
        assert details[:2] == ["retry: 421 4.7.0 Greylisted, try again later", "sent: 250 OK"]
        assert "2 delivery attempts" in str(app.screen.query_one("#recipient").render())
        panel = str(app.screen.query_one("#json").render())  # the first row: attempt 1
        assert "attempt 1" in panel and "retry" in panel
        assert "Reply: 421  421 4.7.0 Greylisted" in panel and "Enhanced status: 4.7.0" in panel
        assert "Sender: mx1:4242:ab" in panel


async def test_the_header_shows_a_running_campaigns_progress_rate_and_time_left(started, db, ids):
    with db.transaction() as s:  # its sends 2 s apart, the last one now: 0.5 msg/s
        s.execute(
            text(
                "UPDATE campaign_recipients r SET sent_at = now() - x.n * interval '2 seconds'"
                " FROM (SELECT id, row_number() OVER (ORDER BY id DESC) - 1 AS n"
                "       FROM campaign_recipients WHERE campaign_id = :c AND sent_at IS NOT NULL"
                "       AND status IN ('sent', 'bounced', 'unsubscribed')) x WHERE r.id = x.id"
            ),
            {"c": ids["spring"]},
        )
        total, sent, recent = s.execute(
            text(
                "SELECT total_recipients, emails_sent, (SELECT count(*) FROM campaign_recipients"
                " WHERE campaign_id = :c AND sent_at IS NOT NULL"
                " AND status IN ('sent', 'bounced', 'unsubscribed'))"
                " FROM campaigns WHERE id = :c"
            ),
            {"c": ids["spring"]},
        ).one()
    assert recent >= 2 and total > sent
    left = round((total - sent) / 0.5)
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "enter")
        assert f"Sent {sent} of {total} · 0.5 msg/s · about {left} s left" in _header(app)
        await press(pilot, "escape")
        await select_campaign(pilot, "camp_paused")  # not running: no progress line
        await press(pilot, "enter")
        assert "msg/s" not in _header(app) and not re.search(r"Sent [\d,]+ of ", _header(app))
