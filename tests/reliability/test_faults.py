"""Faults: the server stopping under an import or an event batch, the client killed with
SIGKILL mid-write, the change feed's connection killed under the app, a statement timeout and
a full disk. After each: a message (never a traceback), and nothing half-written.

The server-stopping and disk-filling tests use a server of their own (conftest.own_server),
never the one the rest of the suite shares.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from core import campaigns as C
from core.db import Database
from core.errors import DatabaseFailed
from tests.reliability.conftest import OwnServer, counter_drift, unchanged
from tests.reliability.faults import (
    REPO,
    cli_process,
    csv_file,
    wait_for_write,
    wait_until_forgotten,
)
from tests.reliability.hostile import one, record_notifications
from tests.tui.data import NOW, seed
from tui.app import CampaignConsoleApp
from tui.cli import main

pytestmark = pytest.mark.slow


def _campaign(url: str, campaign_id: str, recipients: int = 0, status: str = "draft") -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO campaigns (campaign_id, name, status) VALUES (%s, %s, %s)",
            (campaign_id, campaign_id, status),
        )
        if recipients:
            conn.execute(
                "INSERT INTO leads (email) SELECT 'lead' || g || '@faults.test'"
                " FROM generate_series(1, %s) g",
                (recipients,),
            )
            conn.execute(
                "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status,"
                " sent_at) SELECT c.id, l.id, l.email, 'sent', now() - interval '1 hour'"
                " FROM leads l, campaigns c WHERE c.campaign_id = %s",
                (campaign_id,),
            )


def _finished(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


# --- the server stops while a write runs -----------------------------------------------------


def test_server_stopping_during_an_import_leaves_all_or_nothing(own_server: OwnServer, tmp_path):
    url = own_server.new_database()
    _campaign(url, "camp_import")
    path = csv_file(tmp_path / "r.csv", 20_000, "stop.test")
    process = cli_process(url, "import-recipients", "camp_import", str(path))
    try:
        caught = wait_for_write(url, process)
        own_server.stop()
        code, out, err = _finished(process)
    finally:
        process.kill()
        own_server.start()
    added = one(url, "SELECT count(*) FROM campaign_recipients")
    leads = one(url, "SELECT count(*) FROM leads")
    assert "Traceback" not in err
    if code == 0:  # the import committed before the server went down
        assert "imported 20,000 recipients" in out and (added, leads) == (20_000, 20_000)
    else:
        assert code == 1 and out == ""
        assert "Lost the connection to the database" in err
        assert "Nothing of it was written" in err or "may or may not" in err
        assert (added, leads) in ((0, 0), (20_000, 20_000))
    assert counter_drift(url) == []
    print(f"\nserver stopped during {caught!r}: exit {code}, {err.strip()}")


EVENTS = 20_000


def test_server_stopping_during_an_event_batch_leaves_all_or_nothing(
    own_server: OwnServer, tmp_path
):
    url = own_server.new_database()
    _campaign(url, "camp_track", recipients=2_000, status="running")
    path = tmp_path / "events.jsonl"
    with path.open("w") as f:
        for i in range(EVENTS):
            address = f"lead{i % 2_000 + 1}@faults.test"
            kind = ("open", "click", "forward")[i % 3]
            event = {"event_type": kind, "campaign": "camp_track", "email_address": address}
            f.write(json.dumps(event) + "\n")
    process = cli_process(url, "track", str(path))
    try:
        caught = wait_for_write(url, process)
        own_server.stop()
        code, out, err = _finished(process)
    finally:
        process.kill()
        own_server.start()
    events = one(url, "SELECT count(*) FROM email_tracking")
    opened = one(url, "SELECT emails_opened FROM campaigns")
    assert "Traceback" not in err
    if code == 0:
        assert f"recorded {EVENTS:,} events" in out and (events, opened) == (EVENTS, 2_000)
    else:
        assert code == 1 and "Lost the connection to the database" in err
        assert (events, opened) in ((0, 0), (EVENTS, 2_000))
    assert counter_drift(url) == []
    print(f"\nserver stopped during {caught!r}: exit {code}, {err.strip()}")


# --- the client is killed with SIGKILL mid-write -------------------------------------------

BATCH = 2_000
_BATCHES = """
import sys
from core import campaigns as C
from core.db import Database
from core.errors import DatabaseFailed
from core.tracking import EventInput, record_events

db = Database(sys.argv[1])
ids = [int(i) for i in sys.argv[2].split(",")]
k = 0
while True:
    k += 1
    kinds = ("open", "click", "reply", "bounce")
    batch = [
        EventInput(kinds[i % 4], recipient_id=ids[(k * 7 + i) % len(ids)], event_data={"batch": k})
        for i in range(%d)
    ]
    db.run(lambda s: record_events(s, batch))
    print(k, flush=True)
"""


def test_sigkill_during_event_batches_leaves_whole_batches_only(db_url):
    _campaign(db_url, "camp_kill", recipients=1_500, status="running")
    with psycopg.connect(db_url) as conn:
        ids = [r for (r,) in conn.execute("SELECT id FROM campaign_recipients ORDER BY id")]
    script = _BATCHES.replace("%d", str(BATCH))
    process = subprocess.Popen(
        [sys.executable, "-c", script, db_url, ",".join(map(str, ids))],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        committed = [int(process.stdout.readline()) for _ in range(3)]
        wait_for_write(db_url, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    wait_until_forgotten(db_url)
    with psycopg.connect(db_url) as conn:
        per_batch = dict(
            conn.execute(
                "SELECT (event_data->>'batch')::int, count(*) FROM email_tracking GROUP BY 1"
            )
        )
        # Every recipient timestamp has the event that set it: no effect without its event.
        orphans = conn.execute(
            "SELECT count(*) FROM campaign_recipients r WHERE (opened_at IS NOT NULL AND NOT"
            " EXISTS (SELECT 1 FROM email_tracking e WHERE e.campaign_recipient_id = r.id"
            " AND e.event_type IN ('open', 'click'))) OR (bounced_at IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM email_tracking e WHERE e.campaign_recipient_id = r.id"
            " AND e.event_type = 'bounce'))"
        ).fetchone()[0]
    assert set(committed) <= set(per_batch)
    assert set(per_batch.values()) == {BATCH}, per_batch
    assert sorted(per_batch) == list(range(1, len(per_batch) + 1))
    assert orphans == 0
    assert counter_drift(db_url) == []
    print(f"\nkilled after {len(per_batch)} whole batches of {BATCH:,}; none partial")


def test_sigkill_during_an_import_leaves_nothing(db_url, tmp_path):
    _campaign(db_url, "camp_kill_import")
    path = csv_file(tmp_path / "r.csv", 15_000, "kill.test")
    process = cli_process(db_url, "import-recipients", "camp_kill_import", str(path))
    try:
        caught = wait_for_write(db_url, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    wait_until_forgotten(db_url)
    assert one(db_url, "SELECT count(*) FROM campaign_recipients") == 0
    assert one(db_url, "SELECT count(*) FROM leads") == 0
    assert counter_drift(db_url) == []
    print(f"\nkilled during {caught!r}: nothing written")


# --- the connection drops while committing ----------------------------------------------------


def test_a_connection_lost_while_committing_says_the_outcome_is_unknown(db, db_url):
    """The client can't know whether a commit whose answer never came was made durable:
    Database.run says so rather than "nothing was written"."""
    _campaign(db_url, "camp_commit")
    with psycopg.connect(db_url) as conn:
        # Runs at COMMIT (a deferred constraint trigger), long enough to lose the line in.
        conn.execute(
            "CREATE FUNCTION cc_test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$"
        )
        conn.execute(
            "CREATE CONSTRAINT TRIGGER cc_test_slow_commit AFTER UPDATE ON campaigns"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cc_test_slow_commit()"
        )

    def kill_when_committing() -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for _ in range(1000):
                killed = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = %s"
                    " AND wait_event = 'PgSleep'",
                    ("campaign-console",),
                ).fetchone()[0]
                if killed:
                    return
                time.sleep(0.01)

    killer = threading.Thread(target=kill_when_committing)
    killer.start()
    with pytest.raises(DatabaseFailed, match=r"while committing .*may or may not have been saved"):
        db.run(lambda s: C.edit_campaign(s, "camp_commit", name="Renamed"))
    killer.join()
    assert counter_drift(db_url) == []


# --- the change feed's connection is killed under the app -------------------------------------


def watch_titles(app: CampaignConsoleApp) -> list[str]:
    """Every title the app shows from now on (the live state is in the title)."""
    titles: list[str] = []
    show = app._show_live_state

    def noted() -> None:
        show()
        titles.append(app.title)

    app._show_live_state = noted
    return titles


async def _until(predicate, timeout: float = 20.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_killed_listener_connection_shows_reconnecting_and_recovers(db, db_url):
    with db.transaction() as session:
        seed(session)
    app = CampaignConsoleApp(db, tz=UTC, clock=lambda: NOW, label="t", live=True)
    titles = watch_titles(app)
    async with app.run_test(size=(120, 40)):
        await _until(lambda: app.title.endswith("· live"), what="live")
        with psycopg.connect(db_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'campaign-console-changes'"
                " AND datname = current_database()"
            ).fetchone()[0]
        assert killed == 1
        await _until(lambda: any("reconnecting since" in t for t in titles), what="shown")
        await _until(
            lambda: titles[-1].endswith("· live") and "reconnecting" in titles[-2],
            what="live again",
        )
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "UPDATE campaigns SET name = 'Heard again' WHERE campaign_id = 'camp_done'"
            )
        await _until(
            lambda: "Heard again" in [c.name for c in app.screen.summaries.values()],
            what="fresh data",
        )
        assert app.is_running


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
    _campaign(db_url, "camp_slow", recipients=3, status="running")
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
            await _until(lambda: bool(notes), what="a notification")
            assert "The database cancelled the operation" in notes[0], notes
            assert "statement timeout" in notes[0] and "Traceback" not in notes[0]
            assert not any(SECRET in n for n in notes) and SECRET not in app.sub_title
            blocker.rollback()
            await pilot.press("ctrl+r")
            await _until(lambda: len(getattr(app.screen, "summaries", {})) == 7, what="rows")
            assert app.is_running
    finally:
        blocker.close()
        timed.close()


# --- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(own_server: OwnServer):
    """A 2 MB tmpfs, owned by the server's system user: a disk that fills up."""
    mount = Path(tempfile.mkdtemp(prefix="cc-full-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"can't mount a small tmpfs to fill ({done.stderr.strip()}): needs root")
    try:
        if own_server.system_user:
            import pwd

            user = pwd.getpwnam(own_server.system_user)
            os.chown(mount, user.pw_uid, user.pw_gid)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def test_a_full_disk_is_a_message_and_nothing_is_written(
    own_server: OwnServer, small_disk: Path, capsys, tmp_path
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
        _campaign(url, "camp_full")
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
