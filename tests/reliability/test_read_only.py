"""Read-only mode is enforced by the database itself, and a DSN's password never shows.

Every core write path is run on a read-only Database: each is refused by the server (the
session is default_transaction_read_only) and the database is unchanged; the same call on a
writable session, rolled back, shows each would have written. The password of a URL is looked
for in CLI output, the app's notifications and title, the change feed's status, and logs.
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError

from core import campaigns, demo, events, figures, recipients
from core.errors import ReadOnly
from core.events import EventInput
from core.store import ChangeFeed, Database, FeedState, explain
from tests.conftest import EmbeddedServer
from tests.reliability.conftest import unchanged
from tests.reliability.hostile import World, make_world, record_notifications
from tests.tui.data import NOW
from tui.app import CampaignConsoleApp
from tui.cli import main

LATER = datetime.now(UTC) + timedelta(days=30)


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    with psycopg.connect(w.url) as conn:
        # Something for each write to act on: a due schedule, drifted counters, a suppression.
        conn.execute(
            "UPDATE campaigns SET scheduled_at = now() - interval '1 hour'"
            " WHERE campaign_id = 'camp_sched'"
        )
        conn.execute("DELETE FROM suppressions")  # suppress_from_events lists them again
        conn.execute(
            "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)"
            " SELECT c.id, l.id, l.email FROM campaigns c, leads l"
            " WHERE c.campaign_id = 'camp_sched' AND l.email = 'ana@example.com'"
        )
        conn.execute("UPDATE campaigns SET emails_sent = 999 WHERE campaign_id = 'camp_done'")
        conn.execute(
            "INSERT INTO suppressions (email_address, reason) VALUES ('x@y.test', 'manual')"
        )
        conn.execute(
            "UPDATE campaign_recipients SET status = 'failed', error_message = '421'"
            " WHERE email_address = 'sam@example.com'"
        )
    yield w
    w.db.close()


@pytest.fixture(scope="module")
def read_only(world: World):
    db = Database(world.url, read_only=True)
    yield db
    db.close()


def _csv(s, w):
    return recipients.import_csv(s, "camp_draft", io.StringIO("new@example.com,New\n"))


WRITES = {
    "create_campaign": lambda s, w: campaigns.create_campaign(s, name="New"),
    "edit_campaign": lambda s, w: campaigns.edit_campaign(s, "camp_draft", name="Renamed"),
    "delete_campaign": lambda s, w: campaigns.delete_campaign(s, "camp_failed"),
    "duplicate_campaign": lambda s, w: recipients.duplicate_campaign(s, "camp_spring"),
    "schedule": lambda s, w: campaigns.schedule(s, "camp_evil", LATER),
    "unschedule": lambda s, w: campaigns.unschedule(s, "camp_sched"),
    "start": lambda s, w: campaigns.start(s, "camp_sched"),
    "pause": lambda s, w: campaigns.pause(s, "camp_spring"),
    "resume": lambda s, w: campaigns.resume(s, "camp_paused"),
    "complete": lambda s, w: campaigns.complete(s, "camp_spring"),
    "fail": lambda s, w: campaigns.fail(s, "camp_paused"),
    "start_due": lambda s, w: campaigns.start_due(s, datetime.now(UTC)),
    "add_leads": lambda s, w: recipients.add_leads(s, "camp_draft"),
    "import_csv": _csv,
    "remove_recipients": lambda s, w: recipients.remove_recipients(
        s, "camp_spring", [w.recipient["ana"]]
    ),
    "claim_batch": lambda s, w: recipients.claim_batch(s, "camp_spring", 10),
    "mark_sent": lambda s, w: recipients.mark_sent(s, [w.recipient["quinn"]]),
    "mark_failed": lambda s, w: recipients.mark_failed(s, [w.recipient["quinn"]], "421 try later"),
    "mark_bounced": lambda s, w: recipients.mark_bounced(
        s, [w.recipient["ana"]], "550 no such user"
    ),
    "retry_failed": lambda s, w: recipients.retry_failed(s, "camp_spring"),
    "record_event": lambda s, w: events.record_event(s, EventInput("open", w.recipient["ines"])),
    "record_events": lambda s, w: events.record_events(
        s, [EventInput("click", w.recipient["jon"]), EventInput("reply", w.recipient["kira"])]
    ),
    "recount": lambda s, w: figures.recount(s),
    "suppress": lambda s, w: recipients.suppress(s, "nobody@example.com"),
    "lift": lambda s, w: recipients.lift(s, "x@y.test"),
    "suppress_from_events": lambda s, w: recipients.suppress_from_events(s),
    "reclassify": lambda s, w: events.reclassify(s, settings=events.Settings.uniform(3600.0)),
}


def _refused(exc: BaseException) -> bool:
    explained = explain(exc)
    return isinstance(explained, ReadOnly) and "read-only transaction" in str(explained)


@pytest.mark.parametrize("name", list(WRITES))
def test_every_write_is_refused_by_the_database(world: World, read_only: Database, name):
    write = WRITES[name]
    # On a writable session (rolled back) it writes something: the refusal below is real.
    with world.db.sessions() as session:
        write(session, world)
        session.flush()
        changed = session.connection().exec_driver_sql("SELECT pg_current_xact_id_if_assigned()")
        assert changed.scalar() is not None, f"{name} wrote nothing even when allowed"
        session.rollback()
    with unchanged(world.url), pytest.raises((DBAPIError, psycopg.Error)) as refused:
        read_only.run(lambda session: write(session, world))
    assert _refused(refused.value), refused.value


def test_seeding_the_demo_is_refused(world: World, read_only: Database):
    with unchanged(world.url), pytest.raises((DBAPIError, psycopg.Error)) as refused:
        demo.seed_demo(read_only, size="small")
    assert _refused(refused.value)


def test_read_only_survives_a_url_that_asks_for_writes(world: World):
    url = world.url + "&options=-c%20default_transaction_read_only%3Doff"
    db = Database(url, read_only=True)
    try:
        with unchanged(world.url), pytest.raises(DBAPIError, match="read-only transaction"):
            db.run(lambda s: campaigns.create_campaign(s, name="sneaky"))
    finally:
        db.close()


@pytest.mark.parametrize(
    "args",
    [
        ["track", "-"],
        ["status", "camp_spring", "pause"],
        ["recount"],
        ["import-recipients", "camp_draft", "{csv}"],
    ],
    ids=["track", "status", "recount", "import"],
)
def test_cli_writes_in_read_only_mode_are_refused_with_a_message(
    world: World, capsys, tmp_path, monkeypatch, args
):
    (tmp_path / "r.csv").write_text("zed@example.com\n")
    monkeypatch.setattr("sys.stdin", io.StringIO('{"event_type": "open", "recipient_id": 1}\n'))
    args = [a.replace("{csv}", str(tmp_path / "r.csv")) for a in args]
    with unchanged(world.url):
        code = main(["--read-only", *args, "--database-url", world.url])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    # Refused up front (tests/reliability/test_read_only_commands.py covers every command).
    assert "--read-only was given: refused before anything was opened" in err
    assert "Traceback" not in err


# --- the password never shows ---------------------------------------------------------------

PASSWORD = "Pa55:w@rd/#Sekr1t"  # characters that need encoding in a URL
USER = "cc_secret_user"


@pytest.fixture(scope="module")
def password_server(own_server: EmbeddedServer):
    """own_server with a role that must give its password (scram), like a production server."""
    hba = own_server.pgdata / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(f"local all {USER} scram-sha-256\n" + original)
    database = own_server.new_database()
    with psycopg.connect(own_server.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        conn.execute("SELECT pg_reload_conf()")
    yield database
    hba.write_text(original)
    with psycopg.connect(own_server.admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")


def _url(database_url: str, password: str) -> str:
    return database_url.replace(
        "postgresql://postgres:@", f"postgresql://{USER}:{quote(password, safe='')}@"
    )


def _leaks(text: str) -> bool:
    return PASSWORD in text or quote(PASSWORD, safe="") in text or "Sekr1t" in text


def test_a_rejected_password_is_not_shown(password_server, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = PASSWORD[::-1] + "x"
    code = main(["stats", "--database-url", _url(password_server, wrong)])
    out, err = capsys.readouterr()
    assert code == 1 and "password authentication failed" in err
    assert wrong not in err and quote(wrong, safe="") not in err and "Traceback" not in err
    assert f"{USER}:***@" in err
    # The right password, and a failure after connecting (a read-only write): masked too.
    right = _url(password_server, PASSWORD)
    assert main(["stats", "--database-url", right]) == 0
    code = main(["--read-only", "recount", "--database-url", right])
    out, err = capsys.readouterr()
    assert code == 1 and "read-only" in err
    assert not _leaks(out + err + caplog.text)


def test_the_change_feed_status_masks_the_password(password_server, caplog):
    caplog.set_level(logging.DEBUG)
    statuses = []
    wrong = ChangeFeed(_url(password_server, "nope-" + PASSWORD), on_status=statuses.append)
    changes = wrong.changes(timeout=0.05)
    for _ in range(3):
        next(changes)
    wrong.stop()
    list(changes)
    assert any("password authentication failed" in s.detail for s in statuses), statuses
    right = ChangeFeed(_url(password_server, PASSWORD), on_status=statuses.append)
    changes = right.changes(timeout=0.05)
    next(changes)
    assert right.status.state is FeedState.LIVE
    right.stop()
    list(changes)
    assert not any(_leaks(s.detail) for s in statuses)
    assert not _leaks(caplog.text)


async def test_the_app_never_shows_the_password(password_server, caplog):
    caplog.set_level(logging.DEBUG)
    url = _url(password_server, PASSWORD) + "&options=-c%20statement_timeout%3D300"
    database = Database(url)
    # Another program holds a lock the first read waits for, past the statement timeout.
    blocker = psycopg.connect(password_server)
    blocker.execute("LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE")
    try:
        app = CampaignConsoleApp(database, tz=UTC, clock=lambda: NOW, live=True)
        notes = record_notifications(app)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(1000):
                if notes and app.feed_status is not None:
                    break
                await pilot.pause(0.02)
            shown = [app.title, app.sub_title, *notes, app.feed_status.detail]
            assert any("statement timeout" in n for n in notes), shown
            assert not any(_leaks(text) for text in shown), shown
            assert f"{USER}:***@" in app.sub_title
    finally:
        blocker.close()
        database.close()
    assert not _leaks(caplog.text)


def test_an_unencoded_password_connects_and_never_shows(password_server, capsys, caplog):
    """`@`, `/`, `#` and `:` typed as they are: read as libpq reads them (the last `@` before
    the host), so the right password is sent, and it is masked in every message."""
    caplog.set_level(logging.DEBUG)
    raw = password_server.replace("postgresql://postgres:@", f"postgresql://{USER}:{PASSWORD}@")
    assert main(["stats", "--database-url", raw]) == 0
    code = main(["--read-only", "recount", "--database-url", raw])
    out, err = capsys.readouterr()
    assert code == 1 and "read-only" in err
    wrong = raw.replace(PASSWORD, "Wr0ng@/#:pass")
    assert main(["stats", "--database-url", wrong]) == 1
    err = capsys.readouterr().err
    assert "password authentication failed" in err and "Wr0ng" not in err
    assert not _leaks(out + err + caplog.text)
