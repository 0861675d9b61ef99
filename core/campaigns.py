"""Campaigns: listing (more to come: create/edit/delete, lifecycle transitions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.models import Campaign, CampaignStatus


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """One campaign as a list shows it: identity, status, counters and rates."""

    id: int
    campaign_id: str
    name: str
    template_id: int | None
    status: CampaignStatus
    scheduled_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    total_recipients: int
    emails_sent: int
    emails_opened: int
    emails_clicked: int
    emails_replied: int
    emails_bounced: int
    open_rate: float
    click_rate: float
    reply_rate: float
    bounce_rate: float

    @classmethod
    def of(cls, c: Campaign) -> CampaignSummary:
        return cls(
            id=c.id,
            campaign_id=c.campaign_id,
            name=c.name,
            template_id=c.template_id,
            status=c.status,
            scheduled_at=c.scheduled_at,
            started_at=c.started_at,
            completed_at=c.completed_at,
            created_at=c.created_at,
            total_recipients=c.total_recipients,
            emails_sent=c.emails_sent,
            emails_opened=c.emails_opened,
            emails_clicked=c.emails_clicked,
            emails_replied=c.emails_replied,
            emails_bounced=c.emails_bounced,
            open_rate=c.open_rate,
            click_rate=c.click_rate,
            reply_rate=c.reply_rate,
            bounce_rate=c.bounce_rate,
        )


def list_campaigns(session: Session, *, limit: int = 500) -> list[CampaignSummary]:
    rows = session.scalars(select(Campaign).order_by(Campaign.created_at.desc()).limit(limit))
    return [CampaignSummary.of(c) for c in rows]


def resolve_campaign(session: Session, ref: int | str, *, for_update: bool = False) -> Campaign:
    """The campaign named by its row id (int) or its campaign_id (str); NotFound otherwise."""
    column = Campaign.id if isinstance(ref, int) else Campaign.campaign_id
    stmt = select(Campaign).where(column == ref)
    if for_update:
        stmt = stmt.with_for_update()
    campaign = session.scalar(stmt)
    if campaign is None:
        raise NotFound(f"No campaign {ref!r}: check the id (campaign ids look like camp_ab12cd34).")
    return campaign
