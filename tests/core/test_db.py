import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.store import Database
from core.store import db as core_db


def _kill_others(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_an_idle_pooled_connection_that_died_is_replaced(db, db_url, monkeypatch):
    monkeypatch.setattr(core_db, "PING_AFTER_IDLE", 0.1)
    with db.reading() as s:
        assert s.execute(text("SELECT 1")).scalar() == 1
    _kill_others(db_url)  # as a server restart would
    time.sleep(0.2)
    with db.reading() as s:
        assert s.execute(text("SELECT 2")).scalar() == 2


@pytest.fixture
def direct_db(direct_db_url) -> Iterator[Database]:
    """Not through a pooler, which would open a new server connection where this test
    wants the killed one to surface."""
    database = Database(direct_db_url)
    yield database
    database.close()


def test_back_to_back_use_is_not_pinged(direct_db, direct_db_url):
    db, db_url = direct_db, direct_db_url
    with db.reading() as s:
        s.execute(text("SELECT 1"))
    _kill_others(db_url)
    # Used again at once: no ping, so the dead connection surfaces as an error ...
    with pytest.raises(DBAPIError), db.reading() as s:
        s.execute(text("SELECT 1"))
    # ... and the pool was invalidated: the next use works.
    with db.reading() as s:
        assert s.execute(text("SELECT 3")).scalar() == 3


def test_read_only_sessions_refuse_writes(db_url):
    database = core_db.Database(db_url, read_only=True)
    try:
        with pytest.raises(DBAPIError, match="read-only"), database.transaction() as s:
            s.execute(text("INSERT INTO users (email) VALUES ('x@example.com')"))
    finally:
        database.close()
