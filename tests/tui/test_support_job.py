"""The support job, "what happened to jane's mail?": the columns that answer it get the room,
and the selected event's every detail is in a panel, uncut."""

from __future__ import annotations

from datetime import timedelta

from core.store import EmailTracking
from tests.tui.conftest import settle
from tests.tui.data import NOW
from tests.tui.helpers import column_values, press, select_campaign, table
from tui.screens.timeline import TimelineScreen

GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)


def add_event(db, recipient_id: int, kind: str, data: dict, ua: str | None = None) -> None:
    with db.transaction() as session:
        session.add(
            EmailTracking(
                campaign_recipient_id=recipient_id,
                event_type=kind,
                event_data=data,
                user_agent=ua,
                ip_address="66.102.8.2",
                created_at=NOW + timedelta(minutes=1),
            )
        )


async def test_recipients_at_80_give_the_email_room_and_mark_suppression_on_the_status(
    started,
):
    async with started(size=(80, 24)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "enter")
        t = table(app, "#recipients")
        shown = [c.key for c in t.shown_columns]
        assert shown == ["email_address", "status", "sent_at", "opened_at"]  # clicks: timeline
        assert t.columns["email_address"].width >= 35  # was 18 beside a mostly empty Sup
        assert "bounced ⊘" in column_values(app, "#recipients", "status")


async def test_find_shows_the_campaign_name_beside_its_id_at_80(started):
    async with started(size=(80, 24)) as (app, pilot):
        await press(pilot, "f", *"ana@example.com")
        assert sorted(column_values(app, "#matches", "campaign_name")) == [
            "Spring launch",
            "Webinar invite",
        ]


async def test_timeline_has_a_sent_row_who_did_it_and_a_bounce_read_once(started, db, ids):
    add_event(db, ids["ana"], "open", {"machine": True, "machine_reason": "apple-mpp"})
    add_event(
        db,
        ids["olga"],
        "bounce",
        {"bounce_type": "permanent", "error_code": 550, "error_message": "550 5.1.10 Not found"},
    )
    async with started(size=(80, 24)) as (app, pilot):
        app.push_screen(TimelineScreen(ids["ana"]))
        await settle(pilot)
        assert column_values(app, "#events", "event_type")[:2] == ["sent", "delivered"]
        assert column_values(app, "#events", "who") == [
            "",
            "",  # the provider's delivery report
            "person",
            "person",
            "person",
            "",  # a reply
            "machine",
        ]
        await press(pilot, "escape")
        app.push_screen(TimelineScreen(ids["olga"]))
        await settle(pilot)
        details = column_values(app, "#events", "detail")
        assert "permanent 550 5.1.10 Not found" in details
        await press(pilot, "down", "down")
        panel = str(app.screen.query_one("#json").render())
        assert "Bounce: permanent" in panel and "Code: 550" in panel
        assert "Text: 550 5.1.10 Not found" in panel


async def test_the_event_log_panel_shows_the_whole_user_agent_at_80(started, db, ids):
    add_event(db, ids["ana"], "open", {}, ua=GMAIL_PROXY)
    async with started(size=(80, 24)) as (app, pilot):
        await press(pilot, "l")
        panel = str(app.screen.query_one("#event-detail").render())
        assert "by a person" in panel
        assert GMAIL_PROXY in panel
    async with started(size=(120, 40)) as (app, pilot):
        await press(pilot, "l")
        assert column_values(app, "#log", "user_agent")[0].endswith("GoogleImageProxy)")
