"""The export dialog by the keys a terminal sends: focus, Enter on a choice, Enter in the file
box, the Export button, `~`, and the picked choice under NO_COLOR (issue 11.8)."""

from __future__ import annotations

import csv
import json

from core import figures
from tests.tui.conftest import settle
from tests.tui.helpers import notifications, press, select_campaign
from tui.widgets.choices import Choice, ChoiceSet
from tui.widgets.export_dialog import ExportDialog


async def open_dialog(pilot, campaign_id: str = "camp_spring") -> ExportDialog:
    await settle(pilot)
    await select_campaign(pilot, campaign_id)
    await press(pilot, "x")
    dialog = pilot.app.screen
    assert isinstance(dialog, ExportDialog)
    return dialog


def read_csv(path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


async def test_focus_starts_on_the_first_choice_and_enter_on_a_choice_moves_on(
    make_app, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot)
        assert app.focused is dialog.query_one("#what")
        await press(pilot, "right", "enter")  # events, and on to the format
        assert app.screen is dialog and list(tmp_path.iterdir()) == []
        assert app.focused is dialog.query_one("#format")
        await press(pilot, "enter")  # CSV, and on to the file box
        assert app.focused is dialog.query_one("#path")
        assert dialog.query_one("#path").value == "camp_spring-events.csv"
        await press(pilot, "enter")  # exports
        assert app.screen is not dialog
    rows = read_csv(tmp_path / "camp_spring-events.csv")
    assert rows[0] == list(figures.EVENT_FIELDS) and len(rows) == 1 + 6
    assert list(tmp_path.iterdir()) == [tmp_path / "camp_spring-events.csv"]
    assert any("Exported 6 rows (events)" in n for n in notifications(app))


async def test_keys_faster_than_the_choice_messages_export_what_was_picked(
    make_app, tmp_path, monkeypatch
):
    """Over SSH the keys come in one burst: the file is the kind picked, not the one before."""
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dialog(pilot)
        await pilot.press("right", "right", "enter", "enter", "enter")  # links, csv, export
        await settle(pilot)
    rows = read_csv(tmp_path / "camp_spring-links.csv")
    assert rows[0] == list(figures.LINK_FIELDS)


async def test_every_core_format_is_offered_and_jsonl_writes_lines(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot)
        offered = [c.name for c in dialog.query_one("#format", ChoiceSet).query(Choice)]
        assert offered == list(figures.FORMATS) and "jsonl" in offered
        await press(pilot, "right", "enter")  # events
        await press(pilot, "left", "enter")  # the last format: JSON lines
        assert dialog.query_one("#path").value == "camp_spring-events.jsonl"
        assert app.focused is dialog.query_one("#path")
        dialog.query_one("#path").value = "~/spring.jsonl"
        await press(pilot, "tab")
        assert app.focused is dialog.query_one("#export")
        await press(pilot, "enter")  # the Export button
        assert app.screen is not dialog
    lines = (tmp_path / "spring.jsonl").read_text().splitlines()
    assert len(lines) == 6 and {json.loads(x)["event_type"] for x in lines} >= {"open", "click"}


def line_of(app, widget) -> tuple[str, list[bool]]:
    """What the screen shows on a widget's row, after the app's filters (NO_COLOR's greys),
    and which of its characters are bold."""
    region = widget.region
    strip = app.screen._compositor.render_strips()[region.y].crop(region.x, region.right)
    text, bold = "", []
    for segment in strip:
        text += segment.text
        bold += [bool(segment.style and segment.style.bold)] * len(segment.text)
    return text, bold


async def test_the_picked_choice_stands_out_without_colour(make_app, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot)
        await press(pilot, "right", "enter")  # events picked; the highlight left the row
        for choice in dialog.query_one("#what").query(Choice):
            text, bold = line_of(app, choice)
            label_bold = all(b for ch, b in zip(text, bold, strict=True) if ch.isalpha())
            if choice.name == "events":
                assert "●" in text and label_bold, text
            else:
                assert "●" not in text and not any(bold), text
