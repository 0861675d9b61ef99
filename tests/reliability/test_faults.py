"""Faults: the server stopping under an import or an event batch, the client killed with
SIGKILL mid-write, the connection lost while committing, the change feed's connection killed
under the app. After each: a message (never a traceback), and nothing half-written.

The server-stopping tests use a server of their own (conftest.own_server), never the one the
rest of the suite shares. Statement timeouts and a full disk: test_faults_limits.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC

import psycopg
import pytest

from core import campaigns
from core.errors import DatabaseFailed
from tests.conftest import EmbeddedServer
from tests.reliability.conftest import counter_drift
from tests.reliability.faults import (
    REPO,
    campaign,
    cli_process,
    csv_file,
    until,
    wait_for_write,
    wait_until_forgotten,
)
from tests.reliability.hostile import one
from tests.tui.data import NOW, seed
from tui.app import CampaignConsoleApp

pytestmark = pytest.mark.slow


def _finished(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


# --- the server stops while a write runs -----------------------------------------------------


def _stop_server_during_write(own_server: EmbeddedServer, url: str, process: subprocess.Popen):
    """Stop the server once the command's write is under way, then start it again: (what
    was running when it stopped, the command's exit code, stdout, stderr)."""
    try:
        caught = wait_for_write(url, process)
        own_server.stop()
        code, out, err = _finished(process)
    finally:
        process.kill()
        own_server.start()
    return caught, code, out, err


def test_server_stopping_during_an_import_leaves_all_or_nothing(
    own_server: EmbeddedServer, tmp_path
):
    url = own_server.new_database()
    campaign(url, "camp_import")
    path = csv_file(tmp_path / "r.csv", 20_000, "stop.test")
    process = cli_process(url, "import-recipients", "camp_import", str(path))
    caught, code, out, err = _stop_server_during_write(own_server, url, process)
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
    own_server: EmbeddedServer, tmp_path
):
    url = own_server.new_database()
    campaign(url, "camp_track", recipients=2_000, status="running")
    path = tmp_path / "events.jsonl"
    with path.open("w") as f:
        for i in range(EVENTS):
            address = f"lead{i % 2_000 + 1}@faults.test"
            kind = ("open", "click", "forward")[i % 3]
            event = {"event_type": kind, "campaign": "camp_track", "email_address": address}
            f.write(json.dumps(event) + "\n")
    process = cli_process(url, "track", str(path))
    caught, code, out, err = _stop_server_during_write(own_server, url, process)
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
from core.campaigns import manage as C
from core.store.db import Database
from core.errors import DatabaseFailed
from core.events import EventInput, record_events

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
    campaign(db_url, "camp_kill", recipients=1_500, status="running")
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
    campaign(db_url, "camp_kill_import")
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
    campaign(db_url, "camp_commit")
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
        db.run(lambda s: campaigns.edit_campaign(s, "camp_commit", name="Renamed"))
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


async def test_a_killed_listener_connection_shows_reconnecting_and_recovers(db, db_url):
    with db.transaction() as session:
        seed(session)
    app = CampaignConsoleApp(db, tz=UTC, clock=lambda: NOW, label="t", live=True)
    titles = watch_titles(app)
    async with app.run_test(size=(120, 40)):
        await until(lambda: app.title.endswith("· live"), what="live")
        with psycopg.connect(db_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'campaign-console-changes'"
                " AND datname = current_database()"
            ).fetchone()[0]
        assert killed == 1
        await until(lambda: any("reconnecting since" in t for t in titles), what="shown")
        await until(
            lambda: titles[-1].endswith("· live") and "reconnecting" in titles[-2],
            what="live again",
        )
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "UPDATE campaigns SET name = 'Heard again' WHERE campaign_id = 'camp_done'"
            )
        await until(
            lambda: "Heard again" in [c.name for c in app.screen.summaries.values()],
            what="fresh data",
        )
        assert app.is_running
