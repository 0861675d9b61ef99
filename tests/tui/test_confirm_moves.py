"""Moves that can't be undone, or that send mail, ask first with the campaign's id, name and
what will happen (figures from core.campaigns.sending); Escape or n changes nothing, y or Enter
moves. `s` on a paused campaign is Resume, in the footer too. Keys as a terminal sends them (`X` is
what shift+x types)."""

from __future__ import annotations

from tests.tui.conftest import settle
from tests.tui.helpers import campaign_row, press, select_campaign
from tui.widgets.dialogs import ConfirmDialog


def _question(app) -> str:
    assert isinstance(app.screen, ConfirmDialog), app.screen
    return app.screen.question.plain


async def test_start_asks_with_the_count_escape_cancels_enter_starts(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        before = campaign_row(db, "camp_evil")  # a draft with one recipient
        await select_campaign(pilot, "camp_evil")
        await press(pilot, "s")
        question = _question(app)
        assert question.startswith("Start camp_evil '") and "send to 1 recipient?" in question
        assert "campaigns simulate camp_evil" in question  # nothing sends it otherwise
        await press(pilot, "escape")
        assert not isinstance(app.screen, ConfirmDialog)
        after = campaign_row(db, "camp_evil")
        assert after.status == "draft" and after.updated_at == before.updated_at
        await press(pilot, "s")
        await press(pilot, "enter")  # the focused button is Start
        assert campaign_row(db, "camp_evil").status == "running"


async def test_complete_and_fail_say_what_is_left_unsent(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        spring = campaign_row(db, "camp_spring")
        unsent = spring.total_recipients - spring.emails_sent
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "c")
        question = _question(app)
        assert question.startswith("Complete camp_spring 'Spring launch'")
        assert f"{unsent} recipients not yet sent will never be" in question
        assert "can't be undone" in question
        await press(pilot, "n")
        assert campaign_row(db, "camp_spring").status == "running"
        await select_campaign(pilot, "camp_paused")
        await press(pilot, "X")
        question = _question(app)
        assert question.startswith("Fail camp_paused 'Webinar invite': Sending stops for good.")
        await press(pilot, "escape")
        assert campaign_row(db, "camp_paused").status == "paused"
        await press(pilot, "X", "y")
        assert campaign_row(db, "camp_paused").status == "failed"


async def test_the_footer_offers_resume_on_a_paused_campaign(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        assert app.screen.active_bindings["s"].binding.description == "Start"
        await select_campaign(pilot, "camp_paused")
        assert app.screen.active_bindings["s"].binding.description == "Resume"
        await press(pilot, "s")  # resumes at once: it can be paused again
        assert not isinstance(app.screen, ConfirmDialog)
        assert campaign_row(db, "camp_paused").status == "running"
        await settle(pilot)
        assert app.screen.active_bindings["s"].binding.description == "Start"


async def test_a_running_campaign_nothing_sends_says_so_in_its_header(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_evil")
        await press(pilot, "s", "y", "enter")  # start it, then open its recipients
        header = str(app.screen.query_one("#stats").render())
        assert "Nothing is sending this campaign: run campaigns simulate camp_evil" in header
        await press(pilot, "escape")
        await select_campaign(pilot, "camp_done")  # completed: nothing to send, no hint
        await press(pilot, "enter")
        header = str(app.screen.query_one("#stats").render())
        assert "camp_done" in header and "Nothing is sending" not in header
