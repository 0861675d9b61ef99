"""Suppression: listed by the database from events (also plain-SQL ones), skipped when adding
or importing recipients, listed, searched, lifted, marked on a campaign's recipients."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from core import recipients
from core.errors import InvalidInput, NotFound
from core.events import EventInput, record_event, record_events
from core.store import Lead, SuppressionReason
from tests.factories import make_campaign, make_leads, make_recipients

T = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def camp(db):
    """camp_s with 8 sent recipients; returns (campaign pk, recipient ids, their addresses)."""
    with db.transaction() as s:
        c = make_campaign(s, "camp_s")
        ids = make_recipients(s, c, 8, status="sent", sent_at=T)
        emails = s.scalars(text("SELECT email_address FROM campaign_recipients ORDER BY id")).all()
        return c.id, ids, emails


def _listed(db) -> dict[str, tuple[str, int | None, int | None]]:
    with db.reading() as s:
        rows = recipients.list_suppressions(s, limit=1000)
    return {r.email_address: (r.reason, r.source_event_id, r.campaign_id) for r in rows}


def test_hard_bounces_complaints_and_unsubscribes_list_the_address(db, camp):
    pk, ids, emails = camp
    events = [
        EventInput("bounce", recipient_id=ids[0], event_data={"bounce_type": "permanent"}),
        EventInput("bounce", recipient_id=ids[1], event_data={"bounce_type": "Hard"}),
        EventInput("bounce", recipient_id=ids[2], event_data={"bounce_type": "soft"}),
        EventInput("bounce", recipient_id=ids[3]),  # no type given: not listed
        EventInput("complain", recipient_id=ids[4]),
        EventInput("unsubscribe", recipient_id=ids[5]),
        EventInput("open", recipient_id=ids[6]),
        EventInput("click", recipient_id=ids[7]),
    ]
    with db.transaction() as s:
        record_events(s, events)
        event_ids = s.scalars(text("SELECT id FROM email_tracking ORDER BY id")).all()
    assert _listed(db) == {
        emails[0]: (SuppressionReason.HARD_BOUNCE, event_ids[0], pk),
        emails[1]: (SuppressionReason.HARD_BOUNCE, event_ids[1], pk),
        emails[4]: (SuppressionReason.COMPLAINT, event_ids[4], pk),
        emails[5]: (SuppressionReason.UNSUBSCRIBE, event_ids[5], pk),
    }


def test_the_first_event_wins_and_one_event_at_a_time_counts_too(db, camp):
    _, ids, emails = camp
    with db.transaction() as s:
        first = record_event(s, EventInput("unsubscribe", recipient_id=ids[0]))
        record_event(s, EventInput("complain", recipient_id=ids[0]))
        # Two in one statement: the earlier event is kept.
        record_events(
            s,
            [
                EventInput("complain", recipient_id=ids[1]),
                EventInput("unsubscribe", recipient_id=ids[1]),
            ],
        )
    listed = _listed(db)
    assert listed[emails[0]][:2] == (SuppressionReason.UNSUBSCRIBE, first)
    assert listed[emails[1]][0] == SuppressionReason.COMPLAINT


def test_events_written_with_plain_sql_list_addresses_too(db_url, db, camp):
    _, ids, emails = camp
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO email_tracking (campaign_recipient_id, event_type, event_data)"
            " VALUES (%s, 'bounce', '{\"bounce_type\": \"hard\"}'), (%s, 'bounce',"
            " '{\"bounce_type\": \"transient\"}'), (%s, 'complain', NULL)",
            (ids[0], ids[1], ids[2]),
        )
    assert set(_listed(db)) == {emails[0], emails[2]}


def test_addresses_are_stored_as_given_and_matched_by_their_key(db):
    with db.transaction() as s:
        c = make_campaign(s, "camp_case")
        lead = s.execute(
            text("INSERT INTO leads (email) VALUES ('Mixed.Case@Example.COM') RETURNING id")
        ).scalar_one()
        rid = s.execute(
            text(
                "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)"
                " VALUES (:c, :l, 'Mixed.Case@Example.COM') RETURNING id"
            ),
            {"c": c.id, "l": lead},
        ).scalar_one()
        record_event(s, EventInput("unsubscribe", recipient_id=rid))
    assert list(_listed(db)) == ["Mixed.Case@Example.COM"]
    with db.reading() as s:  # the trigger's row has no key yet: reads key it on the fly
        assert recipients.is_suppressed(s, ["MIXED.case@example.com", "other@example.com"]) == {
            "MIXED.case@example.com"
        }
        assert recipients.suppressed_in_campaign(s, "camp_case", [rid, rid + 1000]) == {rid}
    with db.transaction() as s:
        assert (
            recipients.suppress(s, "mixed.case@EXAMPLE.com") is False
        )  # keys the row, then sees it
        keys = s.execute(text("SELECT email_address, email_key FROM suppressions")).all()
    assert keys == [("Mixed.Case@Example.COM", "mixed.case@example.com")]
    twice = text(
        "INSERT INTO suppressions (email_address, email_key, reason)"
        " VALUES ('x@y.z', 'mixed.case@example.com', 'manual')"
    )
    with pytest.raises(IntegrityError, match="suppressions_email_key_key"), db.transaction() as s:
        s.execute(twice)


def test_add_leads_skips_suppressed_addresses_and_says_how_many(db):
    with db.transaction() as s:
        make_campaign(s, "c1")
        make_campaign(s, "c2")
        leads = make_leads(s, 5)
        emails = dict(s.execute(select(Lead.id, Lead.email)).all())
        assert recipients.suppress(s, emails[leads[1]].upper()) is True
        assert recipients.suppress(s, emails[leads[3]], "complaint") is True
    with db.transaction() as s:
        result = recipients.add_leads(s, "c1", leads[:4])
    assert result == recipients.AddResult(
        added=2, skipped_duplicates=0, requested=4, skipped_suppressed=2
    )
    with db.transaction() as s:
        again = recipients.add_leads(s, "c1", leads)
        every = recipients.add_leads(s, "c2")  # every lead
    assert again == recipients.AddResult(
        added=1, skipped_duplicates=2, requested=5, skipped_suppressed=2
    )
    assert every == recipients.AddResult(
        added=3, skipped_duplicates=0, requested=5, skipped_suppressed=2
    )
    with db.reading() as s:
        in_c1 = set(s.scalars(text("SELECT lead_id FROM campaign_recipients")))
    assert leads[1] not in in_c1 and leads[3] not in in_c1


def test_import_csv_skips_suppressed_addresses_and_creates_no_lead_for_them(db):
    with db.transaction() as s:
        make_campaign(s, "c1")
        recipients.suppress(s, "gone@example.com", "unsubscribe")
        recipients.suppress(s, "known@example.com")
        s.execute(text("INSERT INTO leads (email) VALUES ('known@example.com')"))
    data = "email\nnew@example.com\nGone@Example.com\nknown@example.com\nnew@example.com\nbad\n"
    with db.transaction() as s:
        result = recipients.import_csv(s, "c1", io.StringIO(data))
    assert (result.added, result.created_leads, result.reused_leads) == (1, 1, 0)
    assert (result.skipped_duplicates, result.skipped_suppressed) == (1, 2)
    assert [e.line for e in result.errors] == [6]
    with db.reading() as s:
        assert set(s.scalars(text("SELECT email FROM leads"))) == {
            "known@example.com",
            "new@example.com",
        }


def test_list_search_page_count_and_lift(db, camp):
    pk, ids, emails = camp
    with db.transaction() as s:
        record_event(s, EventInput("unsubscribe", recipient_id=ids[0]))
        for i in range(1, 5):
            recipients.suppress(s, f"manual{i}@example.org")
        assert recipients.suppress(s, "manual1@example.org", "complaint") is False  # already listed
    with db.reading() as s:
        first = recipients.list_suppressions(s, limit=3)
        rest = recipients.list_suppressions(s, limit=3, after_id=first[-1].id)
        found = recipients.list_suppressions(s, search="UAL3@")
        assert (
            recipients.count_suppressions(s) == 5
            and recipients.count_suppressions(s, search="example.org") == 4
        )
        assert recipients.list_suppressions(s, search="100%") == ()  # wildcards are literal
    assert [r.email_address for r in first + rest] == [emails[0]] + [
        f"manual{i}@example.org" for i in range(1, 5)
    ]
    assert (first[0].campaign, first[0].campaign_id) == ("camp_s", pk)
    assert (first[1].reason, first[1].source_event_id, first[1].campaign) == ("manual", None, None)
    assert [r.email_address for r in found] == ["manual3@example.org"]

    with db.transaction() as s:
        assert recipients.lift(s, " MANUAL3@example.org ") is True
        assert recipients.lift(s, "manual3@example.org") is False
    with db.reading() as s:
        assert recipients.is_suppressed(s, ["manual3@example.org"]) == set()
    # A lifted address comes back with its next unsubscribe.
    with db.transaction() as s:
        assert recipients.lift(s, emails[0]) is True
        record_event(s, EventInput("unsubscribe", recipient_id=ids[0]))
    assert emails[0] in _listed(db)


def test_deleting_the_campaign_or_the_event_keeps_the_suppression(db, camp):
    pk, ids, emails = camp
    with db.transaction() as s:
        record_event(s, EventInput("complain", recipient_id=ids[0]))
    with db.transaction() as s:
        s.execute(text("DELETE FROM campaigns WHERE id = :id"), {"id": pk})
    assert _listed(db) == {emails[0]: (SuppressionReason.COMPLAINT, None, None)}


def test_suppress_from_events_lists_what_the_trigger_would_have(db, camp):
    pk, ids, emails = camp
    with db.transaction() as s:
        other = make_recipients(s, make_campaign(s, "camp_o"), 1, sent_at=T)[0]
        s.execute(text("ALTER TABLE email_tracking DISABLE TRIGGER cc_suppress_from_events"))
        record_events(
            s,
            [
                EventInput("bounce", recipient_id=ids[0], event_data={"bounce_type": "hard"}),
                EventInput("bounce", recipient_id=ids[1], event_data={"bounce_type": "soft"}),
                EventInput("unsubscribe", recipient_id=ids[2]),
                EventInput("complain", recipient_id=ids[2]),
                EventInput("complain", recipient_id=other),
            ],
        )
        s.execute(text("ALTER TABLE email_tracking ENABLE TRIGGER cc_suppress_from_events"))
    assert _listed(db) == {}
    with db.transaction() as s:
        assert recipients.suppress_from_events(s, "camp_s") == 2
        assert recipients.suppress_from_events(s, "camp_s") == 0
        event_ids = s.scalars(text("SELECT id FROM email_tracking ORDER BY id")).all()
    assert _listed(db) == {
        emails[0]: (SuppressionReason.HARD_BOUNCE, event_ids[0], pk),
        emails[2]: (SuppressionReason.UNSUBSCRIBE, event_ids[2], pk),  # the first event
    }
    with db.transaction() as s:
        assert recipients.suppress_from_events(s) == 1  # camp_o's complaint


def test_bad_input_is_refused(db, camp):
    with db.transaction() as s:
        with pytest.raises(InvalidInput, match="reason"):
            recipients.suppress(s, "a@example.com", "because")
        with pytest.raises(InvalidInput, match="needs an @"):
            recipients.suppress(s, "not-an-address")
        with pytest.raises(InvalidInput, match="list of email addresses"):
            recipients.is_suppressed(s, "a@example.com")
        with pytest.raises(InvalidInput):
            recipients.list_suppressions(s, limit=0)
        with pytest.raises(InvalidInput):
            recipients.suppressed_in_campaign(s, "camp_s", ["1"])
        with pytest.raises(NotFound):
            recipients.suppressed_in_campaign(s, "camp_nope", [1])
        assert recipients.is_suppressed(s, []) == set()
        assert recipients.suppressed_in_campaign(s, "camp_s", []) == set()
