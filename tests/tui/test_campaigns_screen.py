"""The campaigns screen driven by keys against a real database; state checked in the database."""

from __future__ import annotations

from sqlalchemy import func, select

from core.store import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from tests.tui.data import HOSTILE_NAME
from tests.tui.helpers import (
    campaign_row,
    column_values,
    notifications,
    press,
    select_campaign,
    table,
)
from tui import format as fmt

ALL_IDS = {
    "camp_spring",
    "camp_draft",
    "camp_sched",
    "camp_paused",
    "camp_done",
    "camp_failed",
    "camp_evil",
}


async def test_lists_every_campaign_with_rates(started):
    async with started(size=(120, 40)) as (app, _pilot):
        assert set(column_values(app, "#campaigns", "campaign_id")) == ALL_IDS
        spring = dict(
            zip(
                column_values(app, "#campaigns", "campaign_id"),
                column_values(app, "#campaigns", "open_rate"),
                strict=True,
            )
        )["camp_spring"]
        # 17 sent (16 + the hostile one), 9 opened
        assert spring == f"{9 * 100 / 17:.1f}"


async def test_status_filter_search_and_escape(started):
    async with started(size=(120, 40)) as (app, pilot):
        await press(pilot, "3")  # running
        assert column_values(app, "#campaigns", "campaign_id") == ["camp_spring"]
        await press(pilot, "0")
        assert len(column_values(app, "#campaigns", "campaign_id")) == 7
        await press(pilot, "slash", "n", "e", "w", "s")
        assert column_values(app, "#campaigns", "campaign_id") == ["camp_done"]
        await press(pilot, "enter")  # back to the table, filter kept
        assert column_values(app, "#campaigns", "campaign_id") == ["camp_done"]
        await press(pilot, "escape")  # clears the filter first ...
        assert len(column_values(app, "#campaigns", "campaign_id")) == 7
        await press(pilot, "escape")  # ... and the home screen stays
        assert app.screen.id == "campaigns-screen"


async def test_sort_picker_and_direction(started):
    async with started(size=(120, 40)) as (app, pilot):
        await press(pilot, "o", "down", "enter")  # the picker: created, then name ▲
        names = column_values(app, "#campaigns", "name")
        assert names == sorted(names)
        label = table(app, "#campaigns").columns["name"].label.plain
        assert label.endswith("▲")
        await press(pilot, "O")
        assert column_values(app, "#campaigns", "name") == sorted(names, reverse=True)
        assert table(app, "#campaigns").columns["name"].label.plain.endswith("▼")


async def test_new_campaign_by_form(started, db, ids):
    async with started(size=(100, 30)) as (app, pilot):
        await press(pilot, "n")
        await pilot.press(*"Holiday promo")
        await press(pilot, "tab", "enter", "down", "down", "enter")  # the template picker
        await press(pilot, "enter")
        with db.reading() as s:
            created = s.scalar(select(Campaign).where(Campaign.name == "Holiday promo"))
        assert created is not None and created.template_id == ids["template"]
        assert created.status == CampaignStatus.DRAFT
        assert "Holiday promo" in column_values(app, "#campaigns", "name")


async def test_edit_renames(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_draft")
        await press(pilot, "e")
        assert app.screen.query_one("#name").value == "Welcome series"
        app.screen.query_one("#name").value = "Welcome v2"
        await press(pilot, "enter")
        assert campaign_row(db, "camp_draft").name == "Welcome v2"


async def test_lifecycle_keys_move_status(started, db):
    async with started(size=(100, 30)) as (_app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "p")
        assert campaign_row(db, "camp_spring").status == "paused"
        started = campaign_row(db, "camp_spring").started_at
        await press(pilot, "r")
        row = campaign_row(db, "camp_spring")
        assert row.status == "running" and row.started_at == started
        await press(pilot, "c", "y")  # complete, final: asks first
        row = campaign_row(db, "camp_spring")
        assert row.status == "completed" and row.completed_at is not None
        await select_campaign(pilot, "camp_paused")
        await press(pilot, "X", "y")
        assert campaign_row(db, "camp_paused").status == "failed"
        await select_campaign(pilot, "camp_evil")  # a draft with one recipient
        await press(pilot, "s", "y")
        row = campaign_row(db, "camp_evil")
        assert row.status == "running" and row.started_at is not None


async def test_refused_move_shows_why_and_changes_nothing(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        before = campaign_row(db, "camp_done")
        await select_campaign(pilot, "camp_done")
        await press(pilot, "s")
        after = campaign_row(db, "camp_done")
        assert after.status == "completed" and after.updated_at == before.updated_at
        assert any("completed" in n for n in notifications(app))
        # a draft with no recipients can't start
        await select_campaign(pilot, "camp_draft")
        await press(pilot, "s")
        assert campaign_row(db, "camp_draft").status == "draft"
        assert any("recipient" in n.lower() for n in notifications(app))


async def test_schedule_validates_then_schedules(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_evil")
        await press(pilot, "t")
        when = app.screen.query_one("#when")
        when.value = "next tuesday"
        await press(pilot, "enter")
        assert "YYYY-MM-DD" in str(app.screen.query_one("#problem").render())
        assert campaign_row(db, "camp_evil").status == "draft"
        when.value = "2027-01-05 10:30"
        await press(pilot, "enter")
        row = campaign_row(db, "camp_evil")
        assert row.status == "scheduled"
        assert fmt.when(row.scheduled_at, app.tz) == "2027-01-05 10:30"


async def test_duplicate_and_delete_with_confirmation(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "y")
        with db.reading() as s:
            copy = s.scalar(select(Campaign).where(Campaign.name == "Spring launch (copy)"))
            assert copy.status == "draft" and copy.total_recipients == 21 - 1  # olga's left out
        assert any("20 recipients; 1 left out: suppressed" in n for n in notifications(app))
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "d")
        question = str(app.screen.query_one(".question").render())
        assert "Spring launch" in question and "21 recipients" in question
        await press(pilot, "n")
        assert campaign_row(db, "camp_spring") is not None
        await press(pilot, "d", "y")
        assert campaign_row(db, "camp_spring") is None
        with db.reading() as s:
            # the copy (olga, hard-bounced, left out), plus those of camp_paused and camp_evil
            assert s.scalar(select(func.count()).select_from(CampaignRecipient)) == 20 + 2


async def test_add_all_leads_retry_failed_and_recount(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_draft")
        await press(pilot, "a", "enter")  # empty path: every lead ...
        # ... but olga, whose hard bounce put her on the suppression list
        assert campaign_row(db, "camp_draft").total_recipients == 20
        assert any("1 suppressed" in n for n in notifications(app))
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "R")
        with db.reading() as s:
            failed = s.scalar(
                select(func.count())
                .select_from(CampaignRecipient)
                .where(CampaignRecipient.status == RecipientStatus.FAILED)
            )
        assert failed == 0
        with db.transaction() as s:
            s.execute(Campaign.__table__.update().values(emails_sent=999))
        await press(pilot, "C")
        assert campaign_row(db, "camp_spring").emails_sent == 17
        assert any("emails_sent 999→17" in n for n in notifications(app))


async def test_add_recipients_from_csv(started, db, tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text("email,name\nnew.one@example.com,New One\nnot-an-email\nana@example.com,Ana\n")
    async with started(size=(100, 30)) as (app, pilot):
        await select_campaign(pilot, "camp_draft")
        await press(pilot, "a")
        app.screen.query_one("#path").value = str(csv)
        await press(pilot, "enter")
        assert campaign_row(db, "camp_draft").total_recipients == 2
        assert any("1 lines refused" in n for n in notifications(app))
        assert str(app.screen.query_one("#lines").render()).startswith("line 3: ")


async def test_hostile_names_are_shown_literally(started):
    async with started(size=(120, 40)) as (app, _pilot):
        names = column_values(app, "#campaigns", "name")
        assert fmt.clean(HOSTILE_NAME) in names
        assert "[bold red]Black Friday[/] \\x1b[31mred\\x1b[0m" in names
