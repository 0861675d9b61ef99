"""The app through PgBouncer in transaction mode (Debian's, installed when missing): reads,
writes, --read-only, and live refresh: LISTEN through the pooler would hear nothing, so the
feed polls (said in the title), or LISTENs on --listen-url's direct connection.

The core tests run through PgBouncer in .ci/run's second pass (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import campaigns, store
from core.errors import ReadOnly
from core.store import Database, FeedState
from tests.pgbouncer import PgBouncer, pgbouncer
from tests.scale.helpers import OPEN_INES, open_spring, stats_text, until, until_feed
from tests.tui.data import NOW, seed
from tui.app import CampaignConsoleApp
from tui.screens.timeline import TimelineScreen


@pytest.fixture(scope="module")
def bouncer(pg_admin_url) -> Iterator[PgBouncer]:
    info = psycopg.conninfo.conninfo_to_dict(pg_admin_url)
    with pgbouncer(str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432)) as b:
        yield b


@pytest.fixture
def pooled(bouncer, db, db_url) -> str:
    """The test's database with the app's fixed data, through PgBouncer."""
    with db.transaction() as session:
        seed(session)
    return bouncer.url_of(db_url)


def test_reads_writes_and_read_only_through_the_pooler(pooled):
    db = Database(pooled)
    read_only = Database(pooled, read_only=True)
    try:
        for n in range(12):  # past psycopg's prepare threshold (5), on whichever server
            with db.reading() as session:
                assert session.execute(text("SHOW timezone")).scalar() == "UTC"
                assert campaigns.get_campaign(session, "camp_spring").total_recipients == 21
            with db.transaction() as session:
                session.execute(
                    text("UPDATE campaigns SET name = :n WHERE campaign_id = 'camp_spring'"),
                    {"n": f"Spring {n}"},
                )
        with read_only.reading() as session:
            assert campaigns.get_campaign(session, "camp_spring").name == "Spring 11"
        with pytest.raises(DBAPIError) as refused:
            read_only.run(lambda s: s.execute(text("DELETE FROM leads")))
        assert isinstance(store.explain(refused.value), ReadOnly)
    finally:
        db.close()
        read_only.close()


async def test_the_app_through_the_pooler_polls_and_drills_down(pooled, db_url):
    db = Database(pooled)
    app = CampaignConsoleApp(db, tz=UTC, clock=lambda: NOW, label="pooled", live=True)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until_feed(app, FeedState.POLLING)
            assert "polling every 2 s" in app.title
            assert app.feed_status is not None and "--listen-url" in app.feed_status.detail
            await open_spring(app, pilot)
            with psycopg.connect(db_url) as conn:
                conn.execute(OPEN_INES)
            await until(lambda: "Opened  10" in stats_text(app), "the polled open")
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, TimelineScreen), "the timeline")
            await until(lambda: bool(getattr(app.screen, "events", None)), "its events")
    finally:
        db.close()


async def test_listen_url_makes_the_app_live_behind_the_pooler(pooled, listen_url, db_url):
    db = Database(pooled, listen_url=listen_url)
    app = CampaignConsoleApp(db, tz=UTC, clock=lambda: NOW, label="pooled", live=True)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until_feed(app, FeedState.LIVE)
            assert "· live" in app.title
            await open_spring(app, pilot)
            with psycopg.connect(db_url) as conn:
                conn.execute(OPEN_INES)
            await until(lambda: "Opened  10" in stats_text(app), "the notified open")
    finally:
        db.close()


def test_connection_settings_hold_in_every_transaction_through_the_pooler(pooled):
    """The endpoint writer's statement_timeout goes in `options`, which PgBouncer refuses: it
    is then set in each transaction (SET LOCAL), so it holds on whichever server connection
    the pooler hands out, and a session without it (another client) never sees it."""
    db = Database(pooled, settings={"statement_timeout": "4321ms"})
    other = Database(pooled)
    try:
        for _ in range(6):
            with db.transaction() as session:
                assert session.execute(text("SHOW statement_timeout")).scalar() == "4321ms"
            with other.transaction() as session:
                assert session.execute(text("SHOW statement_timeout")).scalar() == "0"
    finally:
        db.close()
        other.close()
