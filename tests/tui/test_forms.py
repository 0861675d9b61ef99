"""The forms (new, edit, schedule, add recipients) by the keys a terminal sends: a refusal keeps
the form open with the message in it and the input kept; the schedule form names its zone and
offers a future example, and reads a time the way the CLI does; an import lists every refused
line and expands `~` (issue 11.11)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from textual import events

from core.store import Campaign
from tests.tui.conftest import settle
from tests.tui.data import NOW
from tests.tui.helpers import campaign_row, notifications, press, select_campaign
from tests.tui.test_cli import cli  # noqa: F401  (the fixture)
from tui.app import CampaignConsoleApp
from tui.widgets.dialogs import AddRecipientsDialog, CampaignForm, ScheduleDialog

BERLIN = ZoneInfo("Europe/Berlin")


def problem(app) -> str:
    return str(app.screen.query_one("#problem").render())


def campaigns(db) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(Campaign))


async def paste(pilot, text: str) -> None:
    """What a terminal sends for a paste (bracketed paste): one Paste event to the focus."""
    pilot.app.post_message(events.Paste(text))
    await settle(pilot)


@pytest.mark.parametrize("key", ["n", "e"])
async def test_a_refused_name_keeps_the_form_open_with_the_message(make_app, db, key):
    app = make_app()
    before = campaigns(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_draft")
        await press(pilot, key)
        form = app.screen
        assert isinstance(form, CampaignForm)
        await press(pilot, "ctrl+u")  # the edit form starts with the name in it
        await paste(pilot, "x" * 3000)
        await press(pilot, "enter")
        assert app.screen is form  # still open ...
        assert "at most 255 characters; this one has 3000" in problem(app)
        assert form.query_one("#name").value == "x" * 3000  # ... nothing cut, nothing lost
        assert campaigns(db) == before and campaign_row(db, "camp_draft").name == "Welcome series"
        await press(pilot, "ctrl+u", *"Winter promo", "enter")
        assert app.screen.id == "campaigns-screen"
    if key == "n":
        assert campaigns(db) == before + 1
        assert any(n.startswith("Created ") for n in notifications(app))
    else:
        assert campaign_row(db, "camp_draft").name == "Winter promo"


def berlin_app(db) -> CampaignConsoleApp:
    return CampaignConsoleApp(db, tz=BERLIN, clock=lambda: NOW, label="test database", live=False)


async def test_schedule_names_the_zone_offers_a_future_example_and_keeps_a_refusal(db, ids):
    app = berlin_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_evil")
        await press(pilot, "t")
        dialog = app.screen
        assert isinstance(dialog, ScheduleDialog)
        shown = " ".join(str(label.render()) for label in dialog.query("Label, .hint"))
        assert "Europe/Berlin, UTC+01:00" in shown
        # the example is tomorrow 09:00 by the app's clock (NOW is 2026-11-02 12:00 UTC)
        assert "2026-11-03 09:00" in shown
        assert dialog.query_one("#when").placeholder == "e.g. 2026-11-03 09:00"
        await press(pilot, "ctrl+u", *"2026-11-01 09:00", "enter")  # the past: refused
        assert app.screen is dialog
        assert "is not in the future" in problem(app)
        assert dialog.query_one("#when").value == "2026-11-01 09:00"
        assert campaign_row(db, "camp_evil").status == "draft"
        await press(pilot, "ctrl+u", *"2026-11-03 09:00", "enter")  # no zone: Berlin's
        assert app.screen is not dialog
    row = campaign_row(db, "camp_evil")
    assert row.status == "scheduled"
    assert row.scheduled_at == datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    assert any("(Europe/Berlin, UTC+01:00)" in n for n in notifications(app))


async def test_schedule_refuses_a_time_the_clocks_skip(db, ids):
    app = berlin_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_evil")
        await press(pilot, "t", "ctrl+u", *"2027-03-28 02:30", "enter")
        assert isinstance(app.screen, ScheduleDialog)
        assert "doesn't exist in Europe/Berlin" in problem(app)
        await press(pilot, "ctrl+u", *"2027-03-28 02:30+01:00", "enter")  # a zone: that moment
        assert not isinstance(app.screen, ScheduleDialog)
    assert campaign_row(db, "camp_evil").scheduled_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


@pytest.fixture
def berlin_machine(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_cli_reads_a_time_without_a_zone_as_the_app_does(cli, db, berlin_machine):  # noqa: F811
    code, out, err = cli("status", "camp_evil", "schedule", "--at", "2030-01-01T09:00")
    assert code == 0, err
    assert "scheduled for 2030-01-01 09:00 (Europe/Berlin, UTC+01:00)" in out
    assert campaign_row(db, "camp_evil").scheduled_at == datetime(2030, 1, 1, 8, tzinfo=UTC)
    code, _, err = cli("status", "camp_evil", "unschedule")
    code, _, err = cli("status", "camp_evil", "schedule", "--at", "2030-03-31 02:30")
    assert code == 1 and "doesn't exist in Europe/Berlin" in err


async def test_import_lists_every_refused_line_and_expands_home(
    started, db, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "people.csv").write_text(
        "email,name\n"
        "new.one@example.com,New One\n"
        "not-an-email\n"
        "ana@example.com,Ana\n"
        "two@@example.com\n"
        "\x1b[31mred@example.com\n"
        "new.two@example.com\n"
    )
    async with started(size=(80, 24)) as (app, pilot):
        await select_campaign(pilot, "camp_draft")
        await press(pilot, "a", *"~/people.csv", "enter")
        report = app.screen
        assert campaign_row(db, "camp_draft").total_recipients == 3
        lines = str(report.query_one("#lines").render()).split("\n")
        assert [line.split(":")[0] for line in lines] == ["line 3", "line 5", "line 6"]
        assert all("\x1b" not in line for line in lines) and "\\x1b[31mred" in lines[2]
        assert "3 lines refused" in str(report.query_one("#summary").render())
        await press(pilot, "enter")
        assert app.screen.id == "campaigns-screen"
    assert any("Imported 3 recipients" in n for n in notifications(app))


async def test_an_unreadable_file_keeps_the_dialog_open_with_the_path(make_app, db, tmp_path):
    app = make_app()
    missing = str(tmp_path / "nope.csv")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_draft")
        await press(pilot, "a", *missing, "enter")
        assert isinstance(app.screen, AddRecipientsDialog)
        assert "Can't read" in problem(app)
        assert app.screen.query_one("#path").value == missing
        await press(pilot, "ctrl+u", "enter")  # empty: every lead
        assert app.screen.id == "campaigns-screen"
    assert campaign_row(db, "camp_draft").total_recipients == 20
