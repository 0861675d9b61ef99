"""Hostile input typed into the app's forms: the new-campaign form, the schedule dialog and the
add-recipients dialog. Each refusal is a message on screen (in the dialog, or a notification),
the app keeps running, and the database is unchanged; legal input is stored and shown literally.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual import events

from tests.reliability.conftest import fingerprint
from tests.reliability.hostile import World, make_world, one, record_notifications
from tests.tui.conftest import settle
from tests.tui.data import NOW
from tests.tui.helpers import column_values, press, select_campaign
from tui import format as fmt
from tui.app import CampaignConsoleApp


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


def app_on(world: World) -> CampaignConsoleApp:
    app = CampaignConsoleApp(world.db, tz=UTC, clock=lambda: NOW, label="test", live=False)
    app.noted = record_notifications(app)
    return app


def notifications(app) -> list[str]:
    return app.noted


def problem(app) -> str:
    """The dialog's own error line."""
    return str(app.screen.query_one("#problem").content)


async def submit(pilot, value: str, *, field: str) -> None:
    pilot.app.screen.query_one(field).value = value
    pilot.app.screen.query_one(field).focus()
    await press(pilot, "enter")


async def answered(pilot, before_notes: int, timeout: float = 20.0, *, note=False) -> None:
    """Until the input got its answer: a message in the dialog, or a new notification (a write
    worker's, which may come a while after the keys on a loaded machine)."""
    app = pilot.app
    for _ in range(int(timeout / 0.05)):
        if len(notifications(app)) > before_notes or (
            not note and app.screen.query("#problem") and problem(app)
        ):
            break
        await pilot.pause(0.05)
    await settle(pilot)


class Outcome:
    """What one input did: the dialog's message or a new notification, and the database."""

    def __init__(self, app, before_notes: int, before_db, url: str) -> None:
        self.in_dialog = problem(app) if app.screen.query("#problem") else None
        self.notes = notifications(app)[before_notes:]
        self.unchanged = fingerprint(url) == before_db


async def try_input(pilot, world: World, key: str, field: str, value: str, *, paste=False):
    app = pilot.app
    before_notes, before_db = len(notifications(app)), fingerprint(world.url)
    await press(pilot, key)
    if paste:
        app.screen.query_one(field).focus()
        app.screen.query_one(field).post_message(events.Paste(value))
        await settle(pilot)
        await press(pilot, "enter")
    else:
        await submit(pilot, value, field=field)
    await answered(pilot, before_notes)
    outcome = Outcome(app, before_notes, before_db, world.url)
    if app.screen.query("#problem"):
        await press(pilot, "escape")  # the dialog stayed open: close it for the next input
    assert app.is_running
    return outcome


TEN_THOUSAND = "y" * 10_000
MARKUP = "[b]Promo[/b] \x1b[31mred\x1b[0m [link=https://evil.test]x[/link]"

# (id, value, where the refusal shows: "dialog" or "note", what it says); None: stored.
NEW_CAMPAIGN = [
    ("name-empty", "", "dialog", "A campaign needs a name."),
    ("name-blank", "   ", "dialog", "A campaign needs a name."),
    ("name-nul", "Promo\x00", "note", "can't contain a NUL character"),
    ("name-lone-surrogate", "Promo \udcff", "note", "not valid Unicode"),
    ("name-10000-chars-typed-past-the-limit", TEN_THOUSAND, "note", "this one has 10000"),
    ("name-markup-and-escapes", MARKUP, None, None),
]


async def test_a_name_typed_past_255_characters_is_refused_not_cut(world: World):
    """Key by key, as a person types (or a terminal delivers a paste without bracketing)."""
    app = app_on(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        before_notes, before_db = len(notifications(app)), fingerprint(world.url)
        await press(pilot, "n")
        app.screen.query_one("#name").focus()
        await pilot.press(*("z" * 260))
        await press(pilot, "enter")
        await answered(pilot, before_notes)
        got = Outcome(app, before_notes, before_db, world.url)
        assert got.unchanged, "a campaign was created with its name cut"
        assert "at most 255 characters; this one has 260" in " ".join(got.notes), got.notes


async def test_new_campaign_form(world: World):
    app = app_on(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for case_id, value, where, says in NEW_CAMPAIGN:
            got = await try_input(pilot, world, "n", "#name", value)
            if where is None:
                assert one(world.url, "SELECT count(*) FROM campaigns WHERE name = %s", value) == 1
                assert fmt.clean(value) in column_values(app, "#campaigns", "name"), case_id
                continue
            assert got.unchanged, case_id
            shown = got.in_dialog if where == "dialog" else " ".join(got.notes)
            assert says in shown, (case_id, got.in_dialog, got.notes)

        # A 10,000-character paste is refused as too long, not dropped or cut to fit.
        got = await try_input(pilot, world, "n", "#name", TEN_THOUSAND, paste=True)
        assert got.unchanged and "this one has 10000" in " ".join(got.notes), got.notes

        # Template ids: the field takes digits only; a value set around that is still checked.
        await press(pilot, "n")
        app.screen.query_one("#name").value = "Template test"
        got_before = fingerprint(world.url)
        await submit(pilot, "12x", field="#template")
        assert problem(app) == "Template id must be a whole number."
        before_notes = len(notifications(app))
        await submit(pilot, "99999999999", field="#template")
        await answered(pilot, before_notes, note=True)
        assert "out of range (0 to 2147483647)" in notifications(app)[-1]
        assert fingerprint(world.url) == got_before


SCHEDULE = [
    ("words", "next tuesday", "dialog", "Write the time as YYYY-MM-DD HH:MM"),
    ("empty", "", "dialog", "Write the time as YYYY-MM-DD HH:MM"),
    ("february-30", "2026-02-30 10:00", "dialog", "Write the time as YYYY-MM-DD HH:MM"),
    ("hour-25", "2026-12-01 25:00", "dialog", "Write the time as YYYY-MM-DD HH:MM"),
    ("escape-bytes", "\x1b[2J2026-12-01 10:00", "dialog", "Write the time as YYYY-MM-DD HH:MM"),
    ("in-the-past", "2000-01-01 00:00", "note", "is not in the future"),
]


async def test_schedule_dialog(world: World):
    app = app_on(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_evil")  # a draft with a recipient
        for case_id, value, where, says in SCHEDULE:
            got = await try_input(pilot, world, "t", "#when", value)
            assert got.unchanged, case_id
            shown = got.in_dialog if where == "dialog" else " ".join(got.notes)
            assert says in shown, (case_id, got.in_dialog, got.notes)
        # A time with its own zone is legal: stored as that instant.
        await try_input(pilot, world, "t", "#when", "2030-12-01T09:00+05:00")
        stored = one(
            world.url, "SELECT scheduled_at FROM campaigns WHERE campaign_id = 'camp_evil'"
        )
        assert stored == datetime(2030, 12, 1, 4, 0, tzinfo=UTC)


async def test_add_recipients_dialog(world: World, tmp_path):
    files = {
        "latin1.csv": "email\nrené@example.com\n".encode("latin-1"),
        "columns.csv": b"a@example.com,A,Acme,extra\n",
        "literal.csv": f"new.person@example.com,{MARKUP}\n".encode(),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    cases = [
        ("missing", str(tmp_path / "nope.csv"), "Can't read"),
        ("directory", str(tmp_path), "Can't read"),
        ("nul-in-path", f"{tmp_path}/a\x00.csv", "not a file name"),
        ("latin-1", str(tmp_path / "latin1.csv"), "Line 2 is not UTF-8"),
        ("four-columns", str(tmp_path / "columns.csv"), "Imported 0 recipients"),
    ]
    app = app_on(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_draft")
        for case_id, value, says in cases:
            got = await try_input(pilot, world, "a", "#path", value)
            assert got.unchanged, case_id
            assert says in " ".join(got.notes), (case_id, got.notes)
        assert "1 bad lines (line 1: 4 columns" in notifications(app)[-1]

        got = await try_input(pilot, world, "a", "#path", str(tmp_path / "literal.csv"))
        assert "Imported 1 recipients" in got.notes[-1]
        name = "SELECT name FROM leads WHERE email = 'new.person@example.com'"
        assert one(world.url, name) == MARKUP
