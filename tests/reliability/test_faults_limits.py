"""Limits: a statement timeout and a full disk surface as a message (the CLI's stderr, the
app's notification), never a traceback, and nothing of the refused write is stored. The full
disk is real: a 2 MB tmpfs holding the tables, on a server of our own (conftest.own_server).
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from core.store import Database
from tests.conftest import EmbeddedServer
from tests.reliability.conftest import counter_drift, unchanged
from tests.reliability.faults import campaign, csv_file, small_tmpfs, until
from tests.reliability.hostile import one, record_notifications
from tests.tui.data import NOW, seed
from tui.app import CampaignConsoleApp
from tui.cli import main

pytestmark = pytest.mark.slow


# --- a statement timeout ---------------------------------------------------------------------

SECRET = "Sup3rSecret-pw"


def _with_timeout_and_password(url: str, ms: int) -> str:
    # The test server trusts local connections, so the password is carried but not checked:
    # what matters is that it never shows.
    with_password = url.replace("postgresql://postgres:@", f"postgresql://postgres:{SECRET}@", 1)
    assert SECRET in with_password
    return with_password + f"&options=-c%20statement_timeout%3D{ms}"


def _slow(url: str, table: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE FUNCTION cc_test_slow() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$"
        )
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER cc_test_slow AFTER INSERT ON {} FOR EACH STATEMENT"
                " EXECUTE FUNCTION cc_test_slow()"
            ).format(sql.Identifier(table))
        )


@pytest.mark.parametrize("command", ["import-recipients", "track"])
def test_a_statement_timeout_is_a_message_not_a_traceback(db_url, capsys, tmp_path, command):
    campaign(db_url, "camp_slow", recipients=3, status="running")
    _slow(db_url, "campaign_recipients" if command == "import-recipients" else "email_tracking")
    if command == "track":
        event = {
            "event_type": "open",
            "campaign": "camp_slow",
            "email_address": "lead1@faults.test",
        }
        (tmp_path / "f").write_text(json.dumps(event) + "\n")
        args = ["track", str(tmp_path / "f")]
    else:
        args = ["import-recipients", "camp_slow", str(csv_file(tmp_path / "f", 3, "slow.test"))]
    url = _with_timeout_and_password(db_url, 500)
    with unchanged(db_url):
        code = main([*args, "--database-url", url])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert "cancelled the operation: canceling statement due to statement timeout" in err
    assert "Nothing of it was written" in err
    assert "Traceback" not in err and SECRET not in err


async def test_a_statement_timeout_in_the_app_is_a_notification(db, db_url):
    with db.transaction() as session:
        seed(session)
    timed = Database(_with_timeout_and_password(db_url, 300))
    # Another program holds a lock the campaigns screen must wait for (a migration, say).
    blocker = psycopg.connect(db_url)
    blocker.execute("LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE")
    try:
        app = CampaignConsoleApp(timed, tz=UTC, clock=lambda: NOW, label="t", live=False)
        notes = record_notifications(app)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(lambda: bool(notes), what="a notification")
            assert "The database cancelled the operation" in notes[0], notes
            assert "statement timeout" in notes[0] and "Traceback" not in notes[0]
            assert not any(SECRET in n for n in notes) and SECRET not in app.sub_title
            blocker.rollback()
            await pilot.press("ctrl+r")
            await until(lambda: len(getattr(app.screen, "summaries", {})) == 7, what="rows")
            assert app.is_running
    finally:
        blocker.close()
        timed.close()


# --- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(own_server: EmbeddedServer):
    """A 2 MB tmpfs, owned by the server's system user: a disk that fills up."""
    with small_tmpfs("size=2m,mode=0700", "cc-full-") as mount:
        if own_server.system_user:
            import pwd

            user = pwd.getpwnam(own_server.system_user)
            os.chown(mount, user.pw_uid, user.pw_gid)
        yield mount


def test_a_full_disk_is_a_message_and_nothing_is_written(
    own_server: EmbeddedServer, small_disk: Path, capsys, tmp_path
):
    url = own_server.new_database()
    database = one(url, "SELECT current_database()")
    space = f"cc_full_{small_disk.name.replace('-', '_')[-8:].lower()}"
    with psycopg.connect(own_server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE TABLESPACE {} LOCATION {}").format(
                sql.Identifier(space), sql.Literal(str(small_disk))
            )
        )
    try:
        with psycopg.connect(url) as conn:
            for table in ("leads", "campaign_recipients"):
                conn.execute(
                    sql.SQL("ALTER TABLE {} SET TABLESPACE {}").format(
                        sql.Identifier(table), sql.Identifier(space)
                    )
                )
        campaign(url, "camp_full")
        path = csv_file(tmp_path / "r.csv", 30_000, "full.test")
        with unchanged(url):
            code = main(["import-recipients", "camp_full", str(path), "--database-url", url])
        out, err = capsys.readouterr()
        assert (code, out) == (1, "")
        assert "ran out of resources" in err and "No space left on device" in err
        assert "Nothing of it was written" in err and "Traceback" not in err
        # Space is freed, as the message says to: imports go through again.
        grow = ["mount", "-o", "remount,size=64m", str(small_disk)]
        subprocess.run(grow, check=True)
        small = csv_file(tmp_path / "s.csv", 100, "fits.test")
        assert main(["import-recipients", "camp_full", str(small), "--database-url", url]) == 0
        assert one(url, "SELECT total_recipients FROM campaigns") == 100
        assert counter_drift(url) == []
    finally:
        with psycopg.connect(own_server.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
            conn.execute(sql.SQL("DROP TABLESPACE IF EXISTS {}").format(sql.Identifier(space)))
