"""The models: rates in Python and SQL, and every example of the seed, run as written."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from core.store import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    EmailTracking,
    EventType,
    Lead,
    RecipientStatus,
    User,
)


def _campaign(session, cid, *, sent, opened=0, clicked=0, replied=0, bounced=0):
    c = Campaign(
        campaign_id=cid,
        name=cid,
        emails_sent=sent,
        emails_opened=opened,
        emails_clicked=clicked,
        emails_replied=replied,
        emails_bounced=bounced,
    )
    session.add(c)
    return c


def test_rates_are_zero_when_nothing_was_sent(session):
    c = _campaign(session, "c0", sent=0, opened=0)
    session.commit()
    assert (c.open_rate, c.click_rate, c.reply_rate, c.bounce_rate) == (0.0, 0.0, 0.0, 0.0)
    sql_rates = session.execute(
        select(Campaign.open_rate, Campaign.click_rate, Campaign.reply_rate, Campaign.bounce_rate)
    ).one()
    assert tuple(sql_rates) == (0.0, 0.0, 0.0, 0.0)


def test_rates_are_exact_percentages_of_emails_sent(session):
    c = _campaign(session, "c1", sent=8, opened=3, clicked=1, replied=2, bounced=8)
    session.commit()
    assert c.open_rate == 37.5
    assert c.click_rate == 12.5
    assert c.reply_rate == 25.0
    assert c.bounce_rate == 100.0
    row = session.execute(
        select(Campaign.open_rate, Campaign.click_rate, Campaign.reply_rate, Campaign.bounce_rate)
    ).one()
    assert tuple(row) == (37.5, 12.5, 25.0, 100.0)
    assert isinstance(c.open_rate, float)


@pytest.mark.parametrize("rate", ["open_rate", "click_rate", "reply_rate", "bounce_rate"])
def test_sql_can_order_by_each_rate(session, rate):
    counter = {
        "open_rate": "opened",
        "click_rate": "clicked",
        "reply_rate": "replied",
        "bounce_rate": "bounced",
    }[rate]
    _campaign(session, "none-sent", sent=0)
    _campaign(session, "low", sent=100, **{counter: 5})
    _campaign(session, "high", sent=3, **{counter: 2})
    _campaign(session, "mid", sent=10, **{counter: 3})
    session.commit()
    column = getattr(Campaign, rate)
    desc = session.scalars(select(Campaign.campaign_id).order_by(column.desc())).all()
    assert desc == ["high", "mid", "low", "none-sent"]
    asc = session.scalars(select(Campaign.campaign_id).order_by(column)).all()
    assert asc == list(reversed(desc))


def test_status_values_read_back_as_enums_and_compare_as_strings(session):
    c = Campaign(campaign_id="e1", name="Enum", status="running")
    session.add(c)
    session.commit()
    session.expire_all()
    got = session.scalar(select(Campaign).where(Campaign.status == "running"))
    assert got.status is CampaignStatus.RUNNING and got.status == "running"
    session.add(Campaign(campaign_id="e2", name="bad", status="exploded"))
    with pytest.raises(StatementError, match="'exploded' is not a valid CampaignStatus"):
        session.flush()
    session.rollback()


def test_check_constraints_refuse_unknown_values_written_with_plain_sql(session):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="ck_campaigns_status"):
        session.execute(
            text("INSERT INTO campaigns (campaign_id, name, status) VALUES ('x', 'x', 'nope')")
        )
    session.rollback()


# --- the seed's "SQLAlchemy Models" and "Query Examples", as written -------------------------


@pytest.fixture
def seeded(session):
    """What the seed's snippets assume exists: a user, a lead, a request."""
    user = User(email="owner@example.com", name="Owner")
    lead = Lead(email="user@example.com", name="A User", company="Example")
    session.add_all([user, lead])
    session.commit()
    request = SimpleNamespace(
        headers={"User-Agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15"},
        remote_addr="203.0.113.9",
    )
    return SimpleNamespace(db=session, user_id=user.id, lead=lead, request=request)


# fmt: off
def test_seed_model_and_query_examples_run_as_written(seeded):
    db, user_id, lead, request = seeded.db, seeded.user_id, seeded.lead, seeded.request

    # Create new campaign
    campaign = Campaign(
        campaign_id="camp_123",
        name="Q4 2025 Outreach",
        template_id=1,
        status="draft",
        created_by=user_id
    )
    db.add(campaign)
    db.commit()

    # Access computed properties
    print(f"Open rate: {campaign.open_rate}%")
    print(f"Click rate: {campaign.click_rate}%")

    # Add recipient to campaign
    recipient = CampaignRecipient(
        campaign_id=campaign.id,
        lead_id=lead.id,
        email_address="user@example.com",
        status="pending"
    )
    db.add(recipient)
    db.commit()

    # Update on send
    recipient.status = "sent"
    recipient.sent_at = datetime.now(UTC)
    db.commit()

    # Update on open
    recipient.opened_at = datetime.now(UTC)
    db.commit()

    # Log open event
    tracking = EmailTracking(
        campaign_recipient_id=recipient.id,
        event_type="open",
        event_data={"user_agent": request.headers.get("User-Agent")},
        user_agent=request.headers.get("User-Agent"),
        ip_address=request.remote_addr
    )
    db.add(tracking)
    db.commit()

    # Log click event
    tracking = EmailTracking(
        campaign_recipient_id=recipient.id,
        event_type="click",
        event_data={"link_url": "https://example.com/offers"},
        user_agent=request.headers.get("User-Agent"),
        ip_address=request.remote_addr
    )
    db.add(tracking)
    db.commit()

    # Get campaign statistics
    campaign = db.query(Campaign).filter_by(campaign_id="camp_123").first()
    print(f"Total Recipients: {campaign.total_recipients}")
    print(f"Emails Sent: {campaign.emails_sent}")
    print(f"Open Rate: {campaign.open_rate}%")
    print(f"Click Rate: {campaign.click_rate}%")
    print(f"Reply Rate: {campaign.reply_rate}%")
    print(f"Bounce Rate: {campaign.bounce_rate}%")

    # Find Unopened Emails
    unopened = db.query(CampaignRecipient).filter(
        CampaignRecipient.campaign_id == campaign.id,
        CampaignRecipient.opened_at.is_(None),
        CampaignRecipient.status == "sent"
    ).all()
    assert unopened == []

    # Get all opens for a recipient
    opens = db.query(EmailTracking).filter(
        EmailTracking.campaign_recipient_id == recipient.id,
        EmailTracking.event_type == "open"
    ).order_by(EmailTracking.created_at).all()
    assert [o.event_type for o in opens] == [EventType.OPEN]

    # Get all clicks for a campaign
    clicks = db.query(EmailTracking).filter(
        EmailTracking.event_type == "click",
        EmailTracking.campaign_recipient_id.in_(
            db.query(CampaignRecipient.id).filter(
                CampaignRecipient.campaign_id == campaign.id
            )
        )
    ).all()
    assert [c.event_data["link_url"] for c in clicks] == ["https://example.com/offers"]
    assert str(clicks[0].ip_address) == "203.0.113.9"

    # Get recipients by status
    by_status = db.query(
        CampaignRecipient.status,
        func.count(CampaignRecipient.id).label("count")
    ).filter(
        CampaignRecipient.campaign_id == campaign.id
    ).group_by(CampaignRecipient.status).all()

    for status, count in by_status:
        print(f"{status}: {count}")
    assert by_status == [(RecipientStatus.SENT, 1)]

    # Use Index on Campaign Status
    campaigns = db.query(Campaign).filter(Campaign.status == "running").all()
    assert campaigns == []

    # Use Composite Index
    recipients = db.query(CampaignRecipient).filter(
        CampaignRecipient.campaign_id == 123,
        CampaignRecipient.status == "sent"
    ).all()
    assert recipients == []

    # Batch Updates
    db.query(Campaign).filter(Campaign.id == 123).update({
        Campaign.emails_sent: Campaign.emails_sent + 1,
        Campaign.updated_at: datetime.now(UTC)
    })
    db.commit()
# fmt: on


def test_relationships_and_cascades(seeded):
    db, lead = seeded.db, seeded.lead
    c = Campaign(campaign_id="rel", name="Rel")
    r = CampaignRecipient(lead=lead, email_address=lead.email)
    r.events.append(EmailTracking(event_type="open"))
    c.recipients.append(r)
    db.add(c)
    db.commit()
    assert r.campaign is c and r.events[0].recipient is r and lead.campaign_recipients == [r]
    db.delete(c)
    db.commit()
    assert db.scalar(select(func.count()).select_from(EmailTracking)) == 0
    assert db.scalar(select(func.count()).select_from(CampaignRecipient)) == 0
