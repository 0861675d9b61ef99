"""Campaigns found by what the screens show: an id's start (as a column cuts it) or part of
a name, on home `/`, in the event log's campaign filter and in the compare picker."""

from __future__ import annotations

from textual.events import Paste

from tests.tui.conftest import settle
from tests.tui.helpers import column_values, notifications, press, select_campaign
from tui.screens.compare import CompareScreen
from tui.screens.event_log import EventLogScreen
from tui.widgets.campaign_picker import CampaignPicker


async def test_home_search_takes_the_start_of_an_id(started):
    async with started(size=(120, 40)) as (app, pilot):
        await press(pilot, "slash", *"camp_sp")
        assert column_values(app, "#campaigns", "campaign_id") == ["camp_spring"]


async def test_the_event_log_filter_takes_an_id_start_or_asks_which(started):
    async with started(size=(120, 40)) as (app, pilot):
        await press(pilot, "l", "c", *"camp_sp", "enter")
        screen = app.screen
        assert isinstance(screen, EventLogScreen)
        assert screen.log_query.campaign == "camp_spring"
        assert set(column_values(app, "#log", "campaign")) == {"camp_spring"}
        await press(pilot, "c", "ctrl+u", *"camp_", "enter")  # every campaign: which one?
        assert isinstance(app.screen, CampaignPicker)
        assert len(column_values(app, "#pick-list", "campaign_id")) == 7
        await press(pilot, *"evi", "enter")
        assert app.screen is screen and screen.log_query.campaign == "camp_evil"
        await press(pilot, "c", "ctrl+u", *"nothing like it", "enter")
        assert screen.log_query.campaign == "camp_evil"
        assert "No campaign's name or id matches 'nothing like it'." in notifications(app)


async def test_a_pasted_id_then_enter_picks_that_campaign_not_the_top_row(started):
    async with started(size=(120, 40)) as (app, pilot):
        await select_campaign(pilot, "camp_done")
        await press(pilot, "A", "c")
        assert isinstance(app.screen, CampaignPicker)
        top = column_values(app, "#pick-list", "campaign_id")[0]
        assert top != "camp_paused"
        app.screen.query_one("#pick-search").post_message(Paste("camp_paused"))
        await pilot.press("enter")  # before the matches of the paste are read
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        assert app.screen.stats[1].campaign_id == "camp_paused"
