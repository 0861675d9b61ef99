"""Events that can't be true are refused with a reason, nothing cut or stored: an open, click,
reply or forward for a recipient never sent, a user agent over the cap."""

from __future__ import annotations

import io
import json

import psycopg
import pytest

from core import events
from core.errors import InvalidInput
from core.events import MAX_USER_AGENT_CHARS, EventInput, InvalidEvents
from core.store import Database
from tests.reliability.conftest import unchanged
from tui.cli import main


@pytest.fixture(scope="module")
def setup(module_db_url):
    with psycopg.connect(module_db_url, autocommit=True) as conn:
        pk = conn.execute(
            "INSERT INTO campaigns (campaign_id, name, status) VALUES ('camp_ev', 'Ev', 'running')"
            " RETURNING id"
        ).fetchone()[0]
        conn.execute("INSERT INTO leads (email) VALUES ('sent@ev.test'), ('unsent@ev.test')")
        rows = conn.execute(
            "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status,"
            " sent_at) SELECT %s, id, email, CASE WHEN email LIKE 'sent%%' THEN 'sent'"
            " ELSE 'pending' END, CASE WHEN email LIKE 'sent%%' THEN now() END"
            " FROM leads WHERE email LIKE '%%@ev.test' RETURNING email_address, id",
            (pk,),
        ).fetchall()
    db = Database(module_db_url)
    yield module_db_url, db, dict(rows)
    db.close()


NEEDS_SENT = ["open", "click", "reply", "forward"]


@pytest.mark.parametrize("kind", NEEDS_SENT)
def test_an_event_for_a_recipient_never_sent_is_refused(setup, kind):
    url, db, ids = setup
    with unchanged(url), pytest.raises(InvalidInput, match="never sent the message"):
        db.run(lambda s: events.record_event(s, EventInput(kind, ids["unsent@ev.test"])))
    by_email = EventInput(kind, campaign="camp_ev", email_address="unsent@ev.test")
    with unchanged(url), pytest.raises(InvalidInput, match="never sent the message"):
        db.run(lambda s: events.record_event(s, by_email))
    with unchanged(url), pytest.raises(InvalidEvents, match=r"line 2: recipient .* never sent"):
        db.run(
            lambda s: events.record_events(s, [EventInput(kind, ids["sent@ev.test"]), by_email])
        )


@pytest.mark.parametrize("kind", ["bounce", "unsubscribe", "complain"])
def test_a_bounce_or_an_unsubscribe_is_kept_for_a_recipient_never_sent(setup, kind):
    """A bounce may answer a message refused at the SMTP dialogue (never marked sent); an
    unsubscribe or complaint must always suppress the address."""
    url, db, ids = setup
    rid = ids["unsent@ev.test"]
    db.run(lambda s: events.record_events(s, [EventInput(kind, rid)]))
    with psycopg.connect(url) as conn:
        n = conn.execute(
            "SELECT count(*) FROM email_tracking WHERE campaign_recipient_id = %s"
            " AND event_type = %s",
            (rid, kind),
        ).fetchone()[0]
    assert n == 1


def test_track_says_which_lines_were_for_recipients_never_sent(setup, capsys, monkeypatch):
    url, _, ids = setup
    lines = [
        {"event_type": "open", "recipient_id": ids["sent@ev.test"]},
        {"event_type": "open", "campaign": "camp_ev", "email_address": "unsent@ev.test"},
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(json.dumps(x) + "\n" for x in lines)))
    with unchanged(url):
        code = main(["track", "-", "--database-url", url])
    err = capsys.readouterr().err
    assert code == 1 and "line 2: recipient" in err and "never sent" in err


def test_a_user_agent_over_the_cap_is_refused_not_cut(setup):
    url, db, ids = setup
    rid = ids["sent@ev.test"]
    long = "Mozilla/5.0 " + "x" * (MAX_USER_AGENT_CHARS - 11)
    assert len(long) == MAX_USER_AGENT_CHARS + 1
    with unchanged(url), pytest.raises(InvalidInput, match="the limit is 2,048"):
        db.run(lambda s: events.record_event(s, EventInput("open", rid, user_agent=long)))
    with unchanged(url), pytest.raises(InvalidEvents, match="user_agent is 2,049 characters"):
        db.run(lambda s: events.record_events(s, [EventInput("open", rid, user_agent=long)]))
    huge = "y" * 100_000_000
    with unchanged(url), pytest.raises(InvalidInput, match="user_agent is 100,000,000 characters"):
        db.run(lambda s: events.record_event(s, EventInput("open", rid, user_agent=huge)))
    fits = long[:-1]
    new_id = db.run(lambda s: events.record_event(s, EventInput("open", rid, user_agent=fits)))
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT user_agent FROM email_tracking WHERE id = %s", (new_id,))
        assert stored.fetchone()[0] == fits
