"""Integrity under writers that race or go around core: recount while another transaction
commits, counters after TRUNCATE, demo data told apart from a user's by more than its id."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy.orm import Session

from core import figures
from core.store import Database
from tests.reliability.conftest import counter_drift


@pytest.fixture
def url(module_db_url):
    return module_db_url


def _campaign_with_recipients(conn, campaign_id: str, n: int) -> int:
    pk = conn.execute(
        "INSERT INTO campaigns (campaign_id, name, status, started_at)"
        " VALUES (%s, %s, 'running', now()) RETURNING id",
        (campaign_id, campaign_id),
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO leads (email) SELECT %s || g || '@integrity.test'"
        " FROM generate_series(1, %s) g ON CONFLICT DO NOTHING",
        (campaign_id, n),
    )
    conn.execute(
        "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)"
        " SELECT %s, l.id, l.email FROM leads l WHERE l.email LIKE %s",
        (pk, f"{campaign_id}%@integrity.test"),
    )
    return pk


def _waiting_for_a_lock(conn, pid: int) -> bool:
    row = conn.execute(
        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
    ).fetchone()
    return row is not None and row[0] == "Lock"


def test_recount_counts_what_a_writer_committed_while_it_waited_for_the_lock(url):
    with psycopg.connect(url, autocommit=True) as setup:
        pk = _campaign_with_recipients(setup, "camp_recount_race", 100)
    db = Database(url)
    writer = psycopg.connect(url)
    watcher = psycopg.connect(url, autocommit=True)
    try:
        # Writer A: 100 recipients sent; its counter trigger holds the campaign row's lock.
        writer.execute(
            "UPDATE campaign_recipients SET sent_at = now(), status = 'sent'"
            " WHERE campaign_id = %s",
            (pk,),
        )
        result: dict[str, object] = {}

        def recount() -> None:
            try:
                with db.engine.connect() as conn:
                    result["pid"] = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                    conn.rollback()
                    with Session(bind=conn) as session, session.begin():
                        result["drifts"] = figures.recount(session, "camp_recount_race")
            except BaseException as exc:
                result["error"] = exc

        thread = threading.Thread(target=recount)
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "pid" in result and _waiting_for_a_lock(watcher, result["pid"]):
                break
            time.sleep(0.01)
        else:
            pytest.fail(f"recount never waited for the campaign's lock: {result}")
        writer.commit()  # A commits while recount waits
        thread.join(10)
        assert "error" not in result, result.get("error")
        assert result["drifts"] == (), result["drifts"]
        [(sent,)] = watcher.execute("SELECT emails_sent FROM campaigns WHERE id = %s", (pk,))
        assert sent == 100
        assert not [d for d in counter_drift(url) if d[0] == "camp_recount_race"]
    finally:
        writer.close()
        watcher.close()
        db.close()


# --- TRUNCATE ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE campaign_recipients CASCADE",
        "TRUNCATE campaign_recipients, email_tracking CASCADE",
        "TRUNCATE email_tracking CASCADE",
        "TRUNCATE leads CASCADE",
    ],
)
def test_counters_follow_truncate(db_url, statement):
    with psycopg.connect(db_url, autocommit=True) as conn:
        one = _campaign_with_recipients(conn, "camp_trunc_a", 30)
        _campaign_with_recipients(conn, "camp_trunc_b", 20)
        conn.execute(
            "UPDATE campaign_recipients SET sent_at = now(), opened_at = now(), status = 'sent'"
            " WHERE campaign_id = %s",
            (one,),
        )
        conn.execute(
            "INSERT INTO email_tracking (campaign_recipient_id, event_type)"
            " SELECT id, 'open' FROM campaign_recipients WHERE campaign_id = %s",
            (one,),
        )
        assert counter_drift(db_url) == []
        conn.execute(statement)
        assert counter_drift(db_url) == []
        [(campaigns,)] = conn.execute("SELECT count(*) FROM campaigns")
        assert campaigns == 2  # the campaigns stay, their counters at what is left


def test_truncating_campaigns_leaves_nothing_to_count(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _campaign_with_recipients(conn, "camp_trunc_c", 5)
        conn.execute("TRUNCATE campaigns CASCADE")
        assert conn.execute("SELECT count(*) FROM campaign_recipients").fetchone() == (0,)
    assert counter_drift(db_url) == []


# --- demo data is the seeder's, not whatever is named demo_ -------------------------------------


def test_demo_reset_and_the_simulator_leave_a_users_demo_named_campaign_alone(db_url):
    from core import demo
    from core.demo import Simulator, reset_demo

    db = Database(db_url)
    try:
        demo.seed_demo(db, size="small")
        with psycopg.connect(db_url, autocommit=True) as conn:
            mine = _campaign_with_recipients(conn, "demo_my_real_launch", 10)
            conn.execute("UPDATE campaigns SET status = 'running' WHERE id = %s", (mine,))
        sim = Simulator(db, rate=500, seed=3, demo_only=True)
        sim.run(duration=1.5)
        with psycopg.connect(db_url) as conn:
            touched = conn.execute(
                "SELECT count(*) FROM campaign_recipients WHERE campaign_id = %s"
                " AND (sent_at IS NOT NULL OR status <> 'pending')",
                (mine,),
            ).fetchone()[0]
            assert touched == 0, "the simulator sent for a user's campaign"
        result = reset_demo(db)
        assert result.campaigns > 0
        with psycopg.connect(db_url) as conn:
            left = conn.execute("SELECT campaign_id FROM campaigns ORDER BY 1").fetchall()
            assert left == [("demo_my_real_launch",)]
            assert conn.execute("SELECT count(*) FROM demo_campaigns").fetchone() == (0,)
    finally:
        db.close()
