"""Small things a person notices: plurals, a header that fits 80 columns, the cursor after a
create or a delete, and write keys in a read-only session saying why they do nothing."""

from __future__ import annotations

from dataclasses import replace

from tests.tui.helpers import notifications, press, select_campaign, table
from tui import format as fmt
from tui.screens.recipients import RecipientsScreen


def test_plural_says_one_event_and_two_events():
    assert fmt.plural(1, "event") == "1 event"
    assert fmt.plural(0, "link") == "0 links"
    assert fmt.plural(2_000, "match", "matches") == "2,000 matches"


def selected_name(app) -> str:
    return app.screen.summaries[table(app, "#campaigns").current_key()].name


async def test_a_new_campaign_is_selected(started):
    async with started(size=(100, 30)) as (app, pilot):
        await press(pilot, "n")
        await pilot.press(*"Holiday promo")
        await press(pilot, "enter")
        assert selected_name(app) == "Holiday promo"


async def test_after_a_delete_the_cursor_stays_in_place(started):
    async with started(size=(100, 30)) as (app, pilot):
        t = table(app, "#campaigns")
        t.move_cursor(row=3)
        await pilot.pause()
        gone, after = t.row_keys[3], t.row_keys[4]
        await press(pilot, "d", "y")
        assert gone not in t.row_keys
        assert t.cursor_row == 3 and t.current_key() == after


async def test_write_keys_in_read_only_say_why(started):
    async with started(read_only=True, size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "d")
        assert app.screen.id == "campaigns-screen"
        assert notifications(app)[-1].startswith("read-only: Delete")
        await press(pilot, "s", "u")
        shown = notifications(app)
        assert shown[-2].startswith("read-only: Start")
        assert shown[-1].startswith("read-only: Unschedule")


async def test_the_counters_header_fits_80_columns(started):
    async with started(size=(80, 24)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, RecipientsScreen)
        big = replace(
            screen.stats,
            total_recipients=12_345_678,
            emails_sent=12_000_000,
            emails_opened=5_432_100,
            emails_clicked=1_234_567,
            emails_replied=123_456,
            emails_bounced=98_765,
        )
        screen.show_stats(RecipientsScreen.StatsFetched(big))
        await pilot.pause()
        stats = screen.query_one("#stats")
        lines = str(stats.render()).splitlines()
        assert len(lines) == 4 and max(len(line) for line in lines) <= 78
        assert stats.size.height == 4  # nothing wrapped
        assert "Recipients 12,345,678" in lines[2] and "Click-to-open" in lines[1]
