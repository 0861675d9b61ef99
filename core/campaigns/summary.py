"""A campaign as reads return it (CampaignSummary), looking one up, and the time check.

Shared by core.campaigns.manage, core.campaigns.lifecycle and core.recipients.manage (all
re-exported by core.campaigns.manage).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.store import Campaign, CampaignStatus
from core.times import time_problem


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
    created_by: int | None = None
    updated_at: datetime | None = None

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
            created_by=c.created_by,
            updated_at=c.updated_at,
        )


def resolve_campaign(
    session: Session, ref: int | str, *, for_update: bool = False, key_share: bool = False
) -> Campaign:
    """The campaign named by its row id (int) or its campaign_id (str); NotFound otherwise.

    for_update locks the row (FOR UPDATE, or FOR NO KEY UPDATE with key_share). The row is
    always re-read, so counters kept by the database's triggers are never stale in the session.
    """
    if isinstance(ref, bool) or not isinstance(ref, int | str):
        raise InvalidInput(f"A campaign is named by its id or campaign_id, not {ref!r}.")
    column = Campaign.id if isinstance(ref, int) else Campaign.campaign_id
    stmt = select(Campaign).where(column == ref).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update(key_share=key_share)
    campaign = session.scalar(stmt)
    if campaign is None:
        raise NotFound(f"No campaign {ref!r}: check the id (campaign ids look like camp_ab12cd34).")
    return campaign


def load_summary(session: Session, campaign: int | str) -> CampaignSummary:
    session.flush()
    return CampaignSummary.of(resolve_campaign(session, campaign))


def get_campaign(session: Session, campaign: int | str) -> CampaignSummary:
    return CampaignSummary.of(resolve_campaign(session, campaign))


def get_campaigns(session: Session, ids: Iterable[int]) -> list[CampaignSummary]:
    """Summaries of the campaigns with these row ids (those that still exist), in id order."""
    wanted = list(ids)
    if not wanted:
        return []
    stmt = (
        select(Campaign)
        .where(Campaign.id.in_(wanted))
        .order_by(Campaign.id)
        .execution_options(populate_existing=True)
    )
    return [CampaignSummary.of(c) for c in session.scalars(stmt)]


def check_aware(value: Any, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput(f"{what} must be a date and time, not {value!r}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{what} {value.isoformat()} has no time zone; give one (like 2026-05-01T09:00+00:00)."
        )
    problem = time_problem(value)
    if problem is not None:
        raise InvalidInput(f"{what} {value.isoformat()} {problem}.")
    return value
