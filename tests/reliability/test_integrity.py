"""Integrity under writers that race or go around core: recount while another transaction
commits, counters after TRUNCATE, demo data told apart from a user's by more than its id."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy.orm import Session

from core import counters
from core.db import Database
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
                        result["drifts"] = counters.recount(session, "camp_recount_race")
            except BaseException as exc:  # noqa: BLE001  (reported below)
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
        sent = watcher.execute("SELECT emails_sent FROM campaigns WHERE id = %s", (pk,)).fetchone()[0]
        assert sent == 100
        assert not [d for d in counter_drift(url) if d[0] == "camp_recount_race"]
    finally:
        writer.close()
        watcher.close()
        db.close()
