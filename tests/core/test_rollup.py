"""The event rollup (migration 0007) equals the figures computed from the events after every
kind of write: core.events.record's single and batch paths, plain SQL inserts, deletes of events,
recipients and campaigns, event_data updates, reclassify, recipients moved between campaigns,
TRUNCATE; under concurrent writers; and after a rebuild of a load that skipped the triggers."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb
from sqlalchemy import text

from core import events as machine
from core import figures as an
from core import figures as rollup
from core.campaigns import delete_campaign
from core.events import EventInput, record_event, record_events
from core.figures import activity, activity_from_events, recount
from core.store import Database
from tests.factories import make_campaign, make_recipients

BASE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = BASE + timedelta(days=6)
LONG_URL = "https://example.com/" + "x" * 5000  # beyond what a btree entry can hold
URLS = [None, "", "https://example.com/a", "https://example.com/b?q=[1]", LONG_URL]
BOUNCES = [
    {"bounce_type": "hard", "error_code": 550},
    {"bounce_type": "Permanent", "error_code": "550"},
    {"bounce_type": "soft", "error_code": 421},
    {"bounce_type": "TRANSIENT"},
    {"bounce_type": "weird", "error_code": ""},
    {"error_code": 554},
    None,
]
AGENTS = [None, "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0", "curl/8.4.0", "Mozilla/5.0"]
IPS = [None, "203.0.113.9", "17.58.1.2"]
TYPES = ["open", "open", "open", "click", "click", "bounce", "reply", "forward", "unsubscribe"]
TYPES += ["complain"]
TABLES = tuple(table.name for table in rollup.TABLES)

ROLLUP_DIGEST = """
SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
    SELECT 'c' || t::text AS x FROM rollup_campaigns t
    UNION ALL SELECT 'h' || t::text FROM rollup_hours t
    UNION ALL SELECT 'l' || t::text FROM rollup_links t
    UNION ALL SELECT 'b' || t::text FROM rollup_bounce_codes t
    UNION ALL SELECT 'r' || t::text FROM rollup_recipients t
    UNION ALL SELECT 'k' || t::text FROM rollup_recipient_keys t
) AS s
"""


def figures(session, pk, exact_from_events: bool):
    """Everything the analytics screen shows from events, from the rollup or the events."""
    if exact_from_events:
        return (
            an.campaign_stats_from_events(session, pk),
            an.link_clicks_from_events(session, pk),
            an.bounce_codes_from_events(session, pk),
            activity_from_events(session, pk, start=BASE, now=NOW),
        )
    return (
        an.campaign_stats(session, pk),
        an.link_clicks(session, pk),
        an.bounce_codes(session, pk),
        activity(session, pk, start=BASE, now=NOW),
    )


def assert_exact(db: Database, url: str) -> None:
    """Every campaign's figures from the rollup equal those from the events, and the rollup's
    rows (per recipient too, no rows left at zero) equal a rebuild's."""
    with db.reading() as s:
        pks = list(s.scalars(text("SELECT id FROM campaigns ORDER BY id")))
        for pk in pks:
            assert figures(s, pk, False) == figures(s, pk, True), f"campaign {pk}"
    with psycopg.connect(url) as conn:
        kept = conn.execute(ROLLUP_DIGEST).fetchone()
        conn.execute("SELECT cc_rollup_rebuild(NULL)")
        assert conn.execute(ROLLUP_DIGEST).fetchone() == kept
        conn.rollback()


def _event(rng: random.Random, rid: int) -> EventInput:
    t = rng.choice(TYPES)
    data = None
    if t == "click":
        url = rng.choice(URLS)
        data = {"link_url": url} if url is not None or rng.random() < 0.5 else {}
    elif t == "bounce":
        data = rng.choice(BOUNCES)
    if t in ("open", "click") and rng.random() < 0.2:
        data = dict(data or {}, machine=True)  # the classifier replaces this verdict
    return EventInput(
        t,
        recipient_id=rid,
        event_data=data,
        user_agent=rng.choice(AGENTS),
        ip_address=rng.choice(IPS),
        # Some within 2 s of sent_at: "too-fast"; the rest spread over five days.
        created_at=BASE + timedelta(seconds=rng.choice([1, 30, 3600 * 7, rng.randrange(432000)])),
    )


_SQL_INSERT = """
INSERT INTO email_tracking (campaign_recipient_id, event_type, event_data, user_agent, created_at)
SELECT * FROM unnest(%s::int[], %s::text[], %s::jsonb[], %s::text[], %s::timestamptz[])
"""


def _plain_insert(conn, rng: random.Random, rids: list[int], n: int) -> None:
    rows = []
    for _ in range(n):
        e = _event(rng, rng.choice(rids))
        data = e.event_data
        if rng.random() < 0.1:
            data = rng.choice([[1, 2], "text", {"machine": "yes"}, {"link_url": 7}])
        rows.append((e.recipient_id, e.event_type, Jsonb(data), e.user_agent, e.created_at))
    conn.execute(_SQL_INSERT, [list(c) for c in zip(*rows, strict=True)])


@pytest.fixture
def world(db):
    """Three running campaigns of 30 sent recipients each."""
    with db.transaction() as s:
        rids = {}
        for name in ("a", "b", "c"):
            c = make_campaign(s, f"camp_{name}", status="running", started_at=BASE)
            rids[c.id] = make_recipients(s, c, 30, status="sent", sent_at=BASE)
    return rids


def test_rollup_is_exact_after_random_writes_of_every_kind(db, db_url, world):
    rng = random.Random(6)
    campaigns = list(world)
    every = [r for rids in world.values() for r in rids]
    for step in range(36):
        kind = step % 12
        if kind in (0, 6):  # core's single-event path
            with db.transaction() as s:
                for _ in range(5):
                    record_event(s, _event(rng, rng.choice(every)))
        elif kind in (1, 7):  # core's batch path
            with db.transaction() as s:
                record_events(s, [_event(rng, rng.choice(every)) for _ in range(40)])
        elif kind == 2:  # another program's INSERT
            with psycopg.connect(db_url) as conn:
                _plain_insert(conn, rng, every, 30)
        elif kind == 3:  # events deleted
            with psycopg.connect(db_url) as conn:
                conn.execute("DELETE FROM email_tracking WHERE id %% 7 = %s", (step % 7,))
        elif kind == 4:  # event_data rewritten: link, bounce kind, a verdict by hand
            with psycopg.connect(db_url) as conn:
                conn.execute(
                    "UPDATE email_tracking SET event_data = CASE event_type"
                    " WHEN 'click' THEN jsonb_build_object('link_url', 'https://example.com/u')"
                    ' WHEN \'bounce\' THEN \'{"bounce_type": "soft", "error_code": 451}\''
                    " ELSE COALESCE(event_data, '{}') || '{\"machine\": true}' END"
                    " WHERE id %% 5 = %s",
                    (step % 5,),
                )
        elif kind == 5:  # user agents changed, then reclassify rewrites the verdicts
            with psycopg.connect(db_url) as conn:
                conn.execute(
                    "UPDATE email_tracking SET user_agent = 'python-requests/2.31' WHERE id % 4 = 0"
                )
            with db.transaction() as s:
                machine.reclassify(s, campaigns[step % 3])
        elif kind == 8:  # recipients deleted with their events (a cascade)
            with psycopg.connect(db_url) as conn:
                gone = rng.sample(every, 3)
                conn.execute("DELETE FROM campaign_recipients WHERE id = ANY(%s)", (gone,))
            every = [r for r in every if r not in gone]
        elif kind == 9:  # a recipient moved to another campaign, its events with it
            with psycopg.connect(db_url) as conn:
                moved = rng.choice(every)
                conn.execute(
                    "UPDATE campaign_recipients SET campaign_id = %s WHERE id = %s",
                    (campaigns[(step // 12 + 1) % 3], moved),
                )
        elif kind == 10:  # type, time and recipient of events changed
            with psycopg.connect(db_url) as conn:
                conn.execute(
                    "UPDATE email_tracking SET created_at = created_at + interval '90 minutes',"
                    " event_type = CASE event_type WHEN 'open' THEN 'click' ELSE event_type END,"
                    " campaign_recipient_id = %s WHERE id %% 9 = %s",
                    (rng.choice(every), step % 9),
                )
        else:  # several statements in one transaction, one of them undone
            with psycopg.connect(db_url) as conn:
                _plain_insert(conn, rng, every, 10)
                with conn.transaction():
                    conn.execute("SAVEPOINT x")
                    _plain_insert(conn, rng, every, 10)
                    conn.execute("ROLLBACK TO SAVEPOINT x")
                conn.execute("DELETE FROM email_tracking WHERE id % 11 = 0")
        assert_exact(db, db_url)
    with db.reading() as s:
        stats = an.campaign_stats(s, campaigns[0])
    assert stats.total_opens and stats.machine_opens and stats.human_opens
    assert stats.hard_bounces and stats.soft_bounces and stats.unique_clicks


def test_a_deleted_campaign_leaves_no_rollup_and_truncate_empties_it(db, db_url, world):
    rng = random.Random(7)
    every = [r for rids in world.values() for r in rids]
    with db.transaction() as s:
        record_events(s, [_event(rng, rng.choice(every)) for _ in range(200)])
    first = next(iter(world))
    with db.transaction() as s:
        delete_campaign(s, first)
    with psycopg.connect(db_url) as conn:
        for table in TABLES:
            left = conn.execute(f"SELECT count(*) FROM {table} WHERE campaign_id = %s", (first,))
            assert left.fetchone() == (0,), table
    assert_exact(db, db_url)
    # Deleted with triggers off (as core.demo.reset does): discard takes the rollup away.
    second = list(world)[1]
    with psycopg.connect(db_url) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")  # never a pooled session's
        for sql_text in (
            "DELETE FROM email_tracking e USING campaign_recipients r"
            " WHERE r.id = e.campaign_recipient_id AND r.campaign_id = %s",
            "DELETE FROM campaign_recipients WHERE campaign_id = %s",
            "DELETE FROM campaigns WHERE id = %s",
        ):
            conn.execute(sql_text, (second,))
    with db.transaction() as s:
        rollup.discard(s, [second])
    with psycopg.connect(db_url) as conn:
        for table in TABLES:
            left = conn.execute(f"SELECT count(*) FROM {table} WHERE campaign_id = %s", (second,))
            assert left.fetchone() == (0,), table
    assert_exact(db, db_url)
    with psycopg.connect(db_url) as conn:
        conn.execute("TRUNCATE email_tracking CASCADE")
        assert conn.execute("SELECT count(*) FROM rollup_recipients").fetchone() == (0,)
    assert_exact(db, db_url)


def test_rebuild_after_a_load_that_skipped_the_triggers(db, db_url, world):
    rng = random.Random(8)
    every = [r for rids in world.values() for r in rids]
    pk = next(iter(world))
    with psycopg.connect(db_url) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")  # as core.demo.large
        _plain_insert(conn, rng, world[pk], 300)
    with db.reading() as s:
        assert an.campaign_stats(s, pk).total_opens == 0  # nothing counted yet
        assert an.campaign_stats_from_events(s, pk).total_opens > 0
    with db.transaction() as s:
        drifts = recount(s, pk)
    names = {d.counter for d in drifts}
    assert {"rollup open events", "rollup open recipients", "rollup events by hour"} <= names
    assert all(d.campaign_id == "camp_a" and d.stored == 0 and d.actual > 0 for d in drifts)
    assert_exact(db, db_url)
    with db.transaction() as s:
        assert recount(s, pk) == ()
        record_events(s, [_event(rng, rng.choice(every)) for _ in range(50)])
    assert_exact(db, db_url)
    # A count off by hand is found and repaired by a rebuild of everything.
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE rollup_links SET recipients = recipients + 1")
        conn.execute("INSERT INTO rollup_hours VALUES (999999, now(), 'open', 1, 0)")  # orphan
    with db.transaction() as s:
        drifts = rollup.rebuild(s)
    assert drifts and all(d.figure == "clicks by link" for d in drifts)
    assert_exact(db, db_url)


def _writer(url: str, rids: list[int], kind: str, barrier: threading.Barrier, errors: list):
    """First opens and clicks of the same recipients as the other writers, at the same time."""
    db = Database(url)
    try:
        barrier.wait()
        for rid in rids:
            if kind == "single":
                db.run(lambda s, r=rid: record_event(s, EventInput("open", recipient_id=r)))
            elif kind == "batch":
                events = [EventInput(t, recipient_id=rid) for t in ("open", "click")]
                db.run(lambda s, e=events: record_events(s, e))
            else:
                with psycopg.connect(url) as conn:
                    conn.execute(
                        "INSERT INTO email_tracking (campaign_recipient_id, event_type, event_data)"
                        " VALUES (%s, 'click', %s)",
                        (rid, Jsonb({"link_url": "https://example.com/same"})),
                    )
    except BaseException as exc:  # reported by the test
        errors.append(exc)
    finally:
        db.close()


def test_concurrent_first_opens_and_clicks_of_the_same_recipients(db, db_url, world):
    pks = list(world)
    # Every writer walks the same recipients of two campaigns (in its own order), so many
    # transactions record the first open or click of one recipient at the same moment.
    shared = world[pks[0]][:15] + world[pks[1]][:15]
    kinds = ["single", "batch", "sql", "single", "batch", "sql"]
    barrier = threading.Barrier(len(kinds))
    errors: list = []
    threads = []
    for i, kind in enumerate(kinds):
        order = shared[:] if i % 2 else shared[::-1]
        args = (db_url, order, kind, barrier, errors)
        threads.append(threading.Thread(target=_writer, args=args))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert_exact(db, db_url)
    with db.reading() as s:
        stats = an.campaign_stats(s, pks[0])
        links = an.link_clicks(s, pks[0])
    assert (stats.unique_opens, stats.total_opens) == (15, 2 * 15 * 2)
    assert (stats.unique_clicks, stats.total_clicks) == (15, 4 * 15)
    assert [(x.unique_clicks, x.total_clicks) for x in links] == [(15, 30), (15, 30)]


def test_repeatable_read_writers_fail_rather_than_count_twice(db, db_url, world):
    rid = world[next(iter(world))][0]
    insert = "INSERT INTO email_tracking (campaign_recipient_id, event_type) VALUES (%s, 'open')"
    with psycopg.connect(db_url) as a, psycopg.connect(db_url) as b:
        for conn in (a, b):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            conn.execute("SELECT 1")  # the snapshot is taken
        a.execute(insert, (rid,))
        done = threading.Event()
        failure: list = []

        def second() -> None:
            try:
                b.execute(insert, (rid,))  # waits for a's lock on the campaign
                b.commit()
            except psycopg.errors.SerializationFailure as exc:
                failure.append(exc)
                b.rollback()
            done.set()

        t = threading.Thread(target=second)
        t.start()
        assert not done.wait(0.5)  # it waits for the first writer
        a.commit()
        t.join(30)
    assert failure, "the second writer counted the recipient's first open again"
    assert_exact(db, db_url)
    with db.reading() as s:
        stats = an.campaign_stats(s, next(iter(world)))
    assert (stats.unique_opens, stats.total_opens) == (1, 1)


def test_migration_builds_the_rollup_from_stored_events_and_downgrade_drops_it(empty_db_url):
    from core import store

    url = empty_db_url
    store.upgrade(url, "0006_machine_events_index")
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO leads (id, email) VALUES (1, 'a@x.example'), (2, 'b@x.example')")
        conn.execute("INSERT INTO campaigns (id, campaign_id, name) VALUES (1, 'm', 'M')")
        conn.execute(
            "INSERT INTO campaign_recipients (id, campaign_id, lead_id, email_address)"
            " VALUES (1, 1, 1, 'a@x.example'), (2, 1, 2, 'b@x.example')"
        )
        _plain_insert(conn, random.Random(9), [1, 2], 60)
    store.upgrade(url)
    db = Database(url)
    try:
        assert_exact(db, url)
        with db.reading() as s:
            assert an.campaign_stats(s, 1).total_opens > 0
    finally:
        db.close()
    store.downgrade(url, "0006_machine_events_index")  # below 0007, whatever head is
    with psycopg.connect(url) as conn:
        left = conn.execute(
            "SELECT (SELECT count(*) FROM pg_tables WHERE tablename LIKE 'rollup%'),"
            " (SELECT count(*) FROM pg_proc WHERE proname LIKE 'cc_rollup%'),"
            " (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'cc_rollup%')"
        ).fetchone()
        assert left == (0, 0, 0)
        _plain_insert(conn, random.Random(10), [1, 2], 20)  # written while there is no rollup
    store.upgrade(url)
    db = Database(url)
    try:
        assert_exact(db, url)
    finally:
        db.close()
