"""The live event log follows the newest while the cursor is on the first row (tail -f), and
holds still with "N newer" while someone reads a row below it; filtered counts stay fresh."""

from __future__ import annotations

from datetime import timedelta

from core.store import CampaignRecipient, EmailTracking
from tests.tui.conftest import settle
from tests.tui.data import NOW
from tests.tui.helpers import press, select_campaign, table
from tui.screens.event_log import EventLogScreen


def add_event(db, recipient_id: int, minutes: int = 0) -> int:
    with db.transaction() as session:
        event = EmailTracking(
            campaign_recipient_id=recipient_id,
            event_type="open",
            event_data={},
            created_at=NOW + timedelta(minutes=minutes),
        )
        session.add(event)
        session.flush()
        return event.id


def status_line(app) -> str:
    return str(app.screen.query_one("#status-line").render())


async def open_log(pilot) -> None:
    await settle(pilot)
    await press(pilot, "l")
    assert isinstance(pilot.app.screen, EventLogScreen)


async def test_on_the_first_row_the_newest_comes_in_at_the_top(make_app, db, ids):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_log(pilot)
        log = table(app, "#log")
        assert log.cursor_row == 0
        new = add_event(db, ids["ana"])
        await press(pilot, "ctrl+r")
        assert log.row_keys[0] == str(new)
        assert log.cursor_row == 0 and log.current_key() == str(new)
        assert "newer" not in status_line(app)


async def test_below_the_first_row_the_rows_hold_and_say_how_many_are_newer(make_app, db, ids):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_log(pilot)
        log = table(app, "#log")
        await press(pilot, "down", "down")
        before, reading = list(log.row_keys), log.current_key()
        first = add_event(db, ids["ana"])
        second = add_event(db, ids["ana"], minutes=1)
        await press(pilot, "ctrl+r")
        assert log.row_keys == before and log.current_key() == reading
        assert "2 newer" in status_line(app)
        await press(pilot, "g")
        assert log.row_keys[:2] == [str(second), str(first)] and log.cursor_row == 0
        assert "newer" not in status_line(app)


async def test_a_campaign_filter_starts_at_its_newest_row(make_app, db, ids):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_log(pilot)
        log = table(app, "#log")
        await press(pilot, "down", "down", "down")
        await press(pilot, "c", *"camp_spring", "enter")
        new = add_event(db, ids["ana"], minutes=2)
        await press(pilot, "ctrl+r")
        assert log.cursor_row == 0 and log.row_keys[0] == str(new)
        assert log.scroll_y == 0


async def test_a_filtered_count_is_read_again_with_the_page(started, db, ids):
    async with started(size=(120, 40)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "enter", "5")  # bounced
        line = status_line(app)
        assert "rows 1-1 of 1" in line and "bounced" in line
        with db.transaction() as session:
            ana = session.get(CampaignRecipient, ids["ana"])
            ana.status, ana.bounced_at = "bounced", NOW
        await press(pilot, "ctrl+r")
        assert "rows 1-2 of 2" in status_line(app)
