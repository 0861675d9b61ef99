"""Event sources and dedup keys (migration 0010): stored as given, an event with a stored key
(or one repeated in its batch) is skipped and counted, counters and rollup equal a recount."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core.errors import InvalidInput
from core.events import (
    EventInput,
    InvalidEvents,
    recipient_timeline,
    record_event,
    record_events,
)
from core.figures import recount
from tests.factories import make_campaign, make_recipients

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(session):
    campaign = make_campaign(session, "camp_dedup")
    rids = make_recipients(session, campaign, 4, status="sent", sent_at=T0 - timedelta(hours=1))
    session.commit()
    return campaign.id, rids


def _stored(session) -> list[tuple]:
    return session.execute(
        text(
            "SELECT campaign_recipient_id, event_type, source, dedup_key FROM email_tracking"
            " ORDER BY id"
        )
    ).all()


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_source_and_dedup_key_are_stored_and_read_back(session, world):
    _, rids = world
    record_event(
        session,
        EventInput(
            "open", recipient_id=rids[0], source="pixel", dedup_key="hit:aa", created_at=_at(1)
        ),
    )
    record_events(
        session, [EventInput("click", recipient_id=rids[0], source="link", created_at=_at(2))]
    )
    record_events(session, [EventInput("reply", recipient_id=rids[0], created_at=_at(3))])
    session.commit()
    assert _stored(session) == [
        (rids[0], "open", "pixel", "hit:aa"),
        (rids[0], "click", "link", None),
        (rids[0], "reply", None, None),
    ]
    events = recipient_timeline(session, rids[0]).events
    assert [e.source for e in events] == ["pixel", "link", None]


def test_same_key_twice_in_one_batch_and_across_batches_is_stored_once(session, world):
    pk, rids = world
    batch = [
        EventInput(
            "open", recipient_id=rids[0], dedup_key="hit:1", source="pixel", created_at=_at(1)
        ),
        EventInput(
            "open", recipient_id=rids[0], dedup_key="hit:1", source="pixel", created_at=_at(2)
        ),
        EventInput(
            "click", recipient_id=rids[1], dedup_key="hit:2", source="link", created_at=_at(3)
        ),
        EventInput("open", recipient_id=rids[2], created_at=_at(4)),  # no key: always stored
        EventInput(
            "bounce",
            recipient_id=rids[3],
            dedup_key="ses:m1",
            source="ses",
            event_data={"bounce_type": "hard", "error_code": 550},
            created_at=_at(5),
        ),
    ]
    first = record_events(session, batch)
    session.commit()
    assert (first.recorded, first.duplicates, first.rejected) == (4, 1, ())
    again = record_events(session, batch)  # the spool replayed: only the unkeyed one is new
    session.commit()
    assert (again.recorded, again.duplicates) == (1, 4)
    keys = [row[3] for row in _stored(session)]
    assert sorted(k for k in keys if k) == ["hit:1", "hit:2", "ses:m1"]
    assert len(keys) == 5
    assert recount(session, pk) == ()
    counters = session.execute(
        text("SELECT emails_opened, emails_clicked, emails_bounced FROM campaigns WHERE id = :id"),
        {"id": pk},
    ).one()
    assert tuple(counters) == (3, 1, 1)


def test_record_event_with_a_stored_key_returns_the_stored_id_and_writes_nothing(session, world):
    pk, rids = world
    first = record_event(session, EventInput("open", recipient_id=rids[0], dedup_key="hit:x"))
    session.commit()
    second = record_event(session, EventInput("open", recipient_id=rids[0], dedup_key="hit:x"))
    record_events(session, [EventInput("open", recipient_id=rids[0], dedup_key="hit:x")])
    session.commit()
    assert second == first
    assert len(_stored(session)) == 1
    assert recount(session, pk) == ()


def test_a_duplicate_does_not_hide_a_bad_event(session, world):
    _, rids = world
    record_events(session, [EventInput("open", recipient_id=rids[0], dedup_key="hit:y")])
    session.commit()
    with pytest.raises(InvalidEvents):
        record_events(
            session,
            [
                EventInput("open", recipient_id=rids[0], dedup_key="hit:y"),
                EventInput("open", recipient_id=999_999, dedup_key="hit:z"),
            ],
        )
    session.rollback()
    assert len(_stored(session)) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"source": "carrier-pigeon"}, "unknown source"),
        ({"source": 3}, "unknown source"),
        ({"dedup_key": ""}, "dedup_key is empty"),
        ({"dedup_key": "k" * 201}, "the limit is 200"),
        ({"dedup_key": "a\x00b"}, "NUL"),
        ({"dedup_key": 12}, "dedup_key must be text"),
    ],
)
def test_bad_source_or_key_is_refused_before_anything_is_written(session, world, fields, message):
    _, rids = world
    with pytest.raises(InvalidInput, match=message):
        record_event(session, EventInput("open", recipient_id=rids[0], **fields))
    with pytest.raises(InvalidEvents, match=message):
        record_events(
            session,
            [
                EventInput("open", recipient_id=rids[1]),
                EventInput("open", recipient_id=rids[0], **fields),
            ],
        )
    session.rollback()
    assert _stored(session) == []


def test_json_lines_take_source_and_dedup_key():
    event = EventInput.from_json(
        {"event_type": "open", "recipient_id": 1, "source": "import", "dedup_key": "k1"}, 1
    )
    assert (event.source, event.dedup_key) == ("import", "k1")


def test_racing_writers_with_the_same_keys_store_each_once(db, world):
    pk, rids = world
    batch = [
        EventInput("open", recipient_id=rid, dedup_key=f"hit:{rid}", source="pixel") for rid in rids
    ]
    results = []
    barrier = threading.Barrier(4)

    def writer() -> None:
        waited = []

        def unit(session):
            if not waited:  # all four start together (a retried unit doesn't wait again)
                waited.append(barrier.wait())
            return record_events(session, batch)

        results.append(db.run(unit))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.recorded for r in results) == len(rids)
    assert sum(r.duplicates for r in results) == 3 * len(rids)
    with db.reading() as s:
        assert s.execute(text("SELECT count(*) FROM email_tracking")).scalar_one() == len(rids)
        assert recount(s, pk) == ()


def test_the_stored_keys_are_looked_up_by_the_unique_index(session):
    session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: force the choice
    plan = "\n".join(
        session.scalars(
            text(
                "EXPLAIN SELECT dedup_key FROM email_tracking"
                " WHERE dedup_key = ANY(CAST(:keys AS text[]))"
            ),
            {"keys": ["hit:a", "hit:b"]},
        )
    )
    assert "uq_email_tracking_dedup_key" in plan, plan
