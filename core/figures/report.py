"""One campaign's analytics in one call (what the analytics screen shows), and two campaigns'
figures side by side.

campaign_report bundles core.figures.analytics' figures (the stats, the link table, bounces by SMTP
code) with the activity chart's volumes: opens and clicks per hour for the first
ACTIVITY_HOURS hours after the campaign started, per day after that, each series with its gaps
filled (an hour without events is a zero on the chart, not a missing bar).

The volumes are read per (UTC hour, type) from the event rollup the database keeps
(core.figures.rollup, migration 0007): a few hundred rows whatever the campaign's size; days are
added up from their hours. activity_from_events counts the same hours from the events (the
reference). (core.figures.analytics.activity_over_time also counts distinct recipients per bucket,
which groups by recipient too: millions of groups on a big campaign, and one pass per bucket size.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy.orm import Session

import core.figures.rollup as rollup
from core.campaigns import campaign_key
from core.errors import InvalidInput
from core.figures.analytics import (
    BounceCode,
    CampaignStats,
    LinkClicks,
    bounce_codes,
    campaign_stats,
    link_clicks,
)
from core.figures.breakdowns import hourly_from_events
from core.store import percent

ACTIVITY_HOURS = 72


class Volume(NamedTuple):
    start: datetime  # UTC, the start of the hour or day
    opens: int  # open events in it
    clicks: int  # click events in it


@dataclass(frozen=True, slots=True)
class Activity:
    """Opens and clicks over time. Both series are empty when the campaign never started."""

    start: datetime | None  # started_at: the chart's origin
    hourly: tuple[Volume, ...]  # 72 hours from start's hour (up to now's), every hour
    daily: tuple[Volume, ...]  # after those 72 hours up to today, every day (UTC days)

    @property
    def buckets(self) -> tuple[Volume, ...]:
        return self.hourly + self.daily


@dataclass(frozen=True, slots=True)
class CampaignReport:
    stats: CampaignStats
    links: tuple[LinkClicks, ...]  # most clicked first
    bounces: tuple[BounceCode, ...]  # by kind and SMTP code, most frequent first
    activity: Activity


def activity_windows(
    start: datetime | None, now: datetime, hours: int = ACTIVITY_HOURS
) -> tuple[tuple[datetime, datetime] | None, tuple[datetime, datetime] | None]:
    """The [from, to) periods of the hourly and the daily series: hourly from the start of
    start's hour for `hours` hours (to the end of now's hour if that comes first), daily after
    that up to the end of now's day (UTC). None for a period that is empty (not started yet,
    not 72 h old)."""
    if start is None:
        return None, None
    if now.tzinfo is None or start.tzinfo is None:
        raise InvalidInput("start and now must be date-times with a time zone.")
    now = now.astimezone(UTC)
    end_of_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if end_of_hour <= start:
        return None, None
    start = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    switch = start + timedelta(hours=hours)
    hourly = (start, min(switch, end_of_hour))
    if now < switch:
        return hourly, None
    end_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return hourly, (switch, end_of_day)


def activity(
    session: Session, campaign: int | str, *, start: datetime | None, now: datetime
) -> Activity:
    """The chart's series for a campaign that started at `start` (its started_at), from the
    rollup's opens and clicks per UTC hour; the days after the first 72 hours are added up
    from their hours here. Raises NotFound."""
    return _activity(session, campaign, start, now, rollup.hourly)


def activity_from_events(
    session: Session, campaign: int | str, *, start: datetime | None, now: datetime
) -> Activity:
    """activity with the hours counted from the events (the reference). Raises NotFound."""
    return _activity(session, campaign, start, now, hourly_from_events)


def _activity(
    session: Session,
    campaign: int | str,
    start: datetime | None,
    now: datetime,
    hourly: Callable[[Session, int, datetime, datetime], dict[datetime, list[int]]],
) -> Activity:
    pk, _ = campaign_key(session, campaign)
    hourly_period, daily_period = activity_windows(start, now)
    if hourly_period is None:
        return Activity(start, (), ())
    first = hourly_period[0]
    end = daily_period[1] if daily_period else hourly_period[1]
    hours: dict[datetime, list[int]] = hourly(session, pk, first, end)  # hour -> [opens, clicks]

    one_hour, one_day = timedelta(hours=1), timedelta(days=1)

    def total(frm: datetime, to: datetime) -> tuple[int, int]:
        opens = clicks = 0
        while frm < to:
            o, c = hours.get(frm, (0, 0))
            opens, clicks, frm = opens + o, clicks + c, frm + one_hour
        return opens, clicks

    by_hour: list[Volume] = []
    at = first
    while at < hourly_period[1]:
        by_hour.append(Volume(at, *total(at, at + one_hour)))
        at += one_hour
    by_day: list[Volume] = []
    if daily_period:
        # Days are UTC days; the first holds only its hours after the first 72.
        switch, day = daily_period[0], daily_period[0].replace(hour=0)
        while day < daily_period[1]:
            by_day.append(Volume(day, *total(max(day, switch), day + one_day)))
            day += one_day
    return Activity(start, tuple(by_hour), tuple(by_day))


def campaign_report(session: Session, campaign: int | str, *, now: datetime) -> CampaignReport:
    """Stats, link table, bounce codes and activity of one campaign. Raises NotFound."""
    pk, _ = campaign_key(session, campaign)
    stats = campaign_stats(session, pk)
    return CampaignReport(
        stats=stats,
        links=link_clicks(session, pk),
        bounces=bounce_codes(session, pk),
        activity=activity(session, pk, start=stats.started_at, now=now),
    )


def human_click_to_open(stats: CampaignStats) -> float:
    """Human clicks as a percentage of human opens (0 when no human opened)."""
    return percent(stats.human_clicks, stats.human_opens)


@dataclass(frozen=True, slots=True)
class Difference:
    key: str
    label: str
    kind: str  # "count" or "rate" (a percentage; the difference is in percentage points)
    a: float
    b: float

    @property
    def change(self) -> float:
        """b - a: more in b is positive."""
        return self.b - self.a


# (key, label, kind): CampaignStats fields, or a function of the stats for derived rates.
COMPARED: tuple[tuple[str, str, str], ...] = (
    ("total_recipients", "Recipients", "count"),
    ("emails_sent", "Sent", "count"),
    ("emails_opened", "Opened", "count"),
    ("open_rate", "Open rate", "rate"),
    ("human_opens", "Human opens", "count"),
    ("human_open_rate", "Human open rate", "rate"),
    ("emails_clicked", "Clicked", "count"),
    ("click_rate", "Click rate", "rate"),
    ("human_clicks", "Human clicks", "count"),
    ("human_click_rate", "Human click rate", "rate"),
    ("click_to_open_rate", "Click-to-open", "rate"),
    ("human_click_to_open", "Human click-to-open", "rate"),
    ("total_opens", "Opens (total)", "count"),
    ("unique_opens", "Opens (unique)", "count"),
    ("machine_opens", "Machine opens", "count"),
    ("total_clicks", "Clicks (total)", "count"),
    ("unique_clicks", "Clicks (unique)", "count"),
    ("machine_clicks", "Machine clicks", "count"),
    ("emails_replied", "Replied", "count"),
    ("reply_rate", "Reply rate", "rate"),
    ("forwards", "Forwards", "count"),
    ("emails_bounced", "Bounced", "count"),
    ("bounce_rate", "Bounce rate", "rate"),
    ("hard_bounces", "Hard bounces", "count"),
    ("soft_bounces", "Soft bounces", "count"),
    ("complaints", "Complaints", "count"),
    ("unsubscribes", "Unsubscribes", "count"),
)


def _figure(stats: CampaignStats, key: str) -> float:
    if key == "human_click_to_open":
        return human_click_to_open(stats)
    return getattr(stats, key)


def compare(a: CampaignStats, b: CampaignStats) -> tuple[Difference, ...]:
    """Every figure of COMPARED for both campaigns, in that order."""
    return tuple(
        Difference(key, label, kind, _figure(a, key), _figure(b, key))
        for key, label, kind in COMPARED
    )
