"""Event recording: every effect on the recipient, batch atomicity, validation, counters."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from core.errors import InvalidInput
from core.events import (
    MAX_EVENT_DATA_BYTES,
    BatchResult,
    EventInput,
    InvalidEvents,
    LineError,
    record_event,
    record_events,
)
from core.store import Campaign, CampaignRecipient, EmailTracking, RecipientStatus
from tests.factories import make_campaign, make_recipients

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
R = CampaignRecipient


def _t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def campaign(session):
    return make_campaign(session, "camp_track")


@pytest.fixture
def rids(session, campaign):
    return make_recipients(session, campaign, 5, status="sent", sent_at=T0 - timedelta(hours=1))


def _row(session, rid):
    return session.execute(
        select(
            R.opened_at, R.clicked_at, R.replied_at, R.bounced_at, R.status, R.error_message
        ).where(R.id == rid)
    ).one()


def _events(session, rid=None):
    stmt = select(EmailTracking).order_by(EmailTracking.id)
    if rid is not None:
        stmt = stmt.where(EmailTracking.campaign_recipient_id == rid)
    return session.scalars(stmt).all()


def _event_count(session) -> int:
    return session.scalar(select(func.count()).select_from(EmailTracking))


def _counters(session, campaign_pk):
    return session.execute(
        text(
            "SELECT total_recipients, emails_sent, emails_opened, emails_clicked, "
            "emails_replied, emails_bounced FROM campaigns WHERE id = :id"
        ),
        {"id": campaign_pk},
    ).one()


def _recount(session, campaign_pk):
    return session.execute(
        text(
            "SELECT count(*), count(sent_at), count(opened_at), count(clicked_at), "
            "count(replied_at), count(bounced_at) FROM campaign_recipients WHERE campaign_id = :id"
        ),
        {"id": campaign_pk},
    ).one()


# --- effects ---------------------------------------------------------------------------------


def test_open_is_stored_with_all_its_fields_and_sets_opened_at(session, rids):
    new_id = record_event(
        session,
        EventInput(
            "open",
            recipient_id=rids[0],
            event_data={"pixel": "p1", "n": 2},
            user_agent="Mozilla/5.0 [bold]x[/]",
            ip_address="203.0.113.7",
            created_at=_t(5),
        ),
    )
    (ev,) = _events(session)
    assert ev.id == new_id
    assert (ev.campaign_recipient_id, ev.event_type, ev.event_data) == (
        rids[0],
        "open",
        {"pixel": "p1", "n": 2},
    )
    assert (ev.user_agent, str(ev.ip_address), ev.created_at) == (
        "Mozilla/5.0 [bold]x[/]",
        "203.0.113.7",
        _t(5),
    )
    row = _row(session, rids[0])
    assert row.opened_at == _t(5)
    assert (row.clicked_at, row.replied_at, row.bounced_at) == (None, None, None)
    assert row.status == RecipientStatus.SENT
    assert _row(session, rids[1]).opened_at is None


def test_click_also_counts_as_an_open_when_none_was_seen(session, rids):
    record_event(session, EventInput("click", recipient_id=rids[0], created_at=_t(3)))
    row = _row(session, rids[0])
    assert (row.opened_at, row.clicked_at) == (_t(3), _t(3))


def test_click_after_an_open_keeps_the_open_time(session, rids):
    record_event(session, EventInput("open", recipient_id=rids[0], created_at=_t(1)))
    record_event(session, EventInput("click", recipient_id=rids[0], created_at=_t(9)))
    row = _row(session, rids[0])
    assert (row.opened_at, row.clicked_at) == (_t(1), _t(9))


def test_reply_sets_replied_at_only(session, rids):
    record_event(session, EventInput("reply", recipient_id=rids[0], created_at=_t(7)))
    row = _row(session, rids[0])
    assert (row.replied_at, row.opened_at, row.status) == (_t(7), None, RecipientStatus.SENT)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"bounce_type": "permanent", "error_code": 550, "error_message": "User unknown"},
            "User unknown",
        ),
        ({"bounce_type": "permanent", "error_code": 550}, "permanent 550"),
        ({"error_code": 421}, "421"),
        (None, "Bounced (no details given)"),
    ],
)
def test_bounce_sets_status_time_and_error_message(session, rids, data, message):
    record_event(
        session, EventInput("bounce", recipient_id=rids[0], event_data=data, created_at=_t(2))
    )
    row = _row(session, rids[0])
    assert (row.status, row.bounced_at, row.error_message) == (
        RecipientStatus.BOUNCED,
        _t(2),
        message,
    )


@pytest.mark.parametrize("event_type", ["unsubscribe", "complain"])
def test_unsubscribe_and_complain_set_unsubscribed(session, rids, event_type):
    record_event(session, EventInput(event_type, recipient_id=rids[0], created_at=_t(2)))
    row = _row(session, rids[0])
    assert row.status == RecipientStatus.UNSUBSCRIBED
    assert (row.opened_at, row.bounced_at) == (None, None)
    assert _row(session, rids[1]).status == RecipientStatus.SENT


def test_forward_is_stored_but_changes_no_recipient_field(session, rids):
    before = session.execute(select(R.__table__).where(R.id == rids[0])).one()
    record_event(session, EventInput("forward", recipient_id=rids[0], created_at=_t(2)))
    after = session.execute(select(R.__table__).where(R.id == rids[0])).one()
    assert before == after
    assert [e.event_type for e in _events(session)] == ["forward"]


def test_events_without_a_time_get_the_transactions_time(session, rids):
    now = session.scalar(text("SELECT now()"))
    record_event(session, EventInput("open", recipient_id=rids[0]))
    record_events(session, [EventInput("reply", recipient_id=rids[1])])
    assert [e.created_at for e in _events(session)] == [now, now]
    assert _row(session, rids[0]).opened_at == now
    assert _row(session, rids[1]).replied_at == now


# --- first timestamp wins --------------------------------------------------------------------


@pytest.mark.parametrize("batched", [False, True])
def test_later_calls_never_move_a_first_timestamp(session, rids, batched):
    def send(ev):
        return record_events(session, [ev]) if batched else record_event(session, ev)

    send(EventInput("open", recipient_id=rids[0], created_at=_t(10)))
    send(EventInput("open", recipient_id=rids[0], created_at=_t(20)))
    # Even an earlier-stamped event arriving later leaves the first-recorded time alone.
    send(EventInput("open", recipient_id=rids[0], created_at=_t(1)))
    send(EventInput("click", recipient_id=rids[0], created_at=_t(30)))
    send(EventInput("click", recipient_id=rids[0], created_at=_t(40)))
    send(EventInput("bounce", recipient_id=rids[0], created_at=_t(50)))
    send(EventInput("bounce", recipient_id=rids[0], created_at=_t(60)))
    row = _row(session, rids[0])
    assert (row.opened_at, row.clicked_at, row.bounced_at) == (_t(10), _t(30), _t(50))
    assert len(_events(session)) == 7


def test_within_a_batch_the_earliest_time_is_the_first(session, rids):
    result = record_events(
        session,
        [
            EventInput("open", recipient_id=rids[0], created_at=_t(30)),
            EventInput("click", recipient_id=rids[0], created_at=_t(20)),
            EventInput("open", recipient_id=rids[0], created_at=_t(25)),
            EventInput("click", recipient_id=rids[0], created_at=_t(40)),
            EventInput("reply", recipient_id=rids[1], created_at=_t(9)),
            EventInput("reply", recipient_id=rids[1], created_at=_t(8)),
        ],
    )
    assert result == BatchResult(recorded=6, rejected=())
    assert (_row(session, rids[0]).opened_at, _row(session, rids[0]).clicked_at) == (
        _t(20),
        _t(20),
    )
    assert _row(session, rids[1]).replied_at == _t(8)


def test_within_a_batch_the_latest_status_event_wins(session, rids):
    record_events(
        session,
        [
            EventInput("unsubscribe", recipient_id=rids[0], created_at=_t(9)),
            EventInput(
                "bounce",
                recipient_id=rids[0],
                created_at=_t(1),
                event_data={"error_message": "first"},
            ),
            EventInput(
                "bounce",
                recipient_id=rids[1],
                created_at=_t(1),
                event_data={"error_message": "early"},
            ),
            EventInput(
                "bounce",
                recipient_id=rids[1],
                created_at=_t(5),
                event_data={"error_message": "late"},
            ),
            EventInput("complain", recipient_id=rids[1], created_at=_t(3)),
        ],
    )
    row0, row1 = _row(session, rids[0]), _row(session, rids[1])
    assert (row0.status, row0.bounced_at, row0.error_message) == ("unsubscribed", _t(1), "first")
    assert (row1.status, row1.bounced_at, row1.error_message) == ("bounced", _t(1), "late")


# --- naming the recipient --------------------------------------------------------------------


def test_recipient_by_campaign_and_email(session, campaign, rids):
    email = session.scalar(select(R.email_address).where(R.id == rids[2]))
    other = make_campaign(session, "camp_other")
    # The same address in another campaign must not be touched.
    session.execute(
        text(
            "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address) "
            "SELECT :c, lead_id, email_address FROM campaign_recipients WHERE id = :r"
        ),
        {"c": other.id, "r": rids[2]},
    )
    record_event(
        session,
        EventInput("open", campaign="camp_track", email_address=email, created_at=_t(1)),
    )
    result = record_events(
        session, [EventInput("reply", campaign="camp_track", email_address=email, created_at=_t(2))]
    )
    assert result.recorded == 1
    row = _row(session, rids[2])
    assert (row.opened_at, row.replied_at) == (_t(1), _t(2))
    assert {e.campaign_recipient_id for e in _events(session)} == {rids[2]}
    assert session.scalar(select(func.count()).where(R.opened_at.is_not(None))) == 1


def test_batch_mixes_ids_and_email_pairs(session, rids):
    email = session.scalar(select(R.email_address).where(R.id == rids[3]))
    result = record_events(
        session,
        [
            EventInput("open", recipient_id=rids[0], created_at=_t(1)),
            EventInput("open", campaign="camp_track", email_address=email, created_at=_t(2)),
            EventInput("open", campaign="camp_track", email_address=email, created_at=_t(3)),
        ],
    )
    assert result.recorded == 3
    assert _row(session, rids[0]).opened_at == _t(1)
    assert _row(session, rids[3]).opened_at == _t(2)


# --- validation and atomicity ----------------------------------------------------------------

_BAD = {
    "unknown type": (lambda r: EventInput("opn", recipient_id=r), "unknown event type 'opn'"),
    "unknown recipient id": (
        lambda r: EventInput("open", recipient_id=r + 10_000),
        "no recipient with id",
    ),
    "unknown campaign": (
        lambda r: EventInput("open", campaign="camp_nope", email_address="a@example.com"),
        "no campaign 'camp_nope'",
    ),
    "unknown email": (
        lambda r: EventInput("open", campaign="camp_track", email_address="nobody@example.com"),
        "no recipient 'nobody@example.com' in campaign 'camp_track'",
    ),
    "bad ip": (
        lambda r: EventInput("open", recipient_id=r, ip_address="300.1.2.3"),
        "invalid IP address '300.1.2.3'",
    ),
    "non-object json": (
        lambda r: EventInput("open", recipient_id=r, event_data=["a", "b"]),
        "event_data must be a JSON object",
    ),
    "oversized json": (
        lambda r: EventInput("open", recipient_id=r, event_data={"x": "y" * MAX_EVENT_DATA_BYTES}),
        "the limit is 16,384 bytes",
    ),
    "naive timestamp": (
        lambda r: EventInput("open", recipient_id=r, created_at=datetime(2026, 1, 1, 10)),
        "has no time zone",
    ),
    "no recipient": (lambda r: EventInput("open"), "no recipient"),
    "both ways of naming": (
        lambda r: EventInput("open", recipient_id=r, campaign="camp_track", email_address="x"),
        "not both",
    ),
    "NUL in json": (
        lambda r: EventInput("open", recipient_id=r, event_data={"k": "a\x00b"}),
        "NUL character",
    ),
    "id out of range": (lambda r: EventInput("open", recipient_id=2**40), "no recipient with id"),
}


@pytest.mark.parametrize("case", list(_BAD))
def test_a_bad_event_rejects_the_whole_batch_naming_its_line(session, rids, case):
    make_bad, reason = _BAD[case]
    before = _row(session, rids[0])
    batch = [EventInput("open", recipient_id=rids[0], created_at=_t(i)) for i in range(5)]
    batch[2] = make_bad(rids[0])
    with pytest.raises(InvalidEvents) as info:
        record_events(session, batch)
    message = str(info.value)
    assert "line 3:" in message and reason in message
    assert "Nothing was recorded" in message
    assert info.value.rejected == (LineError(3, info.value.rejected[0].reason),)
    assert isinstance(info.value, InvalidInput)
    assert _event_count(session) == 0
    assert _row(session, rids[0]) == before


@pytest.mark.parametrize("case", list(_BAD))
def test_a_bad_single_event_writes_nothing(session, rids, case):
    make_bad, reason = _BAD[case]
    with pytest.raises(InvalidInput, match="Event not recorded") as info:
        record_event(session, make_bad(rids[0]))
    assert reason in str(info.value)
    assert _event_count(session) == 0


def test_event_data_of_exactly_16_kib_is_accepted(session, rids):
    data = {"x": "y" * (MAX_EVENT_DATA_BYTES - len('{"x":""}'))}
    record_event(session, EventInput("open", recipient_id=rids[0], event_data=data))
    data["x"] += "y"
    with pytest.raises(InvalidInput, match="16,385 bytes"):
        record_event(session, EventInput("open", recipient_id=rids[0], event_data=data))
    assert _event_count(session) == 1


def test_ipv6_and_zoned_times_are_stored(session, rids):
    record_event(
        session,
        EventInput(
            "open",
            recipient_id=rids[0],
            ip_address="2001:DB8::1",
            created_at=datetime.fromisoformat("2026-11-26T12:00:00+02:00"),
        ),
    )
    (ev,) = _events(session)
    assert str(ev.ip_address) == "2001:db8::1"
    assert ev.created_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_every_bad_line_is_reported_at_once(session, rids):
    batch = [EventInput("open", recipient_id=rids[0])] * 20
    batch = [*batch[:3], EventInput("nope", recipient_id=rids[0]), *batch[3:]]
    batch += [EventInput("open", recipient_id=-1) for _ in range(12)]
    with pytest.raises(InvalidEvents) as info:
        record_events(session, batch)
    assert [e.line for e in info.value.rejected] == [4, *range(22, 34)]
    assert "13 of 33 events" in str(info.value)
    assert "and 3 more" in str(info.value)


def test_skip_invalid_writes_the_good_and_reports_the_bad(session, rids):
    batch = [
        EventInput("open", recipient_id=rids[0], created_at=_t(1)),
        EventInput("open", recipient_id=rids[1], ip_address="not-an-ip"),
        EventInput("click", recipient_id=rids[2], created_at=_t(2)),
        EventInput("open", recipient_id=rids[4] + 99),
        EventInput("open", campaign="camp_track", email_address="ghost@example.com"),
    ]
    result = record_events(session, batch, skip_invalid=True)
    assert result.recorded == 2
    assert [e.line for e in result.rejected] == [2, 4, 5]
    assert "invalid IP address 'not-an-ip'" in result.rejected[0].reason
    assert result.rejected[1].reason == f"no recipient with id {rids[4] + 99}"
    assert "ghost@example.com" in result.rejected[2].reason
    assert {e.campaign_recipient_id for e in _events(session)} == {rids[0], rids[2]}
    assert _row(session, rids[1]).opened_at is None


def test_lines_number_the_events_as_given(session, rids):
    """A file's line numbers (blank lines counted) are the lines every message names."""
    batch = [
        EventInput("open", recipient_id=rids[0]),
        EventInput("nope", recipient_id=rids[0]),
        EventInput("open", recipient_id=-1),
    ]
    with pytest.raises(InvalidEvents) as info:
        record_events(session, batch, lines=[2, 5, 9])
    assert [e.line for e in info.value.rejected] == [5, 9]
    assert "(line 5: unknown event type 'nope'" in str(info.value)
    result = record_events(session, batch, lines=[2, 5, 9], skip_invalid=True)
    assert result.recorded == 1 and [e.line for e in result.rejected] == [5, 9]
    with pytest.raises(ValueError):
        record_events(session, batch, lines=[1, 2])


def test_skip_invalid_with_nothing_valid_records_nothing(session, rids):
    result = record_events(session, [EventInput("x", recipient_id=rids[0])], skip_invalid=True)
    assert result.recorded == 0 and [e.line for e in result.rejected] == [1]
    assert record_events(session, []) == BatchResult(0, ())
    assert _event_count(session) == 0


def test_ambiguous_email_is_refused(session, campaign, rids):
    # Another program may have written a second row with the same address into one campaign.
    session.execute(
        text("UPDATE campaign_recipients SET email_address = 'dup@example.com' WHERE id = ANY(:r)"),
        {"r": rids[:2]},
    )
    ev = EventInput("open", campaign="camp_track", email_address="dup@example.com")
    with pytest.raises(InvalidInput, match="names 2 recipients"):
        record_event(session, ev)
    with pytest.raises(InvalidEvents, match="names 2 recipients"):
        record_events(session, [ev])
    assert _event_count(session) == 0


# --- scale and counters ----------------------------------------------------------------------


def test_thousands_of_events_in_one_call_match_a_replay(session, campaign):
    rids = make_recipients(session, campaign, 500, status="sent", sent_at=T0)
    rng = random.Random(7)
    kinds = ["open"] * 5 + ["click"] * 3 + ["reply", "forward", "bounce", "unsubscribe"]
    batch = [
        EventInput(
            rng.choice(kinds),
            recipient_id=rng.choice(rids),
            event_data={"i": i},
            created_at=_t(rng.randrange(10_000)),
        )
        for i in range(5_000)
    ]
    assert record_events(session, batch).recorded == 5_000
    assert _event_count(session) == 5_000

    # The expected state, replayed the slow way in time order.
    expected = {r: {"opened_at": None, "clicked_at": None, "replied_at": None} for r in rids}
    for ev in sorted(batch, key=lambda e: e.created_at):
        columns = {"open": ["opened_at"], "click": ["clicked_at", "opened_at"]}.get(
            ev.event_type, ["replied_at"] if ev.event_type == "reply" else []
        )
        for column in columns:
            if expected[ev.recipient_id][column] is None:
                expected[ev.recipient_id][column] = ev.created_at
    actual = {
        r.id: {"opened_at": r.opened_at, "clicked_at": r.clicked_at, "replied_at": r.replied_at}
        for r in session.execute(select(R.id, R.opened_at, R.clicked_at, R.replied_at))
    }
    assert actual == expected
    assert _counters(session, campaign.id) == _recount(session, campaign.id)
    assert _counters(session, campaign.id)[2] > 400


def test_campaign_counters_follow_events(db):
    with db.transaction() as s:
        c = make_campaign(s, "camp_counted")
        rids = make_recipients(s, c, 4, status="sent", sent_at=T0)
        pk = c.id
    with db.transaction() as s:
        record_event(s, EventInput("open", recipient_id=rids[0]))
        record_events(
            s,
            [
                EventInput("click", recipient_id=rids[1]),
                EventInput("reply", recipient_id=rids[1]),
                EventInput("bounce", recipient_id=rids[2]),
                EventInput("open", recipient_id=rids[0]),
                EventInput("forward", recipient_id=rids[3]),
            ],
        )
    with db.reading() as s:
        counters = _counters(s, pk)
        assert counters == (4, 4, 2, 1, 1, 1)
        assert counters == _recount(s, pk)
        campaign = s.get(Campaign, pk)
        assert (campaign.open_rate, campaign.bounce_rate) == (50.0, 25.0)


# --- the JSON-lines form ---------------------------------------------------------------------


def test_from_json_builds_an_event():
    ev = EventInput.from_json(
        {
            "event_type": "click",
            "campaign": "camp_x",
            "email_address": "a@example.com",
            "event_data": {"link_url": "https://example.com"},
            "user_agent": "UA",
            "ip_address": "192.0.2.1",
            "created_at": "2026-11-26T10:00:00Z",
        },
        line=1,
    )
    assert ev == EventInput(
        "click",
        campaign="camp_x",
        email_address="a@example.com",
        event_data={"link_url": "https://example.com"},
        user_agent="UA",
        ip_address="192.0.2.1",
        created_at=T0,
    )
    assert EventInput.from_json({"event_type": "open", "recipient_id": 3}, 2) == EventInput(
        "open", recipient_id=3
    )


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1, 2], "Line 7: expected a JSON object"),
        ({"recipient_id": 1}, "Line 7: event_type is missing"),
        ({"event_type": "open", "recipient": 1}, "Line 7: unknown key 'recipient'"),
        ({"event_type": "open", "created_at": "yesterday"}, "is not an ISO-8601 time"),
        ({"event_type": "open", "created_at": 1700000000}, "must be an ISO-8601 string"),
    ],
)
def test_from_json_names_the_line_of_a_malformed_object(obj, message):
    with pytest.raises(InvalidInput, match=message):
        EventInput.from_json(obj, line=7)


def test_values_from_json_are_checked_when_recorded(session, rids):
    ev = EventInput.from_json(
        {"event_type": "open", "recipient_id": str(rids[0]), "created_at": "2026-11-26T10:00"}, 1
    )
    with pytest.raises(InvalidEvents, match="recipient_id must be a whole number"):
        record_events(session, [ev])
    ev = EventInput.from_json(
        {"event_type": "open", "recipient_id": rids[0], "created_at": "2026-11-26T10:00"}, 1
    )
    with pytest.raises(InvalidEvents, match="has no time zone"):
        record_events(session, [ev])
