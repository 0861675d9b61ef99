"""Sorting as a person does it: a picker on `o`, a click on a header, the palette; the arrow
on the sorted column even when it is narrow, never on a stale one; remembered between runs."""

from __future__ import annotations

import pytest

from tests.tui.conftest import settle
from tests.tui.helpers import column_values, press, table
from tests.tui.test_drill_down import wait_for_palette
from tui import state
from tui.widgets.sort_picker import SortPicker


def header_line(app, selector: str = "#campaigns") -> str:
    return table(app, selector).render_line(0).text


def open_rates(app) -> list[float]:
    return [float(v) for v in column_values(app, "#campaigns", "open_rate")]


async def test_o_opens_a_picker_and_the_rate_column_shows_the_arrow_at_80(started):
    async with started(size=(80, 24)) as (app, pilot):
        await press(pilot, "o")
        assert isinstance(app.screen, SortPicker)
        await press(pilot, *["down"] * 6, "enter")  # created, name, id, ..., open rate
        assert open_rates(app) == sorted(open_rates(app), reverse=True)
        assert "Open▼" in header_line(app)
        await press(pilot, "O")
        assert open_rates(app) == sorted(open_rates(app))
        assert "Open▲" in header_line(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_no_stale_arrow_after_sorting_by_another_column(started, size):
    async with started(size=size) as (app, pilot):
        await press(pilot, "o", "down", "enter")  # name
        assert "Name ▲" in header_line(app)
        await press(pilot, "o", "down", "enter")  # campaign id: not shown at 80 columns
        line = header_line(app)
        assert "Name ▲" not in line and "▲" not in line[:20]
        assert ("Campaign id ▲" in line) == (size[0] == 120)


async def test_clicking_a_header_sorts_and_a_second_click_reverses(started):
    async with started(size=(120, 40)) as (app, pilot):
        t = table(app, "#campaigns")
        x = 0
        for column in t.ordered_columns:
            if column.key.value == "open_rate":
                break
            x += column.get_render_width(t)
        await pilot.click("#campaigns", offset=(x + 2, 0))
        await settle(pilot)
        assert open_rates(app) == sorted(open_rates(app), reverse=True)
        await pilot.click("#campaigns", offset=(x + 2, 0))
        await settle(pilot)
        assert open_rates(app) == sorted(open_rates(app))


async def test_the_palette_sorts_by_open_rate_and_the_sort_is_remembered(
    make_app, started, state_home
):
    async with started(size=(120, 40)) as (app, pilot):
        await pilot.press("ctrl+p", *"sort by open rate")
        await wait_for_palette(pilot, "Sort by open rate")
        await press(pilot, "enter")
        assert open_rates(app) == sorted(open_rates(app), reverse=True)
    assert state.state_file().is_relative_to(state_home)
    assert state.load("campaigns") == {"sort": "open_rate", "descending": True}
    again = make_app()
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert open_rates(again) == sorted(open_rates(again), reverse=True)
        assert "sorted by open rate ▼" in str(again.screen.query_one("#status-line").render())
