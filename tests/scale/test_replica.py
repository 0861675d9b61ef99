"""Reads from a hot standby: the screens' core reads, read-your-writes, a notification's
commit waited for, a paused or stopped standby (reads go to the primary, said), the app on a
replica (a drill-down, and a commit elsewhere painted only once replayed), and the app
--read-only on a standby alone (live by polling)."""

from __future__ import annotations

import time
from datetime import UTC

import psycopg
from sqlalchemy import text

from core import campaigns, events, figures, recipients, store
from core.store import ChangeFeed, Database, FeedState, ReplicaState
from tests.scale.helpers import OPEN_INES, open_spring, stats_text, until
from tests.tui.data import NOW, seed
from tui.app import CampaignConsoleApp
from tui.screens.timeline import TimelineScreen


def on_standby(session) -> bool:
    return bool(session.execute(text("SELECT pg_is_in_recovery()")).scalar())


def screen_reads(session, ids: dict[str, int]) -> tuple:
    """What the screens read, through the same core calls."""
    spring = ids["spring"]
    return (
        campaigns.list_campaigns(session),
        campaigns.get_campaign(session, spring),
        campaigns.sending_state(session, spring).idle,
        recipients.recipients_page(session, spring, limit=50),
        recipients.find_recipients(session, "ana@example.com"),
        events.recipient_timeline(session, ids["ana"]),
        events.latest_events(session, limit=50),
        events.count_events(session),
        figures.campaign_stats(session, spring),
    )


def test_the_screens_reads_come_from_the_standby_and_see_the_write_just_made(replicated):
    db = replicated.database()
    direct = Database(replicated.url)
    try:
        with db.transaction() as session:  # on the primary; no wait for replay after it
            ids = seed(session)
        with db.reading() as session:
            assert on_standby(session)
            seen = screen_reads(session, ids)
        with direct.reading() as session:
            assert not on_standby(session)
            assert seen == screen_reads(session, ids)
        assert db.replica is not None and db.replica.status.state is ReplicaState.READING
    finally:
        db.close()
        direct.close()


def test_a_notification_carries_the_position_the_standby_must_reach(replicated):
    db = replicated.database()
    feed = ChangeFeed(replicated.url, with_lsn=True)
    changes = feed.changes(timeout=0.2)
    try:
        with db.transaction() as session:
            seed(session)
        assert next(changes).resync  # first, on connect
        replicated.caught_up()
        # Replay stops: a commit elsewhere reaches the primary only.
        with psycopg.connect(replicated.replica_url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
        with psycopg.connect(replicated.url) as conn:
            conn.execute(OPEN_INES)
        change = next(c for c in changes if c is not None and c.campaign_ids)
        assert change.lsn is not None
        assert db.replica is not None
        db.replica.wait = 0.3
        db.replica.want(change.lsn)
        with db.reading() as session:  # the standby can't show it: the primary does
            assert not on_standby(session)
            assert campaigns.get_campaign(session, "camp_spring").emails_opened == 10
        with psycopg.connect(replicated.replica_url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
        with db.reading() as session:  # replayed within the wait: the standby again
            assert on_standby(session)
            assert campaigns.get_campaign(session, "camp_spring").emails_opened == 10
    finally:
        feed.stop()
        changes.close()
        db.close()


def test_a_standby_too_far_behind_is_said_and_not_read(replicated):
    db = replicated.database()
    assert db.replica is not None
    db.replica.max_lag = 0.5
    try:
        with db.transaction() as session:
            seed(session)
        with psycopg.connect(replicated.replica_url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            time.sleep(0.6)
            with psycopg.connect(replicated.url) as writer:  # the primary moves on
                writer.execute(OPEN_INES)
            status = db.replica.check()
            assert status.state is ReplicaState.BEHIND and status.lag is not None
            assert status.lag > 0.5
            with db.reading() as session:
                assert not on_standby(session)
            conn.execute("SELECT pg_wal_replay_resume()")
        replicated.caught_up()
        assert db.replica.check().state is ReplicaState.READING
        with db.reading() as session:
            assert on_standby(session)
    finally:
        db.close()


def test_a_stopped_standby_sends_reads_to_the_primary_until_it_is_back(replicated):
    standby = replicated.pair.standby
    db = replicated.database()
    try:
        with db.transaction() as session:
            seed(session)
        with db.reading() as session:
            assert on_standby(session)
        standby.stop()
        with db.reading() as session:  # its pooled connection is dead: pinged, given up
            assert not on_standby(session)
            assert campaigns.get_campaign(session, "camp_spring").total_recipients == 21
        assert db.replica is not None
        status = db.replica.status
        assert status.state is ReplicaState.GONE and "cannot reach" in status.detail
        standby.start()
        assert db.replica.check().state is ReplicaState.READING
        with db.reading() as session:
            assert on_standby(session)
    finally:
        standby.start_if_stopped()
        db.close()


async def test_the_app_on_a_replica_drills_down_and_paints_a_commit_once_replayed(replicated):
    db = replicated.database()
    with db.transaction() as session:
        seed(session)
    app = CampaignConsoleApp(db, tz=UTC, clock=lambda: NOW, label="primary", live=True)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(lambda: "replica lag" in app.title and " live " in f"{app.title} ", "live")
            await open_spring(app, pilot)
            # Replay stops; a commit elsewhere: the screen must not paint the old figures
            # from the standby, but the primary's (after the wait) or the standby's once
            # replayed.
            with psycopg.connect(replicated.replica_url, autocommit=True) as conn:
                conn.execute("SELECT pg_wal_replay_pause()")
                with psycopg.connect(replicated.url) as writer:
                    writer.execute(OPEN_INES)
                await until(
                    lambda: "Opened  10" in stats_text(app),
                    what="the new open",
                    extra=lambda: app.title + stats_text(app),
                )
                conn.execute("SELECT pg_wal_replay_resume()")
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, TimelineScreen), "the timeline")
            await until(lambda: bool(getattr(app.screen, "events", None)), "timeline")
            replicated.pair.standby.stop()
            try:
                await until(lambda: "replica gone: reading primary" in app.title, "gone")
            finally:
                replicated.pair.standby.start()
            await until(lambda: "replica lag" in app.title, "back")
    finally:
        db.close()


async def test_read_only_on_a_standby_alone_is_live_by_polling(replicated):
    writer = Database(replicated.url)
    with writer.transaction() as session:
        seed(session)
    writer.close()
    replicated.caught_up()
    store.check_readable(replicated.replica_url)  # what `campaigns --read-only` checks first
    db = Database(replicated.replica_url, read_only=True)
    app = CampaignConsoleApp(db, read_only=True, tz=UTC, clock=lambda: NOW, live=True)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(
                lambda: app.feed_status is not None and app.feed_status.state is FeedState.POLLING,
                what="polling",
            )
            assert "polling every 2 s" in app.title
            assert "during recovery" in app.feed_status.detail
            await open_spring(app, pilot)
            with psycopg.connect(replicated.url) as conn:
                conn.execute(OPEN_INES)
            await until(lambda: "Opened  10" in stats_text(app), "the polled open")
    finally:
        db.close()
