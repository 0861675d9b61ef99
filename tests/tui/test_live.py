"""Live refresh: commits from elsewhere show up on screen with no key pressed; a restarted
server is survived ("reconnecting", then "live" again with fresh data)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC

import psycopg
import pytest

from core.store import Database, FeedState
from tests.tui.data import NOW, seed
from tests.tui.helpers import cell_text, table
from tui.app import CampaignConsoleApp


async def until(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> float:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


def spring_cell(app, column: str) -> str:
    screen = app.screen
    key = next(k for k, c in screen.summaries.items() if c.campaign_id == "camp_spring")
    return cell_text(table(app, "#campaigns").get_cell(key, column))


def is_live(app) -> bool:
    return app.feed_status is not None and app.feed_status.state is FeedState.LIVE


async def test_rates_move_when_another_connection_commits(make_app, db_url):
    app = make_app(live=True)
    async with app.run_test(size=(120, 40)):
        await until(lambda: bool(getattr(app.screen, "summaries", None)) and is_live(app))
        assert "live" in app.title
        assert spring_cell(app, "open_rate") == f"{9 * 100 / 17:.1f}"
        # ines..pavel were sent and never opened: open three of them from another program.
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "INSERT INTO email_tracking (campaign_recipient_id, event_type, created_at)"
                " SELECT id, 'open', now() FROM campaign_recipients"
                " WHERE email_address IN ('ines@example.com','jon@example.com','kira@example.com')"
            )
            conn.execute(
                "UPDATE campaign_recipients SET opened_at = now()"
                " WHERE email_address IN ('ines@example.com','jon@example.com','kira@example.com')"
                " AND campaign_id = (SELECT id FROM campaigns WHERE campaign_id = 'camp_spring')"
            )
        await until(lambda: spring_cell(app, "open_rate") == f"{12 * 100 / 17:.1f}", what="rate")
        # marked so the eye catches it
        key = next(k for k, c in app.screen.summaries.items() if c.campaign_id == "camp_spring")
        cell = table(app, "#campaigns").get_cell(key, "open_rate")
        assert "reverse" in str(cell.style) or any("reverse" in str(s.style) for s in cell.spans)


async def test_cursor_and_filter_stay_put_on_refresh(make_app, db_url):
    app = make_app(live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: bool(getattr(app.screen, "summaries", None)) and is_live(app))
        await pilot.press("slash", *"e", "enter")  # names with an e
        await until(lambda: app.screen.query_state.search == "e")
        shown = list(table(app, "#campaigns").row_keys)
        t = table(app, "#campaigns")
        t.move_cursor(row=2)
        cursor_key = t.current_key()
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE campaigns SET name = name || ' e' WHERE campaign_id = 'camp_done'")
        await until(
            lambda: any(
                cell_text(t.get_cell(k, "name")) == "October newsletter e" for k in t.row_keys
            ),
            what="renamed row",
        )
        assert list(t.row_keys) == shown and t.current_key() == cursor_key
        assert app.screen.query_state.search == "e"


async def test_pausing_live_refresh_holds_changes_until_resumed(make_app, db_url):
    app = make_app(live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: bool(getattr(app.screen, "summaries", None)) and is_live(app))
        await pilot.press("ctrl+l")
        assert "paused" in app.title
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE campaigns SET name = 'Renamed' WHERE campaign_id = 'camp_done'")
        await asyncio.sleep(0.8)
        assert "Renamed" not in [c.name for c in app.screen.summaries.values()]
        await pilot.press("ctrl+l")
        await until(lambda: "Renamed" in [c.name for c in app.screen.summaries.values()])


@pytest.mark.slow
async def test_server_restart_shows_reconnecting_then_live_with_fresh_data(own_server):
    # A server of its own (conftest.own_server): stopping the suite's would fail other tests.
    url = own_server.new_database("cc_live")
    database = Database(url)
    try:
        with database.transaction() as session:
            seed(session)
        app = CampaignConsoleApp(database, tz=UTC, clock=lambda: NOW, label="t", live=True)
        async with app.run_test(size=(120, 40)):
            await until(lambda: bool(getattr(app.screen, "summaries", None)) and is_live(app))
            await asyncio.to_thread(own_server.stop)
            await until(lambda: "reconnecting since" in app.title, what="reconnecting")
            await asyncio.sleep(0.5)
            assert app.is_running
            await asyncio.to_thread(own_server.start)
            await until(lambda: is_live(app) and app.title.endswith("live"), what="live again")
            with psycopg.connect(url) as conn:
                conn.execute("UPDATE campaigns SET name = 'After restart' WHERE id = 1")
            await until(
                lambda: "After restart" in [c.name for c in app.screen.summaries.values()],
                what="fresh data",
            )
    finally:
        database.close()
        own_server.start()  # running again for the next test that uses it
