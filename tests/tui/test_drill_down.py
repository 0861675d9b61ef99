"""Campaign → recipients → timeline; find by email; the event log; help; read-only."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InternalError, OperationalError, ProgrammingError

from tests.tui.conftest import settle
from tests.tui.data import HOSTILE_EMAIL, HOSTILE_UA
from tests.tui.helpers import column_values, press, select_campaign, table
from tui import format as fmt
from tui.screens.campaigns.keys import WRITE_ACTIONS
from tui.screens.event_log import EventLogScreen
from tui.screens.find import FindScreen
from tui.screens.help import SECTIONS, HelpScreen
from tui.screens.recipients import RecipientsScreen
from tui.screens.timeline import TimelineScreen
from tui.widgets.events_table import UA_WIDTH, tail


def status_line(app) -> str:
    return str(app.screen.query_one("#status-line").render())


async def open_spring(pilot):
    await settle(pilot)
    await select_campaign(pilot, "camp_spring")
    await press(pilot, "enter")
    assert isinstance(pilot.app.screen, RecipientsScreen)


async def test_recipients_of_a_campaign_with_header_and_position(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_spring(pilot)
        emails = column_values(app, "#recipients", "email_address")
        assert len(emails) == 21 and emails[0] == "ana@example.com"
        assert "rows 1-21 of 21" in status_line(app)
        header = str(app.screen.query_one("#stats").render())
        assert "Recipients 21" in header and "Sent       17" in header
        assert "Opened  9  52.9%" in header and "Click-to-open" in header


async def test_recipient_filters_unopened_status_search_and_escape(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_spring(pilot)
        await press(pilot, "u")
        unopened = column_values(app, "#recipients", "email_address")
        assert len(unopened) == 7  # sent 16+1, opened 9, one of the sent bounced
        assert "unopened" in status_line(app)
        await press(pilot, "u", "4")  # failed
        assert set(column_values(app, "#recipients", "status")) == {"failed"}
        await press(pilot, "0", "slash", *"gita")
        assert column_values(app, "#recipients", "email_address") == ["gita@example.com"]
        await press(pilot, "enter", "escape")
        assert len(column_values(app, "#recipients", "email_address")) == 21
        await press(pilot, "escape")
        assert app.screen.id == "campaigns-screen"


async def test_timeline_lists_events_in_order_with_json(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_spring(pilot)
        await press(pilot, "enter")  # ana, the first row
        assert isinstance(app.screen, TimelineScreen)
        types = column_values(app, "#events", "event_type")
        # sent: the recipient's sent_at; delivered: the provider's report (deliveries)
        assert types == ["sent", "delivered", "open", "open", "click", "reply"]
        details = column_values(app, "#events", "detail")
        assert details[4] == "https://example.com/spring?utm_source=email"
        assert column_values(app, "#events", "source") == ["", "ses", "pixel", "pixel", "link", "—"]
        await press(pilot, "down")
        panel = str(app.screen.query_one("#json").render())
        assert "delivered" in panel and "Provider's event id: 0100018c-ana" in panel
        await press(pilot, "down")
        json_text = str(app.screen.query_one("#json").render())
        assert '"event_type": "open"' in json_text and '"source": "pixel"' in json_text
        assert "source pixel" in json_text
        await press(pilot, "down", "down")
        assert "utm_source" in str(app.screen.query_one("#json").render())
        await press(pilot, "escape")
        assert isinstance(app.screen, RecipientsScreen)


async def test_find_by_email_across_campaigns_then_timeline(started):
    async with started(size=(120, 40)) as (app, pilot):
        await press(pilot, "f")
        assert isinstance(app.screen, FindScreen)
        await press(pilot, *"ana@example.com")
        assert sorted(column_values(app, "#matches", "campaign")) == [
            "camp_paused",
            "camp_spring",
        ]
        await press(pilot, "enter")  # to the results
        await press(pilot, "enter")
        assert isinstance(app.screen, TimelineScreen)


async def test_event_log_newest_first_and_filtered(started):
    async with started(size=(120, 40)) as (app, pilot):
        await press(pilot, "l")
        assert isinstance(app.screen, EventLogScreen)
        keys = [int(k) for k in table(app, "#log").row_keys]
        assert len(keys) == 6 and keys == sorted(keys, reverse=True)  # newest recorded first
        await press(pilot, "2")  # clicks
        assert column_values(app, "#log", "event_type") == ["click"]
        await press(pilot, "escape")
        assert len(column_values(app, "#log", "event_type")) == 6
        await press(pilot, "c", *"camp_spring", "enter")
        assert len(column_values(app, "#log", "event_type")) == 6
        await press(pilot, "c")
        app.screen.query_one("#campaign").value = "camp_done"
        await press(pilot, "enter")
        assert column_values(app, "#log", "event_type") == []


async def test_help_lists_the_screens_bindings(started):
    async with started(size=(120, 40)) as (app, pilot):
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        entries = app.screen.entries
        actions = {e.description for e in entries}
        assert {"Start", "Pause", "Delete", "Search", "Find", "Help", "Quit"} <= actions
        # The screen's own keys first, then the rows', then the app's; every one with its id.
        sections = [e.section for e in entries]
        assert sections == sorted(sections, key=SECTIONS.index)
        assert sections[0] == "this screen"
        by_id = {e.id: e for e in entries}
        assert by_id["table.top"].keys == ("g", "home")
        assert by_id["table.bottom"].keys == ("G", "end")
        assert by_id["campaigns.next"].keys == ("]",)
        assert all(e.id for e in entries) and "Cursor up" not in actions
        await press(pilot, "escape")
        assert app.screen.id == "campaigns-screen"


async def test_hostile_values_show_literally_everywhere(make_app, ids):
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await open_spring(pilot)
        assert HOSTILE_EMAIL in column_values(app, "#recipients", "email_address")
        assert "[red]not an error[/red]" in column_values(app, "#recipients", "error_message")
        app.push_screen(TimelineScreen(ids["hostile"]))
        await settle(pilot)
        shown_ua = column_values(app, "#events", "user_agent")[-1]
        assert shown_ua == tail(fmt.clean(HOSTILE_UA), UA_WIDTH)
        assert column_values(app, "#events", "detail")[-1] == "[link]x[/link]"
        await press(pilot, "down")  # from "sent" to the open
        json_text = app.screen.query_one("#json").render()
        assert fmt.clean(HOSTILE_UA) in str(json_text)  # whole in the panel
        # JSON spells control characters as \u escapes: shown, never sent to the terminal.
        assert "[bold]json[/bold] \\u001b[2J" in str(json_text)
        assert "\x1b" not in str(json_text)


async def test_read_only_offers_no_write_and_the_session_refuses_writes(started):
    async with started(read_only=True, size=(120, 40)) as (app, pilot):
        active = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not active & {f"{a}" for a in WRITE_ACTIONS}
        assert not any(a.startswith("lifecycle") for a in active)
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "p", "d", "n")  # nothing happens
        assert app.screen.id == "campaigns-screen"
        refused = (InternalError, OperationalError, ProgrammingError)
        with pytest.raises(refused, match="read-only"), app.database.transaction() as session:
            session.execute(text("UPDATE campaigns SET name = 'x'"))
        await press(pilot, "question_mark")
        actions = {e.description for e in app.screen.entries}
        assert not {"Start", "Pause", "Delete", "New"} & actions


async def wait_for_palette(pilot, text: str):
    from textual.command import CommandList

    for _ in range(200):
        await pilot.pause(0.02)
        options = pilot.app.screen.query_one(CommandList)
        if options.option_count and text in str(options.get_option_at_index(0).prompt):
            return
    raise AssertionError(f"no palette hit for {text!r}")


async def test_palette_jumps_to_a_campaign_by_name(started):
    async with started(size=(120, 40)) as (app, pilot):
        await pilot.press("ctrl+p", *"webinar")
        await wait_for_palette(pilot, "Webinar invite")
        await press(pilot, "enter")
        assert isinstance(app.screen, RecipientsScreen)
        assert app.screen.campaign_name == "Webinar invite"


async def test_palette_runs_screen_actions(started, db):
    from tests.tui.helpers import campaign_row

    async with started(size=(120, 40)) as (_app, pilot):
        await select_campaign(pilot, "camp_spring")
        await pilot.press("ctrl+p", *"pause")
        await wait_for_palette(pilot, "Pause")
        await press(pilot, "enter")
        assert campaign_row(db, "camp_spring").status == "paused"


async def test_event_log_shows_each_events_source(make_app):
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:  # a column past the user agent's
        await press(pilot, "l")
        sources = column_values(app, "#log", "source")
        assert sources == ["—", "ses", "—", "link", "pixel", "pixel"]  # "—": not recorded
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:  # else the panel says it
        await press(pilot, "l")
        assert "source —" in str(app.screen.query_one("#event-detail").render())
