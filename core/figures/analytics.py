"""Analytics read models: a campaign's figures, its recipients by status, clicks per link,
activity over time. Every function returns frozen dataclasses (or named tuples) and runs one
indexed query, or a few.

Costs. campaign_overview (the campaign's CampaignSummary) is one primary-key read (the
counters are kept by the database). campaign_stats, link_clicks and bounce_codes read the
event rollup the database keeps (core.figures.rollup, migration 0007): a few rows whatever
the campaign's size. Their *_from_events twins compute the same figures from the events (the
reference tests compare with), as does activity_over_time (distinct recipients per bucket):
through ix_campaign_recipients_campaign_id and ix_email_tracking_recipient_event for a
typical campaign, in time proportional to its number of events for a very big one.

The other read models: core.recipients.paging (recipients pages and counts),
core.recipients.find (find by email), core.events.read (timelines and event logs).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import String, func, literal, select, type_coerce
from sqlalchemy.orm import Session

import core.figures.rollup as rollup
from core.campaigns import CampaignSummary, R, campaign_key, get_campaign
from core.errors import InvalidInput
from core.figures.breakdowns import (
    BounceCode,
    EventCounts,
    LinkClicks,
    event_counts,
)
from core.figures.breakdowns import aggregating as _aggregating
from core.figures.breakdowns import bounce_codes_from_events as _bounce_codes_from_events
from core.figures.breakdowns import link_clicks_from_events as _link_clicks_from_events
from core.store import EmailTracking, EventType, RecipientStatus, percent
from core.times import check_aware

T = EmailTracking
MAX_BUCKETS = 100_000


@dataclass(frozen=True, slots=True)
class CampaignStats(CampaignSummary):
    """The campaign's summary plus figures from the events (unique = distinct recipients)."""

    total_opens: int
    unique_opens: int
    total_clicks: int
    unique_clicks: int
    replies: int
    forwards: int
    unsubscribes: int
    complaints: int
    bounces: int  # bounce events
    hard_bounces: int  # event_data.bounce_type hard/permanent, per event
    soft_bounces: int  # soft/transient, per event
    # Human vs machine (core.events.machine's verdicts). The seed's counters and rates above count
    # every open and click; these leave out the machine ones.
    human_opens: int = 0  # recipients with a human open or click (a click is an open)
    human_clicks: int = 0  # recipients with a human click
    machine_opens: int = 0  # open events judged machine
    machine_clicks: int = 0  # click events judged machine
    human_open_rate: float = 0.0  # human_opens as % of emails_sent
    human_click_rate: float = 0.0  # human_clicks as % of emails_sent


class StatusCount(NamedTuple):
    status: RecipientStatus
    recipients: int  # not `count`: that is tuple.count


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  # UTC, the start of the hour or day
    opens: int
    clicks: int
    unique_opens: int  # distinct recipients who opened within this bucket
    unique_clicks: int


def campaign_overview(session: Session, campaign: int | str) -> CampaignSummary:
    """The campaign's header figures from its counters: one indexed row read."""
    return get_campaign(session, campaign)


def campaign_stats(session: Session, campaign: int | str) -> CampaignStats:
    """The summary plus event figures: opens/clicks (total and unique), replies, forwards,
    unsubscribes, complaints, bounces split hard/soft, human vs machine opens and clicks.
    From the counters and the event rollup: two primary-key reads. Raises NotFound."""
    summary = get_campaign(session, campaign)
    return _stats(summary, rollup.event_counts(session, summary.id))


def campaign_stats_from_events(session: Session, campaign: int | str) -> CampaignStats:
    """campaign_stats with the event figures computed from the events (core.figures.breakdowns):
    the reference the rollup is checked against. Raises NotFound."""
    summary = get_campaign(session, campaign)
    return _stats(summary, event_counts(session, summary.id))


def _stats(summary: CampaignSummary, counts: EventCounts) -> CampaignStats:
    people, unique, total = counts.people, counts.unique, counts.total
    return CampaignStats(
        **dataclasses.asdict(summary),
        total_opens=total[EventType.OPEN],
        unique_opens=unique[EventType.OPEN],
        total_clicks=total[EventType.CLICK],
        unique_clicks=unique[EventType.CLICK],
        replies=total[EventType.REPLY],
        forwards=total[EventType.FORWARD],
        unsubscribes=total[EventType.UNSUBSCRIBE],
        complaints=total[EventType.COMPLAIN],
        bounces=total[EventType.BOUNCE],
        hard_bounces=counts.hard_bounces,
        soft_bounces=counts.soft_bounces,
        human_opens=people.human_opens,
        human_clicks=people.human_clicks,
        machine_opens=people.machine_opens,
        machine_clicks=people.machine_clicks,
        human_open_rate=percent(people.human_opens, summary.emails_sent),
        human_click_rate=percent(people.human_clicks, summary.emails_sent),
    )


def recipients_by_status(session: Session, campaign: int | str) -> tuple[StatusCount, ...]:
    """The seed's "Campaign Performance by Status": (status, count) for each status present,
    in lifecycle order (pending, queued, sent, failed, bounced, unsubscribed)."""
    campaign_id, _ = campaign_key(session, campaign)
    status = type_coerce(R.status, String)
    stmt = select(status, func.count()).where(R.campaign_id == campaign_id).group_by(status)
    counts = {s: n for s, n in session.execute(stmt)}
    return tuple(StatusCount(s, counts[s.value]) for s in RecipientStatus if s.value in counts)


def link_clicks(session: Session, campaign: int | str) -> tuple[LinkClicks, ...]:
    """Clicks per link (event_data.link_url) of a campaign, most clicked first (the rollup)."""
    campaign_id, _ = campaign_key(session, campaign)
    return rollup.link_clicks(session, campaign_id)


def link_clicks_from_events(session: Session, campaign: int | str) -> tuple[LinkClicks, ...]:
    """link_clicks computed from the events (the reference)."""
    return _link_clicks_from_events(session, campaign_key(session, campaign)[0])


def bounce_codes(session: Session, campaign: int | str) -> tuple[BounceCode, ...]:
    """A campaign's bounces by kind (hard/soft/other) and SMTP code, most frequent first
    (the rollup)."""
    campaign_id, _ = campaign_key(session, campaign)
    return rollup.bounce_codes(session, campaign_id)


def bounce_codes_from_events(session: Session, campaign: int | str) -> tuple[BounceCode, ...]:
    """bounce_codes computed from the events (the reference)."""
    return _bounce_codes_from_events(session, campaign_key(session, campaign)[0])


def activity_over_time(
    session: Session,
    campaign: int | str,
    *,
    bucket: str = "hour",
    start: datetime | None = None,
    end: datetime | None = None,
    fill_gaps: bool = False,
) -> tuple[Bucket, ...]:
    """Opens and clicks per hour or day (UTC), oldest first, events in [start, end).

    Only buckets with events are returned, unless fill_gaps: then every bucket from start
    (or the first with data) to end (or the last with data) is there, empty ones as zeros.
    """
    if bucket not in ("hour", "day"):
        raise InvalidInput(f"Buckets are 'hour' or 'day', not {bucket!r}.")
    start = None if start is None else check_aware(start, "start")
    end = None if end is None else check_aware(end, "end")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("The end of the period must come after its start.")
    campaign_id, _ = campaign_key(session, campaign)
    when = func.date_trunc(bucket, T.created_at, literal("UTC"))
    cond = [R.campaign_id == campaign_id, T.event_type.in_((EventType.OPEN, EventType.CLICK))]
    if start is not None:
        cond.append(T.created_at >= start)
    if end is not None:
        cond.append(T.created_at < end)
    per_recipient = (
        select(when.label("b"), T.event_type, T.campaign_recipient_id, func.count().label("n"))
        .join(R, R.id == T.campaign_recipient_id)
        .where(*cond)
        .group_by(when, T.event_type, T.campaign_recipient_id)
        .subquery()
    )
    p = per_recipient.c
    is_open, is_click = p.event_type == EventType.OPEN, p.event_type == EventType.CLICK
    stmt = (
        select(
            p.b,
            func.coalesce(func.sum(p.n).filter(is_open), 0),
            func.coalesce(func.sum(p.n).filter(is_click), 0),
            func.count().filter(is_open),
            func.count().filter(is_click),
        )
        .group_by(p.b)
        .order_by(p.b)
    )
    with _aggregating(session):
        rows = session.execute(stmt).all()
    found = [Bucket(b.astimezone(UTC), *map(int, rest)) for b, *rest in rows]
    if not fill_gaps:
        return tuple(found)
    return _fill(found, bucket, start, end)


def _truncate(moment: datetime, bucket: str) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if bucket == "day" else moment


def _fill(
    found: list[Bucket], bucket: str, start: datetime | None, end: datetime | None
) -> tuple[Bucket, ...]:
    step = timedelta(days=1) if bucket == "day" else timedelta(hours=1)
    first = _truncate(start, bucket) if start else (found[0].start if found else None)
    last: datetime | None = None
    if end is not None:
        last = _truncate(end - timedelta(microseconds=1), bucket)
    elif found:
        last = found[-1].start
    if first is None or last is None:
        return tuple(found)
    if (last - first) / step >= MAX_BUCKETS:
        raise InvalidInput(f"That period has more than {MAX_BUCKETS:,} {bucket}s; narrow it.")
    by_start = {b.start: b for b in found}
    out, moment = [], first
    while moment <= last:
        out.append(by_start.get(moment) or Bucket(moment, 0, 0, 0, 0))
        moment += step
    return tuple(out)
