"""The demo data: every status, believable funnels, rows that agree with their events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text

from core import demo, figures, messages, store, tracking
from core import events as machine
from core.demo import DEFAULT_SEED, reset_demo, seed_campaign_count, seed_demo, seed_large
from core.store import Database
from tests.factories import make_campaign, make_recipients
from tests.scratch import scratch_database

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STATUSES = {"draft", "scheduled", "running", "paused", "completed", "failed"}

# Recipients whose timestamps disagree with their events, or events before the send.
DISAGREEING = """
WITH ev AS (
    SELECT campaign_recipient_id AS rid,
           min(created_at) FILTER (WHERE event_type IN ('open', 'click')) AS opened,
           min(created_at) FILTER (WHERE event_type = 'click') AS clicked,
           min(created_at) FILTER (WHERE event_type = 'reply') AS replied,
           min(created_at) FILTER (WHERE event_type = 'bounce') AS bounced,
           min(created_at) AS first,
           bool_or(event_type IN ('unsubscribe', 'complain')) AS unsubscribed
    FROM email_tracking GROUP BY 1)
SELECT count(*) FILTER (WHERE r.opened_at IS DISTINCT FROM ev.opened),
       count(*) FILTER (WHERE r.clicked_at IS DISTINCT FROM ev.clicked),
       count(*) FILTER (WHERE r.replied_at IS DISTINCT FROM ev.replied),
       count(*) FILTER (WHERE r.bounced_at IS DISTINCT FROM ev.bounced),
       count(*) FILTER (WHERE ev.first IS NOT NULL
                          AND (r.sent_at IS NULL OR ev.first <= r.sent_at)),
       count(*) FILTER (WHERE (r.status = 'bounced') IS DISTINCT FROM (ev.bounced IS NOT NULL)),
       count(*) FILTER (WHERE (r.status = 'unsubscribed') IS DISTINCT FROM
                              coalesce(ev.unsubscribed, false)),
       count(*) FILTER (WHERE r.status = 'bounced'
                          AND r.error_message IS DISTINCT FROM (
                              SELECT e.event_data ->> 'error_message' FROM email_tracking e
                              WHERE e.campaign_recipient_id = r.id AND e.event_type = 'bounce'
                              ORDER BY e.created_at DESC LIMIT 1))
FROM campaign_recipients r LEFT JOIN ev ON ev.rid = r.id
"""


def disagreeing(conn) -> tuple[int, ...]:
    return tuple(conn.execute(DISAGREEING).fetchone())


@pytest.fixture(scope="module")
def seeded(pg_admin_url, template_url) -> Iterator[str]:
    """One database with the small demo, shared by the tests that only read it."""
    with scratch_database(pg_admin_url, "cc_demo", template_url=template_url) as url:
        db = Database(url)
        seed_demo(db, seed=DEFAULT_SEED, now=NOW)
        db.close()
        yield url


def test_small_demo_has_every_status_with_plausible_times(seeded):
    with psycopg.connect(seeded) as conn:
        rows = conn.execute(
            "SELECT campaign_id, name, status, created_at, scheduled_at, started_at,"
            " completed_at, total_recipients FROM campaigns ORDER BY id"
        ).fetchall()
        assert {r[2] for r in rows} == STATUSES
        assert len(rows) == len(demo.SMALL_CAMPAIGNS)
        assert all(r[0].startswith("demo_") for r in rows)
        assert "Q4 Product Launch" in {r[1] for r in rows}
        for cid, _, status, created, scheduled, started, completed, _ in rows:
            assert created < NOW, cid
            if status == "scheduled":
                assert scheduled > NOW and started is None, cid
            if status in ("running", "paused", "completed", "failed"):
                assert created < started < NOW, cid
            if status in ("completed", "failed"):
                assert started < completed < NOW, cid
            else:
                assert completed is None, cid
        by_status = dict(
            conn.execute(
                "SELECT c.status || '/' || r.status, count(*) FROM campaign_recipients r"
                " JOIN campaigns c ON c.id = r.campaign_id GROUP BY 1"
            ).fetchall()
        )
    assert by_status["running/pending"] > 0 and by_status["running/queued"] > 0
    assert by_status["paused/pending"] > 0
    assert by_status["completed/sent"] > 0 and by_status["completed/failed"] > 0
    assert not any(k in by_status for k in ("completed/pending", "completed/queued"))
    assert set(k for k in by_status if k.startswith(("draft/", "scheduled/"))) == {
        "draft/pending",
        "scheduled/pending",
    }
    assert by_status["failed/failed"] > by_status["failed/sent"] // 2


def test_funnels_are_within_realistic_bounds(seeded):
    with psycopg.connect(seeded) as conn:
        rows = conn.execute(
            "SELECT campaign_id, emails_sent, emails_opened, emails_clicked, emails_replied,"
            " emails_bounced FROM campaigns WHERE emails_sent >= 300"
        ).fetchall()
    assert len(rows) >= 6
    for cid, sent, opened, clicked, replied, bounced in rows:
        assert 0.20 <= opened / sent <= 0.50, cid
        assert 0.02 <= clicked / sent <= 0.10, cid
        assert 0 < bounced / sent <= 0.05, cid
        assert replied / sent <= 0.03, cid
    assert sum(r[4] for r in rows) > 0


def test_counters_equal_recount_and_rows_agree_with_events(seeded):
    db = Database(seeded)
    try:
        with db.transaction() as session:
            assert figures.recount(session) == ()
            # The stored machine verdicts are the ones the rules give.
            assert machine.reclassify(session) == 0
    finally:
        db.close()
    with psycopg.connect(seeded) as conn:
        assert disagreeing(conn) == (0,) * 8


def test_events_look_like_real_mail_traffic(seeded):
    with psycopg.connect(seeded) as conn:

        def one(query: str):
            return conn.execute(query).fetchone()[0]

        types = dict(conn.execute("SELECT event_type, count(*) FROM email_tracking GROUP BY 1"))
        assert set(types) == {
            "open",
            "click",
            "reply",
            "bounce",
            "unsubscribe",
            "complain",
            "forward",
        }
        # Apple Mail Privacy Protection: Apple's network, the bare user agent, seconds after.
        mpp = conn.execute(
            "SELECT count(*), max(e.created_at - r.sent_at) FROM email_tracking e"
            " JOIN campaign_recipients r ON r.id = e.campaign_recipient_id"
            " WHERE e.event_type = 'open' AND e.ip_address << inet '17.0.0.0/8'"
            " AND e.user_agent = 'Mozilla/5.0' AND e.created_at < r.sent_at + interval '1 minute'"
        ).fetchone()
        assert mpp[0] > 100
        assert one("SELECT count(*) FROM email_tracking WHERE family(ip_address) = 6") > 100
        assert one("SELECT count(*) FROM email_tracking WHERE family(ip_address) = 4") > 1000
        agents = " ".join(
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT user_agent FROM email_tracking WHERE user_agent IS NOT NULL"
            )
        )
        for client in (
            "GoogleImageProxy",
            "Microsoft Outlook",
            "Thunderbird",
            "YahooMailProxy",
            "iPhone",
            "Macintosh",
        ):
            assert client in agents, client
        bounces = conn.execute(
            "SELECT event_data ->> 'bounce_type', event_data ->> 'error_code', count(*)"
            " FROM email_tracking WHERE event_type = 'bounce' GROUP BY 1, 2"
        ).fetchall()
        assert {b[0] for b in bounces} == {"permanent", "transient"}
        assert {"550", "552", "421", "451"} <= {b[1] for b in bounces}
        links = conn.execute(
            "SELECT r.campaign_id, count(DISTINCT e.event_data ->> 'link_url')"
            " FROM email_tracking e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id"
            " WHERE e.event_type = 'click' GROUP BY 1"
        ).fetchall()
        assert max(n for _, n in links) >= 4
        failed = one(
            "SELECT count(*) FROM campaign_recipients WHERE status = 'failed'"
            " AND sent_at IS NULL AND error_message IS NOT NULL"
        )
        assert failed > 0
        # The database's trigger listed the hard bounces, complaints and unsubscribes.
        assert one("SELECT count(*) FROM suppressions") > 0
        # Demo events are simulated, and say so.
        assert (
            one("SELECT count(*) FROM email_tracking WHERE source IS DISTINCT FROM 'simulator'")
            == 0
        )


def test_same_seed_same_data(seeded, db):
    seed_demo(db, seed=DEFAULT_SEED, now=NOW)
    digest = (
        "SELECT md5(string_agg(concat_ws('|', campaign_id, lead_id, email_address, status,"
        " sent_at, opened_at, clicked_at, replied_at, bounced_at, error_message), ',' ORDER BY id))"
        " FROM campaign_recipients"
    )
    events = (
        "SELECT md5(string_agg(concat_ws('|', campaign_recipient_id, event_type, event_data,"
        " user_agent, ip_address, created_at), ',' ORDER BY id)) FROM email_tracking"
    )
    with psycopg.connect(seeded) as a, psycopg.connect(db.url) as b:
        for query in (digest, events):
            assert a.execute(query).fetchone() == b.execute(query).fetchone()


def test_seeding_twice_adds_nothing_and_reset_removes_only_demo_data(db, db_url):
    with db.transaction() as s:
        mine = make_campaign(s, "my_campaign", status="running")
        make_recipients(s, mine, 3)
    first = seed_demo(db, now=NOW)
    assert first.campaigns == 12 and first.leads == 3000 and first.events > 1000

    with psycopg.connect(db_url) as conn:
        counts = "SELECT (SELECT count(*) FROM campaigns), (SELECT count(*) FROM leads),"
        counts += (
            " (SELECT count(*) FROM campaign_recipients), (SELECT count(*) FROM email_tracking)"
        )
        before = conn.execute(counts).fetchone()
        again = seed_demo(db, now=NOW)
        assert (again.campaigns, again.leads, again.recipients, again.events) == (0, 0, 0, 0)
        assert len(again.skipped) == 12
        assert conn.execute(counts).fetchone() == before
        # One of the demo's leads is also in the user's own campaign: it must stay.
        lead = conn.execute(
            "SELECT id, email FROM leads WHERE email LIKE '%.example' LIMIT 1"
        ).fetchone()
        conn.execute(
            "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)"
            " VALUES (%s, %s, %s)",
            (mine.id, lead[0], lead[1]),
        )
        conn.commit()

    result = reset_demo(db)
    assert result.campaigns == 12 and result.leads == 2999
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT campaign_id FROM campaigns").fetchall() == [("my_campaign",)]
        assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 3 + 1
        assert conn.execute("SELECT total_recipients FROM campaigns").fetchone()[0] == 4
    with db.transaction() as s:
        assert figures.recount(s) == ()
    # And seeding after a reset works (the kept lead is reused, not duplicated).
    assert seed_demo(db, now=NOW).leads == 2999


def test_topping_up_to_a_number_of_campaigns(db):
    seed_demo(db, now=NOW)
    assert seed_campaign_count(db, 80, now=NOW) == 68
    assert seed_campaign_count(db, 80, now=NOW) == 0
    assert seed_campaign_count(db, 90, now=NOW) == 10
    with db.transaction() as s:
        statuses = dict(s.execute(text("SELECT status, count(*) FROM campaigns GROUP BY 1")).all())
        ids = s.scalars(
            text("SELECT campaign_id FROM campaigns WHERE campaign_id LIKE 'demo_bulk_%'")
        ).all()
        assert figures.recount(s) == ()
    assert sum(statuses.values()) == 90 and set(statuses) == STATUSES
    assert len(set(ids)) == 78
    assert reset_demo(db).campaigns == 90


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel-copy", "one-connection"])
def test_large_demo_loader_scaled_down(db, db_url, parallel):
    """The large demo's COPY path at 1/50 (1/200 on one connection) of its size."""
    recipients, events = (20_000, 100_000) if parallel else (5_000, 25_000)
    seed_demo(db, now=NOW)
    # Small chunks, so that every stream of the parallel path gets several.
    result = seed_large(
        db, seed=7, now=NOW, recipients=recipients, events=events, parallel=parallel, chunk=1500
    )
    assert (result.campaigns, result.recipients, result.events) == (1, recipients, events)
    assert result.leads == recipients
    with psycopg.connect(db_url) as conn:
        assert disagreeing(conn) == (0,) * 8
        large = conn.execute(
            "SELECT id, status, total_recipients, emails_sent, emails_opened, emails_clicked"
            " FROM campaigns WHERE campaign_id = %s",
            (demo.DEMO_PREFIX + demo.LARGE_CAMPAIGN.slug,),
        ).fetchone()
        pk, status, total, sent, opened, clicked = large
        assert status == "completed" and total == recipients
        assert 0.2 <= opened / sent <= 0.5 and 0.02 <= clicked / sent <= 0.1
        n = conn.execute(
            "SELECT count(*) FROM email_tracking e JOIN campaign_recipients r"
            " ON r.id = e.campaign_recipient_id WHERE r.campaign_id = %s",
            (pk,),
        ).fetchone()[0]
        assert n == events
        others = conn.execute(
            "SELECT count(*) FROM email_tracking WHERE source IS DISTINCT FROM 'simulator'"
        ).fetchone()[0]
        assert others == 0  # the large demo's events are simulated too, and say so
        # Hard bounces, complaints and unsubscribes are listed even when triggers were skipped.
        unlisted = conn.execute(
            "SELECT count(*) FROM campaign_recipients r WHERE r.campaign_id = %s"
            " AND r.status = 'unsubscribed' AND NOT EXISTS (SELECT 1 FROM suppressions s"
            " WHERE s.email_address = lower(r.email_address))",
            (pk,),
        ).fetchone()[0]
        assert unlisted == 0
        # Leads in address order have increasing ids, and no address repeats.
        order = conn.execute(
            "SELECT bool_and(email > prev) FROM (SELECT email, lag(email) OVER (ORDER BY id)"
            " AS prev FROM leads WHERE email ~ '[0-9]{6,}@') x WHERE prev IS NOT NULL"
        ).fetchone()[0]
        assert order
    with db.transaction() as s:
        assert figures.recount(s) == ()
        assert machine.reclassify(s) == 0
    assert seed_large(db, seed=7, now=NOW, recipients=recipients, events=events).campaigns == 0
    assert reset_demo(db).leads == 3000 + recipients
    with psycopg.connect(db_url) as conn:  # the reset's skipped triggers: no rollup left
        left = conn.execute(
            "SELECT (SELECT count(*) FROM rollup_campaigns) + (SELECT count(*) FROM rollup_hours)"
            " + (SELECT count(*) FROM rollup_recipients)"
        ).fetchone()[0]
    assert left == 0


def test_large_demo_builds_its_dropped_indexes_again(db, db_url):
    """The large demo drops the secondary indexes for its load; a run killed before building
    them again leaves them missing, and the next run builds them, exactly as migrated."""
    names = {ix.name for ix in demo.secondary()}
    assert len(names) == 24  # 0012_delivery added ix_campaign_recipients_leases
    assert demo.drop(db_url)
    assert store.drift(db_url)  # the drift check sees them gone
    seed_demo(db, now=NOW)
    assert seed_large(db, seed=7, now=NOW, recipients=2000, events=6000).campaigns == 1
    assert store.drift(db_url) == []
    assert demo.drop(db_url)
    assert seed_large(db, seed=7, now=NOW, recipients=2000, events=6000).campaigns == 0
    assert store.drift(db_url) == []
    with psycopg.connect(db_url) as conn:
        invalid = conn.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = ANY(%s) AND NOT i.indisvalid",
            (list(names),),
        ).fetchone()[0]
    assert invalid == 0


def test_large_demo_loads_with_its_indexes_while_the_tables_are_busy(db, db_url):
    """Another session holding a lock on the tables: the drop gives up after its lock wait and
    the load goes on with the indexes in place."""
    with psycopg.connect(db_url) as other:
        other.execute("LOCK TABLE email_tracking IN ACCESS SHARE MODE")
        t = time.monotonic()
        assert not demo.drop(db_url)
        assert time.monotonic() - t >= 4
    assert store.drift(db_url) == []


def test_demo_command_if_empty_seeds_only_an_empty_database(db, db_url, capsys):
    from tui.cli import main

    with db.transaction() as s:
        make_campaign(s, "mine")
    argv = ["demo", "--database-url", db_url, "--if-empty", "--no-simulate"]
    assert main(argv) == 0
    assert "not seeding" in capsys.readouterr().err
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 1
        conn.execute("DELETE FROM campaigns")
        conn.commit()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "small demo: 12 campaigns" in err and "Demo ready in" in err
    assert "Simulator started" not in err
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 12


def test_every_demo_campaign_names_a_real_template(db):
    seed_demo(db, now=NOW)
    seed_campaign_count(db, 30, now=NOW)
    with db.transaction() as s:
        missing = s.execute(
            text(
                "SELECT campaign_id FROM campaigns c WHERE template_id IS NULL OR NOT EXISTS"
                " (SELECT 1 FROM templates t WHERE t.id = c.template_id)"
            )
        ).all()
        assert missing == []
        # A demo message renders, its links saved as the campaign's.
        pk, email = s.execute(
            text(
                "SELECT c.id, r.email_address FROM campaigns c JOIN campaign_recipients r"
                " ON r.campaign_id = c.id WHERE c.campaign_id = 'demo_q4_product_launch'"
                " ORDER BY r.id LIMIT 1"
            )
        ).one()
        msg = messages.message_for(s, pk, email)
        assert "Q4 Product Launch" in msg["Subject"]
        assert len(tracking.campaign_links(s, pk)) >= 4
    assert reset_demo(db).campaigns == 30
    with db.transaction() as s:  # templates stay; seeding again adds none twice
        count = s.execute(text("SELECT count(*) FROM templates")).scalar_one()
    seed_demo(db, now=NOW)
    with db.transaction() as s:
        assert s.execute(text("SELECT count(*) FROM templates")).scalar_one() == count
