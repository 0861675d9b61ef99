"""A read that fails says the read failed, in one short notification; writes keep saying
that nothing was written."""

from __future__ import annotations

import socket
from datetime import UTC

from core.store import Database
from tests.tui.conftest import settle
from tests.tui.data import NOW
from tests.tui.helpers import notifications
from tui.app import CampaignConsoleApp


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


async def test_a_failed_read_says_so_in_a_short_notification():
    database = Database(f"postgresql://postgres@127.0.0.1:{_closed_port()}/gone")
    try:
        app = CampaignConsoleApp(database, tz=UTC, clock=lambda: NOW, label="t", live=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            shown = notifications(app)
            assert shown == ["Could not read campaigns: server unreachable"]
            assert not any("written" in text for text in shown)
    finally:
        database.close()
