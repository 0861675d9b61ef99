"""The app on a real database with fixed data and a fixed clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC

import pytest
from textual.pilot import Pilot

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


@pytest.fixture
def started(make_app) -> Callable[..., contextlib.AbstractAsyncContextManager]:
    """`async with started(size=(100, 30)) as (app, pilot):` the app on the fixed data,
    opened on the campaigns screen with its first reads done; `read_only`, `live` as make_app."""

    @contextlib.asynccontextmanager
    async def start(
        *, read_only: bool = False, live: bool = False, size: tuple[int, int] = (80, 24)
    ) -> AsyncIterator[tuple[CampaignConsoleApp, Pilot]]:
        app = make_app(read_only=read_only, live=live)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            yield app, pilot

    return start


async def settle(pilot) -> None:
    """Let workers finish and their messages be handled."""
    # A handled message can start another worker (a search as you type, say): go round until
    # nothing is running and the queue is drained.
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()
