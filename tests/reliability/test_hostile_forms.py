"""Hostile input typed into the app's forms: the new-campaign form, the schedule dialog and the
add-recipients dialog. Each refusal is a message in the dialog, which stays open with the input
kept; the app keeps running, and the database is unchanged; legal input is stored and shown
literally.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual import events
from textual.screen import ModalScreen

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
    """The dialog's own error line ("saving…" while the save runs: no answer yet)."""
    text = str(app.screen.query_one("#problem").content)
    return "" if text == "saving…" else text


async def submit(pilot, value: str, *, field: str) -> None:
    pilot.app.screen.query_one(field).value = value
    pilot.app.screen.query_one(field).focus()
    await press(pilot, "enter")


async def answered(pilot, before_notes: int, timeout: float = 20.0) -> None:
    """Until the input got its answer: a message in the dialog, or a new notification (the
    save's, which may come a while after the keys on a loaded machine)."""
    app = pilot.app
    for _ in range(int(timeout / 0.05)):
        if len(notifications(app)) > before_notes or (
            app.screen.query("#problem") and problem(app)
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
    outcome.field = app.screen.query_one(field).value if app.screen.query(field) else None
    while isinstance(app.screen, ModalScreen):
        await press(pilot, "escape")  # a dialog stayed open (or a report came): close it
    assert app.is_running
    return outcome


TEN_THOUSAND = "y" * 10_000
MARKUP = "[b]Promo[/b] \x1b[31mred\x1b[0m [link=https://evil.test]x[/link]"

# (id, value, where the refusal shows: "dialog" or "note", what it says); None: stored.
NEW_CAMPAIGN = [
    ("name-empty", "", "dialog", "A campaign needs a name."),
    ("name-blank", "   ", "dialog", "A campaign needs a name."),
    ("name-nul", "Promo\x00", "dialog", "can't contain a NUL character"),
    ("name-lone-surrogate", "Promo \udcff", "dialog", "not valid Unicode"),
    ("name-10000-chars", TEN_THOUSAND, "dialog", "this one has 10000"),
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
        assert "at most 255 characters; this one has 260" in (got.in_dialog or ""), got.notes
        assert app.screen.query_one("#name").value == "z" * 260  # kept, to correct


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
            assert got.field == value, case_id  # the input is kept to correct

        # A 10,000-character paste: the field takes all of it (nothing cut) and core refuses.
        got = await try_input(pilot, world, "n", "#name", TEN_THOUSAND, paste=True)
        assert got.unchanged and "this one has 10000" in got.in_dialog
        assert got.field == TEN_THOUSAND

        # The template is picked from the list; one no template has (deleted since the list
        # was read, say) is refused by core, naming it.
        await press(pilot, "n")
        app.screen.query_one("#name").value = "Template test"
        got_before = fingerprint(world.url)
        app.screen.query_one("#template").set_options([("gone", 99999)])
        app.screen.query_one("#template").value = 99999
        before_notes = len(notifications(app))
        await submit(pilot, "Template test", field="#name")
        await answered(pilot, before_notes)
        assert "No template with id 99999" in problem(app)
        assert fingerprint(world.url) == got_before


SCHEDULE = [
    ("words", "next tuesday", "dialog", "is not an ISO-8601 time: write YYYY-MM-DD HH:MM"),
    ("empty", "", "dialog", "is not an ISO-8601 time: write YYYY-MM-DD HH:MM"),
    ("february-30", "2026-02-30 10:00", "dialog", "is not an ISO-8601 time"),
    ("hour-25", "2026-12-01 25:00", "dialog", "is not an ISO-8601 time"),
    ("escape-bytes", "\x1b[2J2026-12-01 10:00", "dialog", "'\\x1b[2J2026-12-01 10:00' is not"),
    ("in-the-past", "2000-01-01 00:00", "dialog", "is not in the future"),
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
    ]
    app = app_on(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_draft")
        for case_id, value, says in cases:
            got = await try_input(pilot, world, "a", "#path", value)
            assert got.unchanged, case_id
            assert says in got.in_dialog, (case_id, got.in_dialog)
            assert got.field == value, case_id

        # four columns: nothing imported, and the report says which line and why
        await press(pilot, "a")
        await submit(pilot, str(tmp_path / "columns.csv"), field="#path")
        for _ in range(400):
            if app.screen.query("#lines"):
                break
            await pilot.pause(0.05)
        assert str(app.screen.query_one("#lines").render()).startswith("line 1: 4 columns")
        assert "Imported 0 recipients" in notifications(app)[-1]
        await press(pilot, "escape")

        got = await try_input(pilot, world, "a", "#path", str(tmp_path / "literal.csv"))
        assert "Imported 1 recipients" in got.notes[-1]
        name = "SELECT name FROM leads WHERE email = 'new.person@example.com'"
        assert one(world.url, name) == MARKUP
