"""docs/scaling.md's claim, tested: email_tracking partitioned by month in a scratch database
(a copy of ours, converted in place). The seed's keys need changing for it (the primary key
takes created_at; the dedup key's unique index and the suppressions' foreign key to an event
can't stay as they are); our statement-level triggers and the screens' queries run unchanged.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import text

from core import campaigns, events
from core.events import EventInput, record_event
from core.figures.counters import recount
from tests.tui.data import seed

MONTHS = ("2026-09-01", "2026-10-01", "2026-11-01", "2026-12-01", "2027-01-01")

CONVERT = [
    # The foreign key to an event's id alone can't point at a partitioned table (below).
    "ALTER TABLE suppressions DROP CONSTRAINT suppressions_source_event_id_fkey",
    "ALTER TABLE email_tracking RENAME TO email_tracking_flat",
    "CREATE TABLE email_tracking (LIKE email_tracking_flat INCLUDING DEFAULTS"
    " INCLUDING CONSTRAINTS INCLUDING GENERATED) PARTITION BY RANGE (created_at)",
    "ALTER TABLE email_tracking ADD PRIMARY KEY (id, created_at)",
    "ALTER TABLE email_tracking ADD FOREIGN KEY (campaign_recipient_id)"
    " REFERENCES campaign_recipients (id) ON DELETE CASCADE",
    *(
        f"CREATE TABLE email_tracking_{start[:7].replace('-', '_')} PARTITION OF email_tracking"
        f" FOR VALUES FROM ('{start}') TO ('{end}')"
        for start, end in itertools.pairwise(MONTHS)
    ),
    "CREATE TABLE email_tracking_other PARTITION OF email_tracking DEFAULT",
]


def _convert(conn: psycopg.Connection) -> None:
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'email_tracking'"
        " AND indexname <> 'email_tracking_pkey'"
    ).fetchall()
    triggers = conn.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger"
        " WHERE tgrelid = 'email_tracking'::regclass AND NOT tgisinternal"
    ).fetchall()
    for statement in CONVERT:
        conn.execute(statement)
    for name, definition in indexes:
        # The old table keeps its names: the new indexes take them once it is dropped.
        conn.execute(f"ALTER INDEX {name} RENAME TO {name}_flat")
        if name == "uq_email_tracking_dedup_key":
            refused = pytest.raises(errors.FeatureNotSupported, match="partitioning columns")
            with refused, conn.transaction():
                conn.execute(definition)
            # Unique per month only: the same key in two months would be stored twice.
            definition = definition.replace("(dedup_key)", "(dedup_key, created_at)")
        conn.execute(definition)
    for (definition,) in triggers:  # as they are: on the partitioned table
        conn.execute(definition)
    conn.execute("SET session_replication_role = replica")  # copy: no trigger fires again
    conn.execute("INSERT INTO email_tracking SELECT * FROM email_tracking_flat")
    conn.execute("SET session_replication_role = DEFAULT")
    conn.execute("ALTER SEQUENCE email_tracking_id_seq OWNED BY email_tracking.id")
    conn.execute("DROP TABLE email_tracking_flat")
    refused = pytest.raises(errors.InvalidForeignKey, match="no unique constraint")
    with refused, conn.transaction():
        conn.execute(
            "ALTER TABLE suppressions ADD FOREIGN KEY (source_event_id)"
            " REFERENCES email_tracking (id) ON DELETE SET NULL"
        )


def test_email_tracking_partitioned_by_month_keeps_our_triggers_and_queries(db, db_url):
    with db.transaction() as session:
        ids = seed(session)
    with psycopg.connect(db_url, autocommit=True) as conn:
        _convert(conn)
        parts = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'email_tracking'::regclass"
        ).fetchone()
        assert parts == (5,)
    before = db.run(lambda s: campaigns.get_campaign(s, "camp_spring"))

    # Writes through our own code: the statement triggers (counters, rollup, change feed,
    # suppression) fire on the partitioned table, rows go to their month's partition.
    ines = db.run(
        lambda s: s.execute(
            text("SELECT id FROM campaign_recipients WHERE email_address = 'ines@example.com'")
        ).scalar_one()
    )
    for when in (datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC)):
        db.run(
            lambda s, when=when: record_event(
                s, EventInput("open", recipient_id=ines, created_at=when)
            )
        )
    db.run(lambda s: record_event(s, EventInput("bounce", recipient_id=ines)))
    after = db.run(lambda s: campaigns.get_campaign(s, "camp_spring"))
    assert after.emails_opened == before.emails_opened + 1
    assert after.emails_bounced == before.emails_bounced + 1
    with db.reading() as session:
        where = session.execute(
            text(
                "SELECT tableoid::regclass::text, count(*) FROM email_tracking"
                " WHERE campaign_recipient_id = :r GROUP BY 1 ORDER BY 1"
            ),
            {"r": ines},
        ).all()
        # November's open; December's open and the bounce (now, 2026-12 when this was written;
        # a later month goes to the default partition).
        assert where[0] == ("email_tracking_2026_11", 1) and sum(n for _, n in where) == 3
        timeline = events.recipient_timeline(session, ines)
        assert [e.event_type for e in timeline.events][-3:] == ["open", "bounce", "open"]
        assert events.latest_events(session, campaign="camp_spring", limit=5)
        assert events.count_events(session) > 0

    # The dedup key: ON CONFLICT (dedup_key) has no unique index to infer any more.
    with pytest.raises(Exception, match="no unique or exclusion constraint"):
        db.run(lambda s: record_event(s, EventInput("open", recipient_id=ines, dedup_key="k1")))

    # A cascade from a deleted recipient reaches the partitions, and its trigger the rollup.
    db.run(lambda s: s.execute(text("DELETE FROM campaign_recipients WHERE id = :r"), {"r": ines}))
    assert db.run(lambda s: recount(s)) == ()  # counters and rollup equal a recount
    assert ids["spring"]
