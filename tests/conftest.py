"""Every test gets a clean, migrated database on a real PostgreSQL server.

TEST_DATABASE_URL names a server to use (any database on it; the harness creates its own);
without it an embedded server is started once per session (per xdist worker). The schema is
migrated once into a template database, and each test gets a fresh clone of it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from core import store
from core.store import Database, libpq_url
from tests.scratch import migrated_database, scratch_database


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch) -> Path:
    """The app remembers sorts under $XDG_STATE_HOME: a fresh one per test, never the user's."""
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def no_keys_file(monkeypatch) -> None:
    """The app reads the user's keys.toml at start: never the user's in a test. A fixed path
    where there is none (help shows it, so its picture is the same on every machine); a test
    gives its own through $CAMPAIGN_CONSOLE_KEYS."""
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    monkeypatch.delenv("CAMPAIGN_CONSOLE_KEYS", raising=False)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield libpq_url(url)
        return
    # Not under pytest's basetemp: pytest resets that tree to mode 0700 when another session
    # starts, and the server runs as its own system user when we are root.
    parent = Path(tempfile.mkdtemp(prefix="cc-test-pg-"))
    parent.chmod(0o755)
    # atexit runs last-in first-out: this runs after the server's own stop-and-delete.
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    admin = store.start_server(parent / "data", cleanup="delete")
    with psycopg.connect(admin, autocommit=True) as conn:
        # Throwaway data: durability buys nothing here and costs the suite seconds.
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")
    yield admin


@pytest.fixture(scope="session")
def template_url(pg_admin_url) -> Iterator[str]:
    """A database migrated once per run, which every test's own database is cloned from."""
    with migrated_database(pg_admin_url, "cc_tpl") as url:
        yield url


@pytest.fixture
def empty_db_url(pg_admin_url) -> Iterator[str]:
    """A new database with no schema at all (for migration tests)."""
    with scratch_database(pg_admin_url, "cc_e") as url:
        yield url


@pytest.fixture
def db_url(pg_admin_url, template_url) -> Iterator[str]:
    """A migrated database of this test's own, cloned from the template."""
    with scratch_database(pg_admin_url, "cc_t", template_url=template_url) as url:
        yield url


@pytest.fixture
def db(db_url) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.close()


@pytest.fixture
def session(db):
    with db.sessions() as s:
        yield s
