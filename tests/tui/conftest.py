"""The app on a real database with fixed data and a fixed clock."""

from __future__ import annotations

from datetime import UTC

import pytest

from core.store import Database
from tests.tui.data import NOW, seed
from tui.app import CampaignConsoleApp


@pytest.fixture
def ids(db) -> dict[str, int]:
    with db.transaction() as session:
        return seed(session)


@pytest.fixture
def make_app(db, ids):
    made: list[Database] = []

    def factory(*, read_only: bool = False, live: bool = False) -> CampaignConsoleApp:
        database = db
        if read_only:
            database = Database(db.url, read_only=True)
            made.append(database)
        return CampaignConsoleApp(
            database,
            read_only=read_only,
            tz=UTC,
            clock=lambda: NOW,
            label="test database",
            live=live,
        )

    yield factory
    for database in made:
        database.close()


async def settle(pilot) -> None:
    """Let workers finish and their messages be handled."""
    # A handled message can start another worker (a search as you type, say): go round until
    # nothing is running and the queue is drained.
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()
