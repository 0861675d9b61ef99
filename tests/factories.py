"""Plain-model builders for test data (not the service layer, so tests of it stay independent)."""

from __future__ import annotations

import itertools

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from core.store import Campaign, CampaignRecipient, Lead

_seq = itertools.count(1)


def make_template(session: Session, template_id: int | None = None, name: str = "") -> int:
    """A template row (plain SQL, no checks), with this id if given; returns its id."""
    n = next(_seq)
    return int(
        session.execute(
            text(
                "INSERT INTO templates (id, name, subject, html_body)"
                " VALUES (COALESCE(:id, nextval('templates_id_seq')), :name, 'Hi', '<p>Hi</p>')"
                " RETURNING id"
            ),
            {"id": template_id, "name": name or f"T{n}"},
        ).scalar_one()
    )


def make_campaign(session: Session, campaign_id: str | None = None, **fields) -> Campaign:
    n = next(_seq)
    campaign = Campaign(campaign_id=campaign_id or f"camp_t{n}", name=fields.pop("name", f"C{n}"))
    for key, value in fields.items():
        setattr(campaign, key, value)
    session.add(campaign)
    session.flush()
    return campaign


def make_leads(session: Session, count: int, *, domain: str = "example.com") -> list[int]:
    """Insert `count` leads with unique emails; returns their ids in insertion order."""
    start = next(_seq) * 1_000_000
    rows = [
        {"email": f"lead{start + i}@{domain}", "name": f"Lead {start + i}", "company": "Acme"}
        for i in range(count)
    ]
    return list(session.scalars(insert(Lead).returning(Lead.id), rows))


def make_recipients(session: Session, campaign: Campaign, count: int, **fields) -> list[int]:
    """Add `count` new leads to the campaign as recipients; returns the recipient ids."""
    lead_ids = make_leads(session, count)
    emails = dict(session.execute(select(Lead.id, Lead.email).where(Lead.id.in_(lead_ids))).all())
    rows = [
        {"campaign_id": campaign.id, "lead_id": lid, "email_address": emails[lid], **fields}
        for lid in lead_ids
    ]
    return list(session.scalars(insert(CampaignRecipient).returning(CampaignRecipient.id), rows))
