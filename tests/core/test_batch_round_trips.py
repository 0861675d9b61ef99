"""record_events' round trips: an id-only batch whose events all change their recipients (the
endpoint's opens, clicks, unsubscribes) is resolved, locked and dedup-checked in one statement
and written in one more; any other batch takes the longer way. Both keep every rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from core.events import EventInput, record_events
from core.figures import recount
from tests.factories import make_campaign, make_recipients

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(session):
    a = make_campaign(session, "camp_trips_a")
    b = make_campaign(session, "camp_trips_b")
    sent = {"status": "sent", "sent_at": T0 - timedelta(hours=1)}
    rids = make_recipients(session, a, 3, **sent) + make_recipients(session, b, 3, **sent)
    session.commit()
    return rids


def _statements(session, work) -> list[str]:
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split())[:40])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def _open(rid: int, key: str, minutes: int = 5) -> EventInput:
    return EventInput(
        "open", recipient_id=rid, dedup_key=key, created_at=T0 + timedelta(minutes=minutes)
    )


def test_an_id_only_batch_of_opens_is_two_statements(session, world):
    session.execute(text("SELECT 1"))  # the transaction is open: BEGIN is not counted
    events = [_open(rid, f"hit:{i}") for i, rid in enumerate(world)]
    done = _statements(session, lambda: record_events(session, events))
    assert len(done) == 2, done
    session.commit()
    assert recount(session) == ()
    opened = session.scalar(
        text("SELECT count(*) FROM campaign_recipients WHERE opened_at IS NOT NULL")
    )
    assert opened == len(world)


def test_stored_keys_read_along_are_skipped_and_counted(session, world):
    record_events(session, [_open(world[0], "hit:once")])
    session.commit()
    again = [_open(world[0], "hit:once", 9), _open(world[1], "hit:new"), _open(world[1], "hit:new")]
    result = record_events(session, again)
    session.commit()
    assert (result.recorded, result.duplicates) == (1, 2)
    keys = session.scalars(text("SELECT dedup_key FROM email_tracking ORDER BY id")).all()
    assert keys == ["hit:once", "hit:new"]
    assert recount(session) == ()


def test_a_batch_with_an_event_that_changes_nothing_takes_the_longer_way(session, world):
    session.execute(text("SELECT 1"))
    events = [_open(world[0], "hit:a"), EventInput("forward", recipient_id=world[3])]
    done = _statements(session, lambda: record_events(session, events))
    assert len(done) == 4, done  # resolve, dedup keys, lock recipients, write
    session.commit()
    assert recount(session) == ()
    assert session.scalar(text("SELECT count(*) FROM email_tracking")) == 2
