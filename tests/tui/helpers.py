"""Driving the app in tests: select rows, read cells, read the database back."""

from __future__ import annotations

from rich.text import Text
from sqlalchemy import select

from core.store import Campaign
from tests.tui.conftest import settle
from tui.widgets.table import ResponsiveTable


def table(app, selector: str) -> ResponsiveTable:
    return app.screen.query_one(selector, ResponsiveTable)


def cell_text(value) -> str:
    return value.plain if isinstance(value, Text) else str(value)


def column_values(app, selector: str, column: str) -> list[str]:
    t = table(app, selector)
    return [cell_text(t.get_cell(key, column)) for key in t.row_keys]


async def select_campaign(pilot, campaign_id: str) -> None:
    screen = pilot.app.screen
    for key, summary in screen.summaries.items():
        if summary.campaign_id == campaign_id:
            t = table(pilot.app, "#campaigns")
            t.move_cursor(row=t.get_row_index(key))
            await pilot.pause()
            return
    raise AssertionError(f"{campaign_id} is not shown")


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def campaign_row(db, campaign_id: str) -> Campaign | None:
    with db.reading() as session:
        return session.scalar(select(Campaign).where(Campaign.campaign_id == campaign_id))


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]
