"""The templates screen through Pilot: the list, a new template and an edit through a stand-in
$EDITOR (saved; a broken edit refused and the editor reopened with the error on top), delete
with confirmation (refused while an unfinished campaign uses it), the preview, and the
campaign form's template picker."""

from __future__ import annotations

from sqlalchemy import select, text

from core.store import Campaign
from tests.messages.test_template_cli import editor_script
from tests.tui.conftest import settle
from tests.tui.helpers import press


def _names(app) -> list[str]:
    table = app.screen.query_one("#templates")
    return [str(table.get_row(k)[0]) for k in table.rows]


async def test_list_and_edit_in_the_editor(started, db, tmp_path, monkeypatch):
    broken = "Name: Spring launch\nSubject: Hi {{ nmae }}\n\n<p>x</p>\n"
    fixed = "Name: Spring launch v2\nSubject: Hi {{ name }}\n\n<p>Hello {{ name }}</p>\n"
    monkeypatch.setenv("VISUAL", editor_script(tmp_path, [broken, fixed]))
    async with started(size=(100, 30)) as (app, pilot):
        await press(pilot, "T")
        assert type(app.screen).__name__ == "TemplatesScreen"
        assert _names(app) == ["December digest", "Spring launch"]
        await press(pilot, "down", "e")
        await settle(pilot)
        assert "Spring launch v2" in _names(app)
    seen = (tmp_path / "seen.txt").read_text().splitlines()
    assert seen[0] == "Name: Spring launch"
    assert seen[1].startswith("#! subject, line 1: no field 'nmae'")
    with db.reading() as s:
        row = s.execute(text("SELECT subject, html_body FROM templates WHERE id = 1")).one()
    assert tuple(row) == ("Hi {{ name }}", "<p>Hello {{ name }}</p>\n")


async def test_new_given_up_saves_nothing(started, db, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", editor_script(tmp_path, [""]))
    async with started(size=(100, 30)) as (_app, pilot):
        await press(pilot, "T", "n")
        await settle(pilot)
    with db.reading() as s:
        assert s.execute(text("SELECT count(*) FROM templates")).scalar_one() == 2


async def test_new_template(started, db, tmp_path, monkeypatch):
    new = "Name: Winter\nSubject: Cold, {{ name }}?\n\n<p>Brr</p>\n"
    monkeypatch.setenv("VISUAL", editor_script(tmp_path, [new]))
    async with started(size=(100, 30)) as (app, pilot):
        await press(pilot, "T", "n")
        await settle(pilot)
        assert "Winter" in _names(app)


async def test_delete_asks_and_refuses_while_used(started, db):
    async with started(size=(100, 30)) as (app, pilot):
        await press(pilot, "T", "down", "d")  # Spring launch: camp_spring (running) uses it
        assert type(app.screen).__name__ == "ConfirmDialog"
        await press(pilot, "y")
        await settle(pilot)
        assert "Spring launch" in _names(app)
        await press(pilot, "up", "d", "y")  # December digest: unused
        await settle(pilot)
        assert _names(app) == ["Spring launch"]


async def test_preview(started):
    async with started(size=(120, 40)) as (app, pilot):
        await press(pilot, "T", "down", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "PreviewScreen"
        shown = str(app.screen.query_one("#preview-text").render())
        assert "Subject: Spring is here, Ana" in shown
        assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in shown
        assert "https://example.com/spring?utm_source=email&utm_campaign=spring" in shown
        await press(pilot, "r")
        app.screen.query_one("#address").value = "ben@example.com"
        await press(pilot, "enter")
        await settle(pilot)
        assert "Spring is here, Ben" in str(app.screen.query_one("#preview-text").render())
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "TemplatesScreen"


async def test_campaign_form_picks_a_template(started, db):
    async with started(size=(100, 30)) as (_app, pilot):
        await press(pilot, "n")
        await settle(pilot)
        await pilot.press(*"Holiday promo")
        await press(pilot, "tab", "enter", "down", "down", "enter")
        await settle(pilot)
        await press(pilot, "enter")
        await settle(pilot)
        with db.reading() as s:
            created = s.scalar(select(Campaign).where(Campaign.name == "Holiday promo"))
        assert created is not None and created.template_id is not None
