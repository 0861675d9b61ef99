"""Every screen and dialog at 80x24 and 120x40, fixed data, fixed clock, workers waited for."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.tui.conftest import settle
from tests.tui.helpers import select_campaign

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def steps(*keys: str, campaign: str | None = None, values: dict[str, str] | None = None):
    async def run_before(pilot) -> None:
        await settle(pilot)
        if campaign:
            await select_campaign(pilot, campaign)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        for selector, value in (values or {}).items():
            pilot.app.screen.query_one(selector).value = value
            await settle(pilot)
        # A blinking cursor would make the picture depend on the moment it is taken.
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
class TestCampaignsScreen:
    def test_home(self, snap_compare, make_app, size):
        assert snap_compare(make_app(), terminal_size=size, run_before=steps())

    def test_filtered_and_sorted(self, snap_compare, make_app, size):
        run = steps("o", "down", "down", "enter", "slash", "e", "enter")  # by campaign id
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_read_only(self, snap_compare, make_app, size):
        assert snap_compare(make_app(read_only=True), terminal_size=size, run_before=steps())


@pytest.mark.parametrize("size", SIZES)
class TestDialogs:
    def test_new_campaign(self, snap_compare, make_app, size):
        assert snap_compare(make_app(), terminal_size=size, run_before=steps("n"))

    def test_delete_confirmation(self, snap_compare, make_app, size):
        run = steps("d", campaign="camp_spring")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_schedule(self, snap_compare, make_app, size):
        run = steps("t", campaign="camp_evil")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_add_recipients(self, snap_compare, make_app, size):
        run = steps("a", campaign="camp_draft")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_help(self, snap_compare, make_app, size):
        assert snap_compare(make_app(), terminal_size=size, run_before=steps("question_mark"))


@pytest.mark.parametrize("size", SIZES)
class TestDrillDown:
    def test_recipients(self, snap_compare, make_app, size):
        run = steps("enter", campaign="camp_spring")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_recipients_unopened(self, snap_compare, make_app, size):
        run = steps("enter", "u", campaign="camp_spring")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_timeline(self, snap_compare, make_app, size):
        run = steps("enter", "enter", "down", "down", campaign="camp_spring")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_event_log(self, snap_compare, make_app, size):
        assert snap_compare(make_app(), terminal_size=size, run_before=steps("l"))

    def test_find(self, snap_compare, make_app, size):
        run = steps("f", values={"#email": "ana@example.com"})
        assert snap_compare(make_app(), terminal_size=size, run_before=run)


class TestNoColor:
    """NO_COLOR set: Textual draws in monochrome; the cursor row, the status and the flags
    must still read (reverse video and words, not colour alone)."""

    def test_home(self, snap_compare, make_app, monkeypatch):
        monkeypatch.setenv("NO_COLOR", "1")
        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=steps())

    def test_recipients(self, snap_compare, make_app, monkeypatch):
        monkeypatch.setenv("NO_COLOR", "1")
        run = steps("enter", campaign="camp_spring")
        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run)


@pytest.mark.parametrize("size", SIZES)
class TestTemplates:
    def test_templates(self, snap_compare, make_app, size):
        assert snap_compare(make_app(), terminal_size=size, run_before=steps("T"))

    def test_preview(self, snap_compare, make_app, size, monkeypatch):
        # A fixed signing key: the tracked URLs are the same on every run.
        monkeypatch.setenv("CAMPAIGN_CONSOLE_TRACKING_KEY", "0123456789abcdef" * 2)
        run = steps("T", "down", "enter")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)
