"""The change feed hears commits from other connections, coalesces bursts, survives restarts."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC

import psycopg
import pytest
from psycopg import sql

from core.store import (
    APPLICATION_NAME,
    Campaign,
    ChangeFeed,
    ChangeSet,
    Database,
    EmailTracking,
    EventType,
    FeedState,
    FeedStatus,
)
from tests.factories import make_campaign, make_recipients

RESYNC = ChangeSet(frozenset(), resync=True)


class Consumer:
    """Runs a feed's generator in a thread, as the app's worker will, and records what it saw."""

    def __init__(
        self, feed: ChangeFeed, statuses: list[FeedStatus], timeout: float = 0.2, work: float = 0
    ):
        self.feed = feed
        self.work = work
        self.statuses = statuses
        self.timeout = timeout
        self.items: queue.Queue[tuple[float, ChangeSet]] = queue.Queue()
        self.wakeups = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for item in self.feed.changes(timeout=self.timeout):
            if item is None:
                self.wakeups += 1
            else:
                self.items.put((time.monotonic(), item))
                time.sleep(self.work)

    def next_change(self, within: float = 2.0) -> ChangeSet | None:
        try:
            return self.items.get(timeout=within)[1]
        except queue.Empty:
            return None

    def timed_change(self, within: float = 2.0) -> tuple[float, ChangeSet] | None:
        try:
            return self.items.get(timeout=within)
        except queue.Empty:
            return None

    def states(self) -> list[FeedState]:
        """States in order, consecutive repeats (detail updates) folded."""
        out: list[FeedState] = []
        for status in list(self.statuses):
            if not out or out[-1] is not status.state:
                out.append(status.state)
        return out

    def wait_for_state(self, state: FeedState, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while self.feed.status.state is not state:
            assert time.monotonic() < deadline, f"never {state}: {self.statuses}"
            time.sleep(0.01)

    def stop(self) -> None:
        self.feed.stop()
        self.thread.join(5)
        assert not self.thread.is_alive(), "the feed did not stop"


@pytest.fixture
def consume() -> Iterator[Callable[..., Consumer]]:
    started: list[Consumer] = []

    def start(url: str, feed_class: type[ChangeFeed] = ChangeFeed, timeout=0.2, work=0, **kwargs):
        statuses: list[FeedStatus] = []
        kwargs.setdefault("poll_interval", 0.2)
        kwargs.setdefault("retry_initial", 0.1)
        kwargs.setdefault("retry_max", 0.5)
        feed = feed_class(url, on_status=statuses.append, **kwargs)
        consumer = Consumer(feed, statuses, timeout, work)
        started.append(consumer)
        return consumer

    yield start
    # Before the database is dropped, or the feed would keep retrying it for the session.
    for consumer in started:
        consumer.stop()


def live(consume, url: str, **kwargs) -> Consumer:
    consumer = consume(url, **kwargs)
    assert consumer.next_change(within=5) == RESYNC
    return consumer


def feed_backends(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            (APPLICATION_NAME,),
        ).fetchone()[0]


def wait_until(predicate: Callable[[], bool], within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_first_change_is_a_resync_and_status_goes_live(listen_url, consume):
    consumer = live(consume, listen_url)

    assert consumer.states() == [FeedState.CONNECTING, FeedState.LIVE]
    status = consumer.feed.status
    assert status.since.tzinfo is UTC
    assert status.detail.startswith("Listening for changes on postgresql://")
    assert feed_backends(listen_url) == 1


def test_commits_from_another_connection_name_their_campaign(db, listen_url, consume):
    with db.transaction() as s:
        first, second = make_campaign(s), make_campaign(s)
        [recipient] = make_recipients(s, second, 1)
    consumer = live(consume, listen_url)

    started = time.monotonic()
    with db.transaction() as s:
        make_recipients(s, first, 3)
    seen = consumer.timed_change(within=2)
    assert seen is not None and seen[1] == ChangeSet(frozenset({first.id}))
    latency = seen[0] - started
    assert latency < 1.0

    with db.transaction() as s:
        s.add(EmailTracking(campaign_recipient_id=recipient, event_type=EventType.OPEN))
    assert consumer.next_change() == ChangeSet(frozenset({second.id}))

    with db.transaction() as s:
        s.get(Campaign, first.id).name = "Renamed"
    assert consumer.next_change() == ChangeSet(frozenset({first.id}))


def test_a_rolled_back_transaction_sends_nothing(db, listen_url, consume):
    with db.transaction() as s:
        first, second = make_campaign(s), make_campaign(s)
    consumer = live(consume, listen_url)

    with db.sessions() as s:
        make_recipients(s, first, 5)
        s.rollback()
    assert consumer.next_change(within=0.6) is None

    with db.transaction() as s:
        make_recipients(s, second, 1)
    assert consumer.next_change() == ChangeSet(frozenset({second.id}))


def _commit_burst(url: str, ids: list[int], commits: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for n in range(commits):
            conn.execute(
                "UPDATE campaigns SET name = %s WHERE id = %s", (f"burst {n}", ids[n % len(ids)])
            )


def test_a_burst_queued_while_the_consumer_is_busy_comes_as_one_change_set(db, listen_url):
    with db.transaction() as s:
        ids = [make_campaign(s).id for _ in range(3)]
    feed = ChangeFeed(listen_url)
    changes = feed.changes(timeout=0.3)
    try:
        assert next(changes) == RESYNC
        # The generator is suspended, as while the app redraws: 200 commits pile up.
        _commit_burst(listen_url, ids, 200)
        sets = []
        while (item := next(changes)) is not None:
            sets.append(item)
    finally:
        feed.stop()
        changes.close()

    assert 1 <= len(sets) <= 2
    assert frozenset().union(*(c.campaign_ids for c in sets)) == frozenset(ids)
    assert not any(c.resync for c in sets)


def test_a_burst_during_slow_refreshes_is_coalesced_and_nothing_is_lost(db, listen_url, consume):
    with db.transaction() as s:
        ids = [make_campaign(s).id for _ in range(3)]
    # Each change set costs the consumer 50 ms, as a redraw would.
    consumer = live(consume, listen_url, work=0.05)

    started = time.monotonic()
    _commit_burst(listen_url, ids, 200)
    burst = time.monotonic() - started
    sets: list[ChangeSet] = []
    while (change := consumer.next_change(within=0.6)) is not None:
        sets.append(change)

    assert frozenset().union(*(c.campaign_ids for c in sets)) == frozenset(ids)
    # At most one change set per consumer cycle (plus the one in flight), whatever the burst.
    assert len(sets) <= burst / 0.05 + 2, (len(sets), burst)
    assert len(sets) < 100


def test_a_payload_without_a_campaign_id_asks_for_a_resync(listen_url, consume):
    consumer = live(consume, listen_url)
    with psycopg.connect(listen_url, autocommit=True) as conn:
        conn.execute("NOTIFY campaign_changes, 'not a number'")
    assert consumer.next_change() == RESYNC


def test_stop_from_another_thread_ends_the_generator_at_once(listen_url, consume):
    # A long timeout: only stop()'s wake-up, not the next timeout, can end it promptly.
    consumer = live(consume, listen_url, timeout=30)
    assert feed_backends(listen_url) == 1

    started = time.monotonic()
    consumer.feed.stop()
    consumer.thread.join(2)
    elapsed = time.monotonic() - started

    assert not consumer.thread.is_alive()
    assert elapsed < 1.0
    assert consumer.feed.status.state is FeedState.STOPPED
    assert consumer.states()[-1] is FeedState.STOPPED
    assert wait_until(lambda: feed_backends(listen_url) == 0)
    # A stopped feed stays stopped.
    assert list(consumer.feed.changes(timeout=0.1)) == []


def test_one_consumer_at_a_time(listen_url):
    feed = ChangeFeed(listen_url)
    first = feed.changes(timeout=0.1)
    try:
        assert next(first) == RESYNC
        with pytest.raises(RuntimeError, match="already"):
            next(feed.changes(timeout=0.1))
    finally:
        first.close()
    assert feed.status.state is FeedState.STOPPED
    assert wait_until(lambda: feed_backends(listen_url) == 0)


def test_unreachable_server_is_retried_with_the_password_masked(consume):
    url = "postgresql://u:sekrit@127.0.0.1:1/x"
    consumer = consume(url, timeout=0.05, retry_initial=0.05, retry_max=0.2)

    assert wait_until(lambda: len(consumer.statuses) >= 5)
    consumer.stop()  # and stop() also ends it while it waits to retry
    details = [s.detail for s in consumer.statuses]
    assert all("sekrit" not in d for d in details), details
    assert any("postgresql://u:***@127.0.0.1:1/x" in d for d in details), details
    assert any("retrying" in d for d in details), details
    assert consumer.states() == [FeedState.CONNECTING, FeedState.STOPPED]
    assert consumer.items.empty()
    # Backoff doubles up to retry_max: 0.05, 0.1, 0.2, 0.2.
    retries = [d.split("retrying in ")[1].split(" s")[0] for d in details if "retrying" in d]
    assert retries[:4] == ["0.05", "0.1", "0.2", "0.2"]


def test_stop_while_waiting_to_retry_is_prompt(consume):
    consumer = consume("postgresql://u@127.0.0.1:1/x", timeout=30, retry_initial=30, retry_max=30)
    assert wait_until(lambda: "retrying" in consumer.feed.status.detail)
    started = time.monotonic()
    consumer.stop()
    assert time.monotonic() - started < 1.0


def test_a_killed_connection_is_replaced_and_a_resync_follows(db, listen_url, consume):
    with db.transaction() as s:
        campaign = make_campaign(s)
    consumer = live(consume, listen_url)
    live_since = consumer.feed.status.since

    with psycopg.connect(listen_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            (APPLICATION_NAME,),
        )
    assert consumer.next_change(within=5) == RESYNC
    assert consumer.states() == [
        FeedState.CONNECTING,
        FeedState.LIVE,
        FeedState.RECONNECTING,
        FeedState.LIVE,
    ]
    assert consumer.feed.status.since > live_since

    with db.transaction() as s:
        make_recipients(s, campaign, 1)
    assert consumer.next_change() == ChangeSet(frozenset({campaign.id}))


class PooledChangeFeed(ChangeFeed):
    """LISTEN answered the way a transaction-mode pooler refuses it.

    The real server raises the error (SQLSTATE 0A000, feature_not_supported) in reply to the
    feed's subscribe statement, so the feed's real path runs: psycopg raises FeatureNotSupported
    from execute(), the connection stays healthy, and the feed must switch to polling.
    """

    def listen_statement(self) -> sql.Composable:
        return sql.SQL(
            "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', "
            "MESSAGE = 'LISTEN is not supported in transaction pooling mode'; END $$"
        )


def test_refused_listen_falls_back_to_polling(db, listen_url, consume):
    consumer = consume(listen_url, PooledChangeFeed, timeout=0.05, poll_interval=0.2)

    polls = [consumer.timed_change(within=2) for _ in range(4)]
    assert all(p is not None and p[1] == RESYNC for p in polls)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(polls)]
    assert all(0.15 <= gap <= 1.0 for gap in gaps), gaps
    assert consumer.states() == [FeedState.CONNECTING, FeedState.POLLING]
    detail = consumer.feed.status.detail
    assert "transaction pooling" in detail and "every 0.2 s" in detail
    assert consumer.wakeups >= 3  # None between polls, so a consumer can check for cancel
    # Polling holds no connection.
    assert feed_backends(listen_url) == 0


@pytest.mark.slow
def test_feed_survives_a_server_restart(consume, own_server):
    # A server of its own (conftest.own_server): stopping the suite's would fail other tests.
    url = own_server.new_database("cc_restart")
    db = Database(url)
    try:
        with db.transaction() as s:
            campaign = make_campaign(s)
        consumer = live(consume, url)

        own_server.stop()
        consumer.wait_for_state(FeedState.RECONNECTING)
        lost_since = consumer.feed.status.since
        time.sleep(1.0)  # several failed attempts while the server is down
        assert consumer.feed.status.state is FeedState.RECONNECTING
        assert consumer.feed.status.since == lost_since
        assert "retrying" in consumer.feed.status.detail

        own_server.start()
        assert consumer.next_change(within=10) == RESYNC
        assert consumer.states() == [
            FeedState.CONNECTING,
            FeedState.LIVE,
            FeedState.RECONNECTING,
            FeedState.LIVE,
        ]

        db.engine.dispose()  # its pooled connections died with the server
        with db.transaction() as s:
            make_recipients(s, campaign, 1)
        assert consumer.next_change() == ChangeSet(frozenset({campaign.id}))
        consumer.stop()
    finally:
        db.close()
        own_server.start()  # running again for the next test that uses it
