"""Backup and restore with the wheel's pg_dump/pg_restore/psql (core.store.backup)."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from core import figures as an
from core import figures as counters
from core import store
from core.errors import Conflict, InvalidInput
from core.store import Database, backup, libpq_url
from tests.tui.data import seed, seed_analytics

SPEC_TABLES = ["campaigns", "campaign_recipients", "email_tracking"]


@pytest.fixture
def db_url(direct_db_url) -> str:
    """Never through a pooler: pg_dump and pg_restore keep session state (search_path, a
    snapshot), which a transaction-mode pooler does not (README, "A read replica, and
    PgBouncer": backups take the server's own URL)."""
    return direct_db_url


@pytest.fixture
def seeded(db) -> dict[str, int]:
    with db.transaction() as s:
        seed(s)
        seed_analytics(s)
    return backup.contents(db.url)


def figures(url: str) -> list[tuple]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(
            "SELECT campaign_id, total_recipients, emails_sent, emails_opened, emails_clicked,"
            " emails_replied, emails_bounced FROM campaigns ORDER BY campaign_id"
        ).fetchall()


def test_a_backup_restored_into_an_empty_database_equals_a_recount(
    db, seeded, empty_db_url, tmp_path
):
    dump = backup.write_backup(db.url, tmp_path / "b.dump")
    assert dump.read_bytes()[:5] == b"PGDMP"
    assert backup.restore(empty_db_url, dump) == seeded
    assert figures(empty_db_url) == figures(db.url)
    assert any(row[3] for row in figures(empty_db_url))  # opens were counted: a real test
    restored = Database(empty_db_url)
    try:
        # No trigger fired during the load (they are created after it): nothing drifted.
        with restored.transaction() as s:
            assert counters.recount(s) == ()
        assert store.current(empty_db_url) == store.head()
        with restored.reading() as s:  # the app's own reads work on it
            assert an.campaign_stats(s, "camp_done").emails_opened == 13
    finally:
        restored.close()


def test_a_restore_into_a_database_with_data_is_refused_naming_it(db, seeded, tmp_path):
    dump = backup.write_backup(db.url, tmp_path / "b.dump")
    with pytest.raises(Conflict) as refused:
        backup.restore(db.url, dump)
    message = str(refused.value)
    assert f"campaigns ({seeded['campaigns']:,} rows)" in message
    assert f"email_tracking ({seeded['email_tracking']:,} rows)" in message
    assert "--force" in message
    assert backup.contents(db.url) == seeded


def test_force_replaces_what_the_database_held(db, seeded, tmp_path):
    dump = backup.write_backup(db.url, tmp_path / "b.dump")
    with psycopg.connect(libpq_url(db.url)) as conn:
        conn.execute("DELETE FROM campaigns WHERE campaign_id = 'camp_done'")
    assert backup.restore(db.url, dump, force=True) == seeded
    with db.transaction() as s:
        assert counters.recount(s) == ()


def _pg_dump(url: str, *args: str) -> str:
    tool = backup.find_tool("pg_dump", backup.server_major(url))
    conninfo, env = backup._split(url)
    return subprocess.run(
        [str(tool.path), *args, "--dbname", conninfo],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout


def test_the_specifications_three_table_dump_says_what_it_lacks(db, seeded, empty_db_url, tmp_path):
    three = tmp_path / "three.sql"
    three.write_text(_pg_dump(db.url, *(f"-t{t}" for t in SPEC_TABLES)))
    store.upgrade(empty_db_url)  # into a migrated database
    before = backup.contents(empty_db_url)
    with pytest.raises(InvalidInput) as refused:
        backup.restore(empty_db_url, three, force=True)
    assert "but not leads, users" in str(refused.value)
    assert "campaign_recipients.lead_id -> leads" in str(refused.value)
    assert backup.contents(empty_db_url) == before


def test_a_whole_plain_dump_restores(db, seeded, empty_db_url, tmp_path):
    whole = tmp_path / "whole.sql"
    whole.write_text(_pg_dump(db.url))
    assert backup.restore(empty_db_url, whole) == seeded
    assert figures(empty_db_url) == figures(db.url)
    restored = Database(empty_db_url)
    try:
        with restored.transaction() as s:
            assert counters.recount(s) == ()
    finally:
        restored.close()


def test_the_password_goes_in_the_environment_not_the_command_line():
    conninfo, env = backup._split("postgresql+psycopg://ops:s3cr%2Ft@db.example:5433/app")
    assert "s3cr" not in conninfo and "password" not in conninfo
    assert env["PGPASSWORD"] == "s3cr/t"
    assert "host=db.example" in conninfo and "dbname=app" in conninfo
