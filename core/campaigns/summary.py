"""A campaign as reads return it (CampaignSummary): the one value lists, headers and the
analytics figures build on (core.figures.CampaignStats extends it), and its reads by id.

Shared by core.campaigns.manage, core.campaigns.lifecycle, core.recipients and core.figures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.campaigns.lookup import resolve_campaign
from core.store import Campaign, CampaignStatus, percent


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """One campaign as a list or a header shows it: identity, status, times, the counters
    (kept by the database) and the rates."""

    id: int
    campaign_id: str
    name: str
    template_id: int | None
    status: CampaignStatus
    scheduled_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
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
    click_to_open_rate: float  # clicked / opened * 100, 0 when nothing was opened
    created_by: int | None
    pause_reason: str | None  # why an alarm paused it (core.delivery), None otherwise

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
            updated_at=c.updated_at,
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
            click_to_open_rate=percent(c.emails_clicked, c.emails_opened),
            created_by=c.created_by,
            pause_reason=c.pause_reason,
        )


# The row's bookkeeping: not figures of the campaign.
_BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "created_by", "pause_reason"})
# What a campaign's figures are called outside (`campaigns stats --json`): the seed's names.
SUMMARY_KEYS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(CampaignSummary) if f.name not in _BOOKKEEPING
)


def load_summary(session: Session, campaign: int | str) -> CampaignSummary:
    """The campaign as the session has it now (pending changes flushed first)."""
    session.flush()
    return CampaignSummary.of(resolve_campaign(session, campaign))


def get_campaign(session: Session, campaign: int | str) -> CampaignSummary:
    """One campaign by row id or campaign_id (one indexed row read); NotFound otherwise."""
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
