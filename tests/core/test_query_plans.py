"""Every analytics query uses an index, never a Seq Scan of recipients or events.

One database per module: 2,000 small campaigns (10 recipients each), then one campaign of
200,000 recipients added after them (so its rows come last in the table, the case where
walking the primary key and filtering is worst), ~300,000 events, then VACUUM ANALYZE.
Each statement a core call runs is EXPLAINed (FORMAT JSON) on the same connection, with the
same parameters and settings, just before it runs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import event
from sqlalchemy.engine import make_url

from core import events, figures, recipients
from core.figures import activity
from core.store import Database, libpq_url

pytestmark = pytest.mark.slow

BIG = 200_000
SMALL_CAMPAIGNS = 2_000
WATCHED = {"campaign_recipients", "email_tracking"}
_WATCHED_INDEXES: set[str] = set()  # filled by big_db from the catalog

_LOAD = [
    f"""INSERT INTO leads (email, name)
        SELECT 'lead' || g || '@' || (ARRAY['example.com', 'mail.test', 'corp.example'])[1 + g % 3],
               'Lead ' || g
        FROM generate_series(1, {BIG}) g""",
    f"""INSERT INTO campaigns (campaign_id, name, status, created_at)
        SELECT 'small_' || g, 'Small ' || g, 'running', now() - interval '1 day'
        FROM generate_series(1, {SMALL_CAMPAIGNS}) g""",
    """INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status, sent_at,
                                        opened_at, clicked_at)
       SELECT c.id, l.id, l.email, 'sent', now() - interval '20 hours',
              CASE WHEN k < 5 THEN now() - interval '19 hours' END,
              CASE WHEN k < 2 THEN now() - interval '18 hours' END
       FROM campaigns c CROSS JOIN generate_series(0, 9) k
       JOIN leads l ON l.id = (c.id * 10 + k) % 200000 + 1""",
    "INSERT INTO campaigns (campaign_id, name, status) VALUES ('big', 'The big one', 'running')",
    """INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status, sent_at,
                                        opened_at, clicked_at, replied_at, bounced_at)
       SELECT big.id, l.id, l.email, s.status,
              CASE WHEN s.status IN ('sent', 'bounced', 'unsubscribed')
                   THEN timestamptz '2026-03-01' + (l.id / 100) * interval '1 second' END,
              CASE WHEN s.status IN ('sent', 'unsubscribed') AND l.id % 3 = 0
                   THEN timestamptz '2026-03-02' + (l.id % 5000) * interval '1 minute' END,
              CASE WHEN s.status = 'sent' AND l.id % 12 = 0
                   THEN timestamptz '2026-03-02' + (l.id % 5000 + 7) * interval '1 minute' END,
              CASE WHEN s.status = 'sent' AND l.id % 60 = 0
                   THEN timestamptz '2026-03-03' + (l.id % 999) * interval '1 minute' END,
              CASE WHEN s.status = 'bounced' THEN timestamptz '2026-03-01 12:00' END
       FROM leads l, (SELECT id FROM campaigns WHERE campaign_id = 'big') big,
            LATERAL (SELECT (ARRAY['pending', 'failed', 'bounced', 'unsubscribed', 'queued',
                                   'sent', 'sent', 'sent', 'sent', 'sent'])[1 + l.id % 10]
                            AS status) s""",
    """INSERT INTO email_tracking (campaign_recipient_id, event_type, event_data, user_agent,
                                   ip_address, created_at)
       SELECT r.id, 'open', NULL, 'Mozilla/5.0', '192.0.2.7', r.opened_at + k * interval '1 hour'
       FROM campaign_recipients r CROSS JOIN generate_series(0, 4) k
       WHERE r.opened_at IS NOT NULL""",
    """INSERT INTO email_tracking (campaign_recipient_id, event_type, event_data, created_at)
       SELECT r.id, 'click', jsonb_build_object('link_url', 'https://example.com/' || (r.id % 9)),
              r.clicked_at + k * interval '5 minutes'
       FROM campaign_recipients r CROSS JOIN generate_series(0, 3) k
       WHERE r.clicked_at IS NOT NULL""",
    """INSERT INTO email_tracking (campaign_recipient_id, event_type, event_data, created_at)
       SELECT r.id, 'bounce',
              jsonb_build_object('bounce_type', (ARRAY['hard', 'soft'])[1 + r.id % 2]),
              r.bounced_at
       FROM campaign_recipients r WHERE r.bounced_at IS NOT NULL""",
    """INSERT INTO email_tracking (campaign_recipient_id, event_type, created_at)
       SELECT r.id, 'reply', r.replied_at FROM campaign_recipients r
       WHERE r.replied_at IS NOT NULL""",
]


@pytest.fixture(scope="module")
def big_db(pg_admin_url, template_url) -> Iterator[Database]:
    name = f"cc_plans_{uuid.uuid4().hex[:10]}"
    template = template_url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    url = make_url(libpq_url(pg_admin_url)).set(database=name).render_as_string(hide_password=False)
    try:
        with psycopg.connect(url) as conn:
            # The test server runs with synchronous_commit off, and VACUUM marks a page
            # all-visible (for index-only scans) only once the commits of its rows, and of
            # their neighbours in the commit log, are on disk: every commit here is synchronous.
            conn.execute("SET synchronous_commit = on")
            # Loading is several times faster without the indexes; they are rebuilt as they
            # were (same definitions) before anything is planned.
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                (list(WATCHED),),
            ).fetchall()
            for index_name, _ in indexes:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index_name)))
            # Statistics from our VACUUM ANALYZE only, not from an autovacuum racing it.
            for table in WATCHED:
                conn.execute(
                    sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(
                        sql.Identifier(table)
                    )
                )
            for statement in _LOAD:
                conn.execute(statement)
            for _, definition in indexes:
                conn.execute(definition)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = on")
            conn.execute("VACUUM ANALYZE")
            found = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)", (list(WATCHED),)
            )
            _WATCHED_INDEXES.update(name for (name,) in found)
        database = Database(url)
        yield database
        database.close()
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


@contextmanager
def _explaining(db: Database) -> Iterator[list[tuple[str, list[dict[str, Any]]]]]:
    """Collects (statement, plan nodes) for every statement run while inside."""
    plans: list[tuple[str, list[dict[str, Any]]]] = []

    def explain(conn, cursor, statement, parameters, context, executemany) -> None:
        result = cursor.connection.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        raw = result.fetchone()[0]
        doc = json.loads(raw) if isinstance(raw, str) else raw
        plans.append((statement, list(_nodes(doc[0]["Plan"]))))

    event.listen(db.engine, "before_cursor_execute", explain)
    try:
        yield plans
    finally:
        event.remove(db.engine, "before_cursor_execute", explain)


def _outline(nodes: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{n['Node Type']} {n.get('Relation Name') or ''} {n.get('Index Name') or ''}"
        f" rows={n.get('Plan Rows')} cost={n.get('Total Cost')}"
        for n in nodes
    )


def _check(db: Database, call: Callable[[Any], Any], *expected_indexes: str) -> set[str]:
    """Run call(session); no statement may Seq Scan a watched table; returns indexes used."""
    with db.reading() as session, _explaining(db) as plans:
        call(session)
    used: set[str] = set()
    for statement, nodes in plans:
        for n in nodes:
            relation = n.get("Relation Name")
            assert not (n["Node Type"] == "Seq Scan" and relation in WATCHED), (
                f"Seq Scan on {relation} in:\n{statement}\n{_outline(nodes)}"
            )
            if n.get("Index Name") in _WATCHED_INDEXES:
                used.add(n["Index Name"])
    assert used, "no statement read recipients or events by an index"
    if expected_indexes:
        assert used & set(expected_indexes), f"expected one of {expected_indexes}, used {used}"
    return used


def _status_index(key: str) -> str:
    return f"ix_campaign_recipients_campaign_status_{key}"


PAGE_SORTS = ["id", "sent_at", "opened_at", "clicked_at", "replied_at", "bounced_at"]


@pytest.mark.parametrize("sort", PAGE_SORTS)
def test_recipient_pages_read_the_composite_indexes(big_db, sort):
    index = _status_index(sort)
    for descending in (False, True):
        kw = {"sort": sort, "descending": descending}
        with big_db.reading() as s:
            first = recipients.recipients_page(s, "big", **kw)
            second = recipients.recipients_page(s, "big", after=first.last_cursor, **kw)
            last = recipients.recipients_page(s, "big", from_end=True, **kw)
        assert len(first.rows) == len(second.rows) == len(last.rows) == 100
        _check(big_db, lambda s, kw=kw: recipients.recipients_page(s, "big", **kw), index)
        _check(
            big_db,
            lambda s, kw=kw: recipients.recipients_page(s, "big", from_end=True, **kw),
            index,
        )
        _check(
            big_db,
            lambda s, kw=kw, c=second.last_cursor: recipients.recipients_page(
                s, "big", after=c, **kw
            ),
            index,
        )
        _check(
            big_db,
            lambda s, kw=kw, c=last.first_cursor: recipients.recipients_page(
                s, "big", before=c, **kw
            ),
            index,
        )
        for status in ("sent", "failed", "queued"):
            used = _check(
                big_db,
                lambda s, kw=kw, st=status: recipients.recipients_page(s, "big", status=st, **kw),
            )
            assert used <= {index, _status_index("id"), "ix_campaign_recipients_campaign_status"}


def test_unopened_and_email_sort(big_db):
    _check(big_db, lambda s: recipients.unopened_recipients(s, "big"), _status_index("opened_at"))
    _check(
        big_db,
        lambda s: recipients.recipients_page(s, "big", unopened=True),
        _status_index("opened_at"),
    )
    _check(
        big_db,
        lambda s: recipients.recipients_page(s, "big", unopened=True, sort="sent_at"),
        _status_index("sent_at"),
        _status_index("opened_at"),
    )
    _check(
        big_db,
        lambda s: recipients.recipients_page(s, "big", sort="email_address", descending=True),
        "ix_campaign_recipients_email_address",
    )


def test_email_search_uses_the_trigram_index_when_selective(big_db):
    used = _check(big_db, lambda s: recipients.recipients_page(s, "big", search="ead4242"))
    assert "ix_campaign_recipients_email_trgm" in used
    _check(
        big_db,
        lambda s: recipients.recipients_page(s, "big", search="ead4242", sort="opened_at"),
        "ix_campaign_recipients_email_trgm",
    )
    # A search matching most rows reads in page order instead; either way no Seq Scan.
    _check(big_db, lambda s: recipients.recipients_page(s, "big", search="example"))
    _check(
        big_db,
        lambda s: recipients.count_recipients(s, "big", search="ead4242"),
        "ix_campaign_recipients_email_trgm",
    )


def test_counts_and_breakdowns(big_db):
    _check(big_db, lambda s: recipients.count_recipients(s, "big", status="bounced"))
    _check(big_db, lambda s: recipients.count_recipients(s, "big", unopened=True))
    _check(big_db, lambda s: figures.recipients_by_status(s, "big"))
    _check(big_db, lambda s: figures.recipients_by_status(s, "small_7"))


def test_find_recipients_across_campaigns(big_db):
    with big_db.reading() as s:
        found = recipients.find_recipients(s, "lead4242@example.com")
    assert {m.campaign for m in found} >= {"big"}
    _check(
        big_db,
        lambda s: recipients.find_recipients(s, "lead4242@example.com"),
        "ix_campaign_recipients_email_address",
        "ix_campaign_recipients_email_trgm",
    )
    _check(
        big_db,
        lambda s: recipients.find_recipients(s, "ead4242"),
        "ix_campaign_recipients_email_trgm",
    )
    # Not found exactly: the substring fallback.
    _check(big_db, lambda s: recipients.find_recipients(s, "nobody@nowhere.test"))


def test_event_reads(big_db):
    with big_db.reading() as s:
        newest = events.latest_events(s, limit=1)[0].id
        one = s.connection().exec_driver_sql(
            "SELECT max(campaign_recipient_id) FROM email_tracking WHERE event_type = 'click'"
        )
        one = one.scalar()
    pk = "email_tracking_pkey"
    _check(big_db, lambda s: events.latest_events(s), pk)
    _check(big_db, lambda s: events.latest_events(s, before_id=newest - 1000), pk)
    _check(big_db, lambda s: events.latest_events(s, event_type="reply"))
    _check(big_db, lambda s: events.latest_events(s, campaign="big"), pk)
    _check(big_db, lambda s: events.latest_events(s, campaign="big", event_type="click"), pk)
    by_recipient = ("ix_email_tracking_campaign_recipient_id", "ix_email_tracking_recipient_event")
    _check(big_db, lambda s: events.latest_events(s, campaign="small_7"), *by_recipient)
    _check(big_db, lambda s: events.campaign_clicks(s, "small_7"), *by_recipient)
    _check(big_db, lambda s: events.campaign_clicks(s, "big"), pk)
    _check(big_db, lambda s: events.events_since(s, newest - 500), pk)
    _check(big_db, lambda s: events.events_since(s, newest - 500, campaign="big"), pk)
    _check(big_db, lambda s: events.events_since(s, 0, campaign="small_9"), *by_recipient)
    # Near the newest event, walking the primary key from there is as good.
    _check(big_db, lambda s: events.events_since(s, newest - 500, campaign="small_9"))
    _check(big_db, lambda s: events.recipient_timeline(s, one), *by_recipient)
    _check(big_db, lambda s: events.recipient_events(s, one, "click"), *by_recipient)
    assert events.SMALL_CAMPAIGN < BIG


def test_event_aggregates_of_a_campaign(big_db):
    by_recipient = ("ix_email_tracking_campaign_recipient_id", "ix_email_tracking_recipient_event")
    for campaign in ("small_7", "small_1999"):
        # The reference computations from the events (the screens read the rollup).
        _check(
            big_db, lambda s, c=campaign: figures.campaign_stats_from_events(s, c), *by_recipient
        )
        _check(big_db, lambda s, c=campaign: figures.link_clicks_from_events(s, c), *by_recipient)
        _check(big_db, lambda s, c=campaign: figures.activity_over_time(s, c), *by_recipient)


ROLLUP = {table.name for table in figures.TABLES}


def test_the_screens_figures_read_the_rollup_by_primary_key(big_db):
    """campaign_stats, activity, link_clicks and bounce_codes read only the rollup (and the
    campaign row), each table by its primary key: never the events or the recipients."""
    with big_db.reading() as s:
        started = figures.campaign_overview(s, "big").created_at
        rows = s.connection().exec_driver_sql(
            "SELECT relname, reltuples FROM pg_class WHERE relname LIKE 'rollup%%'"
        )
        # A table of a page or two is read whole, rightly; the others by their keys.
        big = {name for name, n in rows if n >= 1000}
    assert {"rollup_campaigns", "rollup_hours"} <= big
    now = started + timedelta(days=10)
    calls = [
        figures.campaign_stats,
        figures.link_clicks,
        figures.bounce_codes,
        lambda s, c: activity(s, c, start=started, now=now),
    ]
    for campaign in ("big", "small_7"):
        for call in calls:
            with big_db.reading() as session, _explaining(big_db) as plans:
                call(session, campaign)
            read = set()
            for statement, nodes in plans:
                for n in nodes:
                    relation = n.get("Relation Name")
                    assert relation not in WATCHED, f"{relation} read in:\n{statement}"
                    if relation in ROLLUP:
                        read.add(relation)
                    if relation in big:
                        assert n.get("Index Name") == f"{relation}_pkey", _outline(nodes)
            assert read, "the rollup was not read"


def _read_nodes(db: Database, call: Callable[[Any], Any]) -> list[tuple[str, dict[str, Any]]]:
    """(statement, node) of every scan of campaign_recipients while call(session) runs,
    EXPLAIN ANALYZEd: with what the index condition was and what was read."""
    found: list[tuple[str, dict[str, Any]]] = []

    def explain(conn, cursor, statement, parameters, context, executemany) -> None:
        result = cursor.connection.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
        )
        raw = result.fetchone()[0]
        doc = json.loads(raw) if isinstance(raw, str) else raw
        for n in _nodes(doc[0]["Plan"]):
            if n.get("Relation Name") == "campaign_recipients":
                found.append((statement, n))

    with db.reading() as session:
        event.listen(db.engine, "before_cursor_execute", explain)
        try:
            call(session)
        finally:
            event.remove(db.engine, "before_cursor_execute", explain)
    return found


@pytest.mark.parametrize("sort", PAGE_SORTS)
def test_a_page_finds_its_rows_by_the_status_in_the_index_condition(big_db, sort):
    """On every server (13+), the status of each branch is an index condition, so a page
    deep in a big campaign reads about its own rows; PostgreSQL 15 applied a `status =
    ANY(...)` as a filter over every row of the status (45 ms a page on 1M recipients).
    Not yet for the rows without the key (the last pages of a sort by a time, from_end):
    there PostgreSQL before 17 still filters (see core.recipients.paging._branch)."""
    with big_db.reading() as s:
        middle_row = (
            s.connection()
            .exec_driver_sql(
                f"WITH k AS (SELECT {sort} AS k, id, status FROM campaign_recipients"
                f" WHERE {sort} IS NOT NULL AND campaign_id = (SELECT id FROM campaigns"
                " WHERE campaign_id = 'big'))"
                " SELECT * FROM k ORDER BY k, id OFFSET (SELECT count(*) / 2 FROM k) LIMIT 1"
            )
            .one_or_none()
        )
        before_17 = s.connection().dialect.server_version_info < (17,)
    if middle_row is None:  # replied_at: its pages are all rows without the key
        pytest.skip(f"no recipient of the big campaign has a {sort}")
    key, row_id, status = middle_row
    # Before 17 a status none of whose rows has the key (bounced_at: only bounced ones have
    # it) reads its rows' index entries to learn that: 500 blocks for the 100,000 sent.
    blocks = 1000 if before_17 and sort == "bounced_at" else 400
    for descending in (False, True):
        middle = recipients.PageCursor(sort, descending, key, row_id)
        for kw in (
            {},
            {"status": status},
            {"after": middle},
            {"before": middle},
            {"status": status, "after": middle},
            *([{"from_end": True}] if sort == "id" else []),
        ):
            nodes = _read_nodes(
                big_db,
                lambda s, kw=kw, d=descending: recipients.recipients_page(
                    s, "big", sort=sort, descending=d, **kw
                ),
            )
            assert nodes, "campaign_recipients not read"
            for statement, n in nodes:
                where = f"{kw} descending={descending}:\n{statement}\n{json.dumps(n, indent=1)}"
                assert "status" not in n.get("Filter", ""), where
                assert "status" in n.get("Index Cond", ""), where
                read = n["Actual Rows"] + n.get("Rows Removed by Filter", 0)
                assert read <= 2 * 101, where
                # Index entries skipped inside the index are counted by the blocks touched:
                # a page's own rows and the index's path to them are a few dozen.
                assert n["Shared Hit Blocks"] + n["Shared Read Blocks"] <= blocks, where
