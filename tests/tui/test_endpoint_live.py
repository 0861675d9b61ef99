"""An open made through the tracking endpoint (a real `campaigns serve` process, a real HTTP
client) shows on an open console's campaigns screen with no key pressed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text

from core import tracking
from core.store import FeedState
from tests.endpoint.server import start_server
from tests.tui.helpers import cell_text, table

pytestmark = pytest.mark.slow


async def until(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


def spring_cell(app, column: str) -> str:
    key = next(k for k, c in app.screen.summaries.items() if c.campaign_id == "camp_spring")
    return cell_text(table(app, "#campaigns").get_cell(key, column))


async def test_an_open_through_the_endpoint_shows_on_the_campaigns_screen(
    make_app, db, db_url, ids, tmp_path
):
    with db.reading() as session:
        ines = session.scalar(
            text(
                "SELECT id FROM campaign_recipients WHERE email_address = 'ines@example.com'"
                " AND campaign_id = :c"
            ),
            {"c": ids["spring"]},
        )
    ring = db.run(tracking.load_keyring)
    token = tracking.sign(ring, ids["spring"], ines)
    server = await asyncio.to_thread(start_server, db_url, tmp_path / "spool")
    try:
        app = make_app(live=True)
        async with app.run_test(size=(120, 40)):
            await until(
                lambda: (
                    bool(getattr(app.screen, "summaries", None))
                    and app.feed_status is not None
                    and app.feed_status.state is FeedState.LIVE
                ),
                what="the live campaigns screen",
            )
            assert spring_cell(app, "open_rate") == f"{9 * 100 / 17:.1f}"
            async with httpx.AsyncClient(base_url=server.url) as client:
                r = await client.get(f"{tracking.TRACK_PREFIX}/{token}/open")
            assert r.status_code == 200
            await until(
                lambda: spring_cell(app, "open_rate") == f"{10 * 100 / 17:.1f}",
                what="the open on screen",
            )
    finally:
        assert await asyncio.to_thread(server.stop) == 0
