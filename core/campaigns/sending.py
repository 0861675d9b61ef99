"""What a lifecycle move will do, and whether anything is sending a running campaign.

Read-only figures for the console's confirmations ("Start camp_x 'Name': send to 2,873
recipients?") and for the hint on a running campaign nothing sends. This program has no
sender of its own yet: mail goes out only while `campaigns simulate` (or another program
calling core.recipients.send.claim_batch) works on the campaign; the background simulator that
`demo` starts works on the demo's campaigns only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.campaigns.lookup import resolve_campaign
from core.campaigns.summary import CampaignSummary, get_campaign
from core.store import CampaignStatus

IDLE_AFTER = timedelta(minutes=1)  # no send for this long, nothing queued: nothing sends it

# Each figure by one index (campaign_id, status, ...): none grows with the campaign's size,
# except the pending count, read for a confirmation only.
_STATE = """
SELECT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = :c AND status = 'pending'),
       EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = :c AND status = 'queued'),
       GREATEST(
           (SELECT max(sent_at) FROM campaign_recipients
            WHERE campaign_id = :c AND status = 'sent'),
           (SELECT max(sent_at) FROM campaign_recipients
            WHERE campaign_id = :c AND status = 'bounced'),
           (SELECT max(sent_at) FROM campaign_recipients
            WHERE campaign_id = :c AND status = 'unsubscribed')),
       now()
"""
_PENDING = "SELECT count(*) FROM campaign_recipients WHERE campaign_id = :c AND status = 'pending'"


@dataclass(frozen=True, slots=True)
class SendingState:
    status: CampaignStatus
    pending: bool  # some recipient waits to be sent
    queued: bool  # some recipient is claimed by a sender right now
    last_sent_at: datetime | None  # the latest send
    now: datetime  # the database's time of this reading

    @property
    def idle(self) -> bool:
        """Running with recipients waiting, none claimed, and no send for IDLE_AFTER: nothing
        is sending it."""
        return (
            self.status == CampaignStatus.RUNNING
            and self.pending
            and not self.queued
            and (self.last_sent_at is None or self.now - self.last_sent_at > IDLE_AFTER)
        )


def sending_state(session: Session, campaign: int | str) -> SendingState:
    """Whether anything is sending the campaign (see SendingState.idle). Raises NotFound."""
    c = resolve_campaign(session, campaign)
    pending, queued, last, now = session.execute(text(_STATE), {"c": c.id}).one()
    return SendingState(CampaignStatus(c.status), pending, queued, last, now)


@dataclass(frozen=True, slots=True)
class MovePreview:
    campaign: CampaignSummary
    action: str  # a core.campaigns.lifecycle action: start, resume, complete, fail, ...
    pending: int  # recipients waiting to be sent (what start or resume sends to)
    not_sent: int  # recipients never sent (what complete or fail leaves unsent for good)


def move_preview(session: Session, campaign: int | str, action: str) -> MovePreview:
    """The figures a confirmation of `action` states. Raises NotFound."""
    summary = get_campaign(session, campaign)
    pending = int(session.scalar(text(_PENDING), {"c": summary.id}) or 0)
    not_sent = summary.total_recipients - summary.emails_sent
    return MovePreview(summary, action, pending, not_sent)
