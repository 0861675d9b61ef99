"""What a lifecycle move will do, and whether anything is sending a running campaign.

Read-only figures for the console's confirmations ("Start camp_x 'Name': send to 2,873
recipients?") and for the recipients header: the senders at work on a campaign (`campaigns
send` keeps a heartbeat row in delivery_senders, core.delivery), else a hint when nothing
sends it. `campaigns simulate` (the demo's) keeps no heartbeat: a claimed recipient or a send
in the last minute says that something works on it.
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
STALE_AFTER = timedelta(seconds=15)  # a sender's heartbeat older than this: not at work

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
# The recent sends the rate is read from: those of the last RATE_WINDOW (an index range of
# (campaign_id, status, sent_at) per status; at most the rate times the window's rows).
RATE_WINDOW = timedelta(seconds=30)
_RECENT = text(
    "SELECT count(*), min(sent_at), max(sent_at) FROM campaign_recipients"
    " WHERE campaign_id = :c AND status IN ('sent', 'bounced', 'unsubscribed')"
    " AND sent_at > now() - CAST(:w AS interval)"
)
_PENDING = "SELECT count(*) FROM campaign_recipients WHERE campaign_id = :c AND status = 'pending'"


@dataclass(frozen=True, slots=True)
class SenderAtWork:
    host: str
    pid: int
    last_sent_at: datetime | None
    last_seen: datetime

    @property
    def where(self) -> str:
        return f"{self.host}:{self.pid}"


_AT_WORK = text(
    "SELECT host, pid, last_sent_at, last_seen FROM delivery_senders"
    " WHERE campaign_id = :c AND last_seen > now() - CAST(:stale AS interval)"
    " ORDER BY last_sent_at DESC NULLS LAST, id"
)


def senders_at_work(session: Session, campaign_pk: int) -> tuple[SenderAtWork, ...]:
    """Senders seen in the last STALE_AFTER working on the campaign, the latest sender first
    (one index probe of delivery_senders)."""
    rows = session.execute(_AT_WORK, {"c": campaign_pk, "stale": STALE_AFTER})
    return tuple(SenderAtWork(*row) for row in rows)


@dataclass(frozen=True, slots=True)
class SendingState:
    status: CampaignStatus
    pending: bool  # some recipient waits to be sent
    queued: bool  # some recipient is claimed by a sender right now
    last_sent_at: datetime | None  # the latest send
    now: datetime  # the database's time of this reading
    senders: tuple[SenderAtWork, ...] = ()  # `campaigns send` processes at work on it
    recent: int = 0  # recipients sent in the last RATE_WINDOW
    recent_first: datetime | None = None  # the first and last of those sends
    recent_last: datetime | None = None

    @property
    def rate(self) -> float | None:
        """Messages a second over the recent sends (the gaps between the first and last of
        the window); None with fewer than two, or all at one instant."""
        first, last = self.recent_first, self.recent_last
        if self.recent < 2 or first is None or last is None or last <= first:
            return None
        return (self.recent - 1) / (last - first).total_seconds()

    def seconds_left(self, remaining: int) -> float | None:
        """How long `remaining` more messages take at the recent rate; None without one."""
        rate = self.rate
        if rate is None or remaining <= 0:
            return None
        return remaining / rate

    @property
    def idle(self) -> bool:
        """Running with recipients waiting, no sender at work, none claimed, and no send for
        IDLE_AFTER: nothing is sending it."""
        return (
            self.status == CampaignStatus.RUNNING
            and self.pending
            and not self.senders
            and not self.queued
            and (self.last_sent_at is None or self.now - self.last_sent_at > IDLE_AFTER)
        )


def sending_state(session: Session, campaign: int | str) -> SendingState:
    """Whether anything is sending the campaign (see SendingState.idle). Raises NotFound."""
    c = resolve_campaign(session, campaign)
    pending, queued, last, now = session.execute(text(_STATE), {"c": c.id}).one()
    senders = senders_at_work(session, c.id)
    recent = (0, None, None)
    if c.status == CampaignStatus.RUNNING:
        recent = session.execute(_RECENT, {"c": c.id, "w": RATE_WINDOW}).one()
    return SendingState(CampaignStatus(c.status), pending, queued, last, now, senders, *recent)


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
