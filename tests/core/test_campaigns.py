"""Campaigns: create/edit/delete/duplicate, listing, and every lifecycle move (allowed or not)."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import campaigns
from core import recipients as recipients_core
from core.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from core.store import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    EmailTracking,
    EventType,
    RecipientStatus,
    User,
)
from tests.factories import make_campaign, make_recipients, make_template

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=3)
S = CampaignStatus


def _make(s, cid: str, status: S, *, recipients: int = 1, **fields) -> Campaign:
    if status in (S.RUNNING, S.PAUSED, S.COMPLETED, S.FAILED):
        fields.setdefault("started_at", EARLIER)
    if status in (S.COMPLETED, S.FAILED):
        fields.setdefault("completed_at", EARLIER + timedelta(hours=1))
    if status == S.SCHEDULED:
        fields.setdefault("scheduled_at", NOW + timedelta(days=1))
    c = make_campaign(s, cid, status=status, **fields)
    if recipients:
        make_recipients(s, c, recipients)
    return c


def _row(db, cid: str) -> dict:
    with db.reading() as s:
        c = s.scalar(select(Campaign).where(Campaign.campaign_id == cid))
        return {k: getattr(c, k) for k in Campaign.__table__.columns.keys()}  # noqa: SIM118


# --- lifecycle ----------------------------------------------------------------------------

TRANSITIONS = {
    (S.DRAFT, "schedule"): S.SCHEDULED,
    (S.DRAFT, "start"): S.RUNNING,
    (S.SCHEDULED, "unschedule"): S.DRAFT,
    (S.SCHEDULED, "start"): S.RUNNING,
    (S.RUNNING, "pause"): S.PAUSED,
    (S.RUNNING, "complete"): S.COMPLETED,
    (S.RUNNING, "fail"): S.FAILED,
    (S.PAUSED, "resume"): S.RUNNING,
    (S.PAUSED, "complete"): S.COMPLETED,
    (S.PAUSED, "fail"): S.FAILED,
}
ALL_PAIRS = [(status, action) for status in S for action in campaigns.ACTIONS]


def test_allowed_moves_match_the_design():
    for status in S:
        assert set(campaigns.ALLOWED_MOVES[status]) == {
            a for (st, a) in TRANSITIONS if st == status
        }
    assert set(campaigns.ACTIONS) == {
        "schedule",
        "unschedule",
        "start",
        "pause",
        "resume",
        "complete",
        "fail",
    }


@pytest.mark.parametrize(("status", "action"), [p for p in ALL_PAIRS if p in TRANSITIONS])
@pytest.mark.parametrize("by_name", [False, True], ids=["function", "transition"])
def test_allowed_transition(db, status, action, by_name):
    with db.transaction() as s:
        _make(s, "c1", status)
    before = _row(db, "c1")
    at = NOW + timedelta(hours=5)
    with db.transaction() as s:
        if by_name:
            result = campaigns.transition(s, "c1", action, at=at, now=NOW)
        else:
            fn = getattr(campaigns, action)
            result = fn(s, "c1", at, now=NOW) if action == "schedule" else fn(s, "c1", now=NOW)
    after = _row(db, "c1")
    target = TRANSITIONS[(status, action)]
    assert result.status == target == after["status"]
    assert result.campaign_id == "c1"
    if target == S.RUNNING:
        # Set when it first runs; kept when it was already running before.
        assert after["started_at"] == (before["started_at"] or NOW)
    else:
        assert after["started_at"] == before["started_at"]
    if target in (S.COMPLETED, S.FAILED):
        assert after["completed_at"] == NOW
    else:
        assert after["completed_at"] is None
    if action == "schedule":
        assert after["scheduled_at"] == at
    if action == "unschedule":
        assert after["scheduled_at"] is None


@pytest.mark.parametrize(("status", "action"), [p for p in ALL_PAIRS if p not in TRANSITIONS])
def test_refused_transition_names_status_and_allowed_moves(db, status, action):
    with db.transaction() as s:
        _make(s, "c1", status)
    before = _row(db, "c1")
    with pytest.raises(InvalidTransition) as info, db.transaction() as s:
        campaigns.transition(s, "c1", action, at=NOW + timedelta(days=2), now=NOW)
    message = str(info.value)
    assert _row(db, "c1") == before
    assert f"is {status}" in message
    allowed = campaigns.ALLOWED_MOVES[status]
    if allowed:
        assert message.startswith(f"Can't {action} c1: it is {status}; from {status} you can ")
        assert all(a in message for a in allowed)
    else:
        assert message == f"Campaign c1 is {status}: {status} is final; no moves are allowed."


def test_refusal_messages_read_well(db):
    with db.transaction() as s:
        _make(s, "camp_x", S.DRAFT)
        _make(s, "camp_y", S.RUNNING)
    with pytest.raises(InvalidTransition) as info, db.transaction() as s:
        campaigns.pause(s, "camp_x")
    assert (
        str(info.value) == "Can't pause camp_x: it is draft; from draft you can schedule or start."
    )
    with pytest.raises(InvalidTransition) as info, db.transaction() as s:
        campaigns.resume(s, "camp_y")
    assert str(info.value) == (
        "Can't resume camp_y: it is running; from running you can pause, complete or fail."
    )


def test_started_at_is_kept_on_resume(db):
    with db.transaction() as s:
        _make(s, "c1", S.DRAFT, recipients=2)
    with db.transaction() as s:
        campaigns.start(s, "c1", now=NOW)
    with db.transaction() as s:
        campaigns.pause(s, "c1", now=NOW + timedelta(hours=1))
    with db.transaction() as s:
        resumed = campaigns.resume(s, "c1", now=NOW + timedelta(hours=2))
    assert resumed.status == S.RUNNING
    assert resumed.started_at == NOW
    with db.transaction() as s:
        done = campaigns.complete(s, "c1", now=NOW + timedelta(hours=3))
    assert (done.started_at, done.completed_at) == (NOW, NOW + timedelta(hours=3))


@pytest.mark.parametrize("action", ["start", "schedule"])
def test_empty_campaign_cannot_start_or_be_scheduled(db, action):
    with db.transaction() as s:
        _make(s, "c1", S.DRAFT, recipients=0)
    before = _row(db, "c1")
    with pytest.raises(InvalidTransition, match="c1: it has no recipients"), db.transaction() as s:
        campaigns.transition(s, "c1", action, at=NOW + timedelta(days=1), now=NOW)
    assert _row(db, "c1") == before


def test_scheduled_campaign_emptied_cannot_start(db):
    with db.transaction() as s:
        c = _make(s, "c1", S.SCHEDULED, recipients=0)
    with pytest.raises(InvalidTransition, match="no recipients"), db.transaction() as s:
        campaigns.start(s, c.id, now=NOW)


@pytest.mark.parametrize("offset", [timedelta(0), -timedelta(seconds=1), -timedelta(days=30)])
def test_schedule_needs_a_future_time(db, offset):
    with db.transaction() as s:
        _make(s, "c1", S.DRAFT)
    with pytest.raises(InvalidInput, match="not in the future"), db.transaction() as s:
        campaigns.schedule(s, "c1", NOW + offset, now=NOW)
    assert _row(db, "c1")["status"] == S.DRAFT


def test_schedule_needs_an_aware_time(db):
    with db.transaction() as s:
        _make(s, "c1", S.DRAFT)
    with pytest.raises(InvalidInput, match="no time zone"), db.transaction() as s:
        campaigns.schedule(s, "c1", datetime(2099, 1, 1, 9, 0))
    with pytest.raises(InvalidInput, match="needs a time"), db.transaction() as s:
        campaigns.transition(s, "c1", "schedule")
    with pytest.raises(InvalidInput, match="no time zone"), db.transaction() as s:
        campaigns.start(s, "c1", now=datetime(2099, 1, 1))
    # Without `now`, the real clock decides.
    with db.transaction() as s:
        assert (
            campaigns.schedule(s, "c1", datetime.now(UTC) + timedelta(minutes=5)).status
            == S.SCHEDULED
        )


def test_unknown_action_and_unknown_campaign(db):
    with db.transaction() as s:
        _make(s, "c1", S.DRAFT)
    refused = pytest.raises(InvalidInput, match="use one of schedule, unschedule, start")
    with refused, db.transaction() as s:
        campaigns.transition(s, "c1", "launch")
    with pytest.raises(NotFound, match="nope"), db.transaction() as s:
        campaigns.start(s, "nope")


def test_start_due_starts_only_scheduled_campaigns_whose_time_came(db):
    with db.transaction() as s:
        _make(s, "due2", S.SCHEDULED, scheduled_at=NOW - timedelta(minutes=1))
        _make(s, "due1", S.SCHEDULED, scheduled_at=NOW - timedelta(hours=1))
        _make(s, "exact", S.SCHEDULED, scheduled_at=NOW)
        _make(s, "later", S.SCHEDULED, scheduled_at=NOW + timedelta(seconds=1))
        _make(s, "draft", S.DRAFT, scheduled_at=NOW - timedelta(hours=1))
        _make(s, "empty", S.SCHEDULED, scheduled_at=NOW - timedelta(hours=1), recipients=0)
        _make(s, "paused", S.PAUSED, scheduled_at=NOW - timedelta(hours=1))
    with db.transaction() as s:
        started = campaigns.start_due(s, NOW)
    assert started == ["due1", "due2", "exact"]
    statuses = {c: _row(db, c)["status"] for c in ("due1", "due2", "exact", "later", "draft")}
    assert statuses == {
        "due1": S.RUNNING,
        "due2": S.RUNNING,
        "exact": S.RUNNING,
        "later": S.SCHEDULED,
        "draft": S.DRAFT,
    }
    assert _row(db, "due1")["started_at"] == NOW
    assert _row(db, "empty")["status"] == S.SCHEDULED
    assert _row(db, "paused")["started_at"] == EARLIER
    with db.transaction() as s:
        assert campaigns.start_due(s, NOW) == []
        with pytest.raises(InvalidInput):
            campaigns.start_due(s, datetime(2026, 1, 1))


# --- create / edit / delete / duplicate --------------------------------------------------


def test_create_with_and_without_an_id(db):
    with db.transaction() as s:
        user = User(email="ops@example.com", name="Ops")
        s.add(user)
        s.flush()
        make_template(s, 7)
        a = campaigns.create_campaign(
            s,
            name="  Spring sale  ",
            campaign_id="spring.2026-A_1",
            template_id=7,
            scheduled_at=NOW,
            created_by=user.id,
        )
        b = campaigns.create_campaign(s, name="Generated")
    assert (a.campaign_id, a.name, a.template_id, a.status) == (
        "spring.2026-A_1",
        "Spring sale",
        7,
        S.DRAFT,
    )
    assert a.scheduled_at == NOW and a.created_by == user.id
    assert a.total_recipients == 0 and a.open_rate == 0.0
    assert re.fullmatch(r"camp_[0-9a-f]{8}", b.campaign_id)
    with db.reading() as s:
        assert campaigns.get_campaign(s, "spring.2026-A_1") == a
        assert campaigns.get_campaign(s, a.id) == a


def test_duplicate_campaign_id_is_a_conflict(db):
    with db.transaction() as s:
        campaigns.create_campaign(s, name="A", campaign_id="camp_dup")
    with pytest.raises(Conflict, match="'camp_dup' already exists"), db.transaction() as s:
        campaigns.create_campaign(s, name="B", campaign_id="camp_dup")
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 1


def test_duplicate_id_inserted_concurrently_is_a_conflict(db):
    """The loser of a race passes the pre-check, hits the unique index, and gets Conflict."""
    errors: list[Exception] = []
    with db.transaction() as first:
        campaigns.create_campaign(first, name="A", campaign_id="camp_race")

        def second():
            try:
                with db.transaction() as s:
                    campaigns.create_campaign(s, name="B", campaign_id="camp_race")
            except Exception as exc:
                errors.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)  # it now waits on our uncommitted row
    thread.join(10)
    assert len(errors) == 1 and isinstance(errors[0], Conflict), errors
    assert "camp_race" in str(errors[0])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "can't be empty"),
        ({"name": "   "}, "can't be empty"),
        ({"name": None}, "can't be empty"),
        ({"name": "x" * 256}, "at most 255 characters; this one has 256"),
        ({"name": "ok", "campaign_id": "has space"}, "can't be a campaign id"),
        ({"name": "ok", "campaign_id": ""}, "can't be a campaign id"),
        ({"name": "ok", "campaign_id": "x" * 101}, "can't be a campaign id"),
        ({"name": "ok", "campaign_id": "é"}, "can't be a campaign id"),
        ({"name": "ok", "scheduled_at": datetime(2030, 1, 1)}, "no time zone"),
        ({"name": "ok", "scheduled_at": "tomorrow"}, "must be a date and time"),
        ({"name": "ok", "template_id": "7"}, "whole number"),
        ({"name": "ok", "created_by": 999}, "No user with id 999"),
    ],
)
def test_create_refuses_bad_input(db, fields, message):
    with pytest.raises(InvalidInput, match=re.escape(message)), db.transaction() as s:
        campaigns.create_campaign(s, **fields)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 0


def test_name_of_255_characters_is_fine(db):
    with db.transaction() as s:
        assert len(campaigns.create_campaign(s, name="n" * 255).name) == 255


def test_edit_changes_only_what_is_given(db):
    with db.transaction() as s:
        make_template(s, 3)
        campaigns.create_campaign(s, name="Old", campaign_id="c1", template_id=3, scheduled_at=NOW)
    with db.transaction() as s:
        edited = campaigns.edit_campaign(s, "c1", name="New")
    assert (edited.name, edited.template_id, edited.scheduled_at) == ("New", 3, NOW)
    with db.transaction() as s:
        edited = campaigns.edit_campaign(s, "c1", template_id=None, scheduled_at=None)
    assert (edited.name, edited.template_id, edited.scheduled_at) == ("New", None, None)
    with db.transaction() as s:
        # A draft's planned time may be any time, even a past one.
        assert campaigns.edit_campaign(s, "c1", scheduled_at=EARLIER).scheduled_at == EARLIER
    with pytest.raises(InvalidInput, match="can't be empty"), db.transaction() as s:
        campaigns.edit_campaign(s, "c1", name=" ")
    assert _row(db, "c1")["name"] == "New"


def test_edit_of_a_scheduled_time_is_checked_like_schedule(db):
    later = NOW + timedelta(days=1)
    with db.transaction() as s:
        _make(s, "c1", S.SCHEDULED, scheduled_at=later)
        _make(s, "r1", S.RUNNING)
    with pytest.raises(InvalidInput, match="not in the future"), db.transaction() as s:
        campaigns.edit_campaign(s, "c1", scheduled_at=NOW - timedelta(minutes=1), now=NOW)
    with pytest.raises(InvalidInput, match="unschedule it"), db.transaction() as s:
        campaigns.edit_campaign(s, "c1", scheduled_at=None, now=NOW)
    with pytest.raises(InvalidInput, match="no time zone"), db.transaction() as s:
        campaigns.edit_campaign(s, "c1", scheduled_at=datetime(2099, 1, 1), now=NOW)
    assert _row(db, "c1")["scheduled_at"] == later
    with db.transaction() as s:
        moved = campaigns.edit_campaign(s, "c1", scheduled_at=later + timedelta(hours=1), now=NOW)
        # Passing the unchanged time (a form sending every field) is no change at all.
        campaigns.edit_campaign(
            s, "c1", name="Renamed", scheduled_at=moved.scheduled_at, now=later + timedelta(days=9)
        )
    assert moved.scheduled_at == later + timedelta(hours=1)
    assert _row(db, "c1")["name"] == "Renamed"
    with pytest.raises(InvalidInput, match="it is running"), db.transaction() as s:
        campaigns.edit_campaign(s, "r1", scheduled_at=later, now=NOW)
    with db.transaction() as s:
        assert campaigns.edit_campaign(s, "r1", name="Still fine").name == "Still fine"


def test_delete_cascades_and_reports_recipients(db):
    with db.transaction() as s:
        c = _make(s, "c1", S.RUNNING, recipients=5)
        other = _make(s, "c2", S.DRAFT, recipients=2)
        rid = s.scalar(select(CampaignRecipient.id).where(CampaignRecipient.campaign_id == c.id))
        s.add(EmailTracking(campaign_recipient_id=rid, event_type=EventType.OPEN))
    with db.transaction() as s:
        assert campaigns.delete_campaign(s, "c1") == 5
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 1
        left = s.scalars(select(CampaignRecipient.campaign_id)).all()
        assert left == [other.id, other.id]
        assert s.scalar(select(func.count()).select_from(EmailTracking)) == 0
    with pytest.raises(NotFound), db.transaction() as s:
        campaigns.delete_campaign(s, "c1")
    with db.transaction() as s:
        assert campaigns.delete_campaign(s, campaigns.create_campaign(s, name="empty").id) == 0


def test_duplicate_campaign_copies_leads_as_pending(db):
    with db.transaction() as s:
        make_template(s, 4)
        src = _make(s, "c1", S.COMPLETED, recipients=0, name="Launch", template_id=4)
        make_recipients(s, src, 3, status=RecipientStatus.SENT, sent_at=NOW, opened_at=NOW)
        make_recipients(s, src, 1, status=RecipientStatus.BOUNCED, error_message="550")
    with db.transaction() as s:
        copy = recipients_core.duplicate_campaign(s, "c1").campaign
    assert copy.name == "Launch (copy)" and copy.template_id == 4 and copy.status == S.DRAFT
    assert copy.campaign_id != "c1" and copy.started_at is None and copy.completed_at is None
    with db.reading() as s:
        r = CampaignRecipient
        rows = s.execute(
            select(r.lead_id, r.email_address, r.status, r.sent_at, r.opened_at, r.error_message)
            .where(r.campaign_id == copy.id)
            .order_by(r.lead_id)
        ).all()
        original = s.execute(
            select(r.lead_id, r.email_address).where(r.campaign_id == src.id).order_by(r.lead_id)
        ).all()
    assert [(x.lead_id, x.email_address) for x in rows] == [tuple(o) for o in original]
    assert {(x.status, x.sent_at, x.opened_at, x.error_message) for x in rows} == {
        (RecipientStatus.PENDING, None, None, None)
    }
    assert _row(db, "c1")["status"] == S.COMPLETED  # the source is untouched
    with db.transaction() as s:
        named = recipients_core.duplicate_campaign(s, src.id, name="Relaunch").campaign
        long = recipients_core.duplicate_campaign(
            s, campaigns.create_campaign(s, name="L" * 255).id
        ).campaign
    assert named.name == "Relaunch"
    assert long.name == "L" * 248 + " (copy)"


# --- listing ------------------------------------------------------------------------------


def _listing_data(s) -> None:
    spec = [
        ("a", "Spring Sale", S.DRAFT, 10, 5, 1, 0, 2),
        ("b", "Summer sale 50%", S.RUNNING, 10, 2, 3, 1, 0),
        ("c", "Autumn", S.COMPLETED, 4, 4, 0, 2, 1),
        ("d", "winter_SALE", S.RUNNING, 0, 0, 0, 0, 0),
    ]
    for i, (cid, name, status, sent, opened, clicked, replied, bounced) in enumerate(spec):
        make_campaign(
            s,
            cid,
            name=name,
            status=status,
            emails_sent=sent,
            emails_opened=opened,
            emails_clicked=clicked,
            emails_replied=replied,
            emails_bounced=bounced,
            created_at=NOW + timedelta(minutes=i),
            template_id=i % 2,
        )


def _ids(rows) -> list[str]:
    return [r.campaign_id for r in rows]


def test_list_filters_and_search(db):
    with db.transaction() as s:
        user = User(email="u@example.com")
        s.add(user)
        s.flush()
        _listing_data(s)
        make_campaign(s, "e", name="Mine", created_by=user.id, created_at=EARLIER)
    with db.reading() as s:
        assert _ids(campaigns.list_campaigns(s)) == ["d", "c", "b", "a", "e"]
        assert _ids(campaigns.list_campaigns(s, status="running")) == ["d", "b"]
        assert _ids(campaigns.list_campaigns(s, status=[S.DRAFT, "completed"])) == ["c", "a", "e"]
        assert _ids(campaigns.list_campaigns(s, search="SALE")) == ["d", "b", "a"]
        assert _ids(campaigns.list_campaigns(s, search="50%")) == ["b"]
        assert _ids(campaigns.list_campaigns(s, search="%")) == ["b"]
        assert _ids(campaigns.list_campaigns(s, search="_")) == ["d"]
        assert _ids(campaigns.list_campaigns(s, search="  ")) == ["d", "c", "b", "a", "e"]
        assert _ids(campaigns.list_campaigns(s, search="sale", status="running")) == ["d", "b"]
        assert _ids(campaigns.list_campaigns(s, created_by=user.id)) == ["e"]
        assert _ids(campaigns.list_campaigns(s, limit=2, offset=1)) == ["c", "b"]
        assert campaigns.count_campaigns(s) == 5
        assert campaigns.count_campaigns(s, status="running", search="sale") == 2
        assert campaigns.count_campaigns(s, search="nothing like it") == 0
        counts = campaigns.status_counts(s)
        assert counts == {
            S.DRAFT: 2,
            S.SCHEDULED: 0,
            S.RUNNING: 2,
            S.PAUSED: 0,
            S.COMPLETED: 1,
            S.FAILED: 0,
        }
        with pytest.raises(InvalidInput, match="use one of draft, scheduled"):
            campaigns.list_campaigns(s, status="archived")
        with pytest.raises(InvalidInput, match="limit"):
            campaigns.list_campaigns(s, limit=-1)


@pytest.mark.parametrize(
    ("order_by", "ascending"),
    [
        ("open_rate", ["d", "b", "a", "c"]),  # 0, 20, 50, 100
        ("click_rate", ["c", "d", "a", "b"]),  # 0, 0, 10, 30: c/d tie, broken by id
        ("reply_rate", ["a", "d", "b", "c"]),  # 0, 0, 10, 50
        ("bounce_rate", ["b", "d", "a", "c"]),  # 0, 0, 20, 25
        ("emails_sent", ["d", "c", "a", "b"]),
        ("name", ["c", "a", "b", "d"]),
        ("campaign_id", ["a", "b", "c", "d"]),
        ("created_at", ["a", "b", "c", "d"]),
        ("status", ["c", "a", "b", "d"]),
        ("template_id", ["a", "c", "b", "d"]),
    ],
)
def test_list_orders_by_rates_and_columns(db, order_by, ascending):
    with db.transaction() as s:
        _listing_data(s)
    with db.reading() as s:
        up = _ids(campaigns.list_campaigns(s, order_by=order_by, descending=False))
        down = _ids(campaigns.list_campaigns(s, order_by=order_by, descending=True))
    assert up == ascending
    assert down == list(reversed(ascending))


def test_list_orders_by_every_column_and_nulls_last(db):
    with db.transaction() as s:
        _listing_data(s)
        make_campaign(s, "z", name="planned", scheduled_at=NOW)
    with db.reading() as s:
        for column in campaigns.ORDERABLE:
            assert len(campaigns.list_campaigns(s, order_by=column)) == 5, column
        for descending in (True, False):
            rows = campaigns.list_campaigns(s, order_by="scheduled_at", descending=descending)
            assert _ids(rows)[0] == "z"
        with pytest.raises(InvalidInput, match="use one of id, campaign_id, name") as info:
            campaigns.list_campaigns(s, order_by="rate")
        assert "bounce_rate" in str(info.value)


def test_list_reads_fresh_counters(db):
    """A session that saw a campaign before still lists the counters the database keeps now."""
    with db.transaction() as s:
        c = make_campaign(s, "c1")
    with db.reading() as s:
        assert campaigns.list_campaigns(s)[0].total_recipients == 0
        with db.transaction() as w:
            make_recipients(w, c, 3)
        assert campaigns.list_campaigns(s)[0].total_recipients == 3
        assert campaigns.get_campaign(s, "c1").total_recipients == 3


def test_get_campaigns_by_row_ids(db):
    with db.transaction() as s:
        a = make_campaign(s, "a")
        b = make_campaign(s, "b")
        make_recipients(s, b, 2)
    with db.reading() as s:
        got = campaigns.get_campaigns(s, [b.id, 999, a.id])
        assert [c.campaign_id for c in got] == ["a", "b"]
        assert got[1].total_recipients == 2
        assert campaigns.get_campaigns(s, []) == []
