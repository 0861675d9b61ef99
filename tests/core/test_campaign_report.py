"""core.figures.report: the chart's periods, the bundled report, two campaigns compared."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from core.errors import InvalidInput, NotFound
from core.figures import (
    COMPARED,
    activity_windows,
    campaign_report,
    campaign_stats,
    compare,
    human_click_to_open,
)
from core.store import CampaignStatus, EmailTracking, RecipientStatus
from tests.factories import make_campaign, make_recipients

START = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
H = timedelta(hours=1)


def test_windows_before_during_and_after_the_first_72_hours():
    assert activity_windows(None, START) == (None, None)
    assert activity_windows(START, START - H) == (None, None)  # not yet
    # 5 h in: hourly up to the end of the current hour, no daily part
    hourly, daily = activity_windows(START, START + 5 * H)
    top = START.replace(minute=0)
    assert hourly == (top, datetime(2026, 3, 1, 16, 0, tzinfo=UTC)) and daily is None
    # 10 days in: hourly for exactly 72 h, then daily to the end of today (UTC)
    now = START + timedelta(days=10, hours=3)
    hourly, daily = activity_windows(START, now)
    assert hourly == (top, top + 72 * H)
    assert daily == (top + 72 * H, datetime(2026, 3, 12, 0, 0, tzinfo=UTC))
    with pytest.raises(InvalidInput):
        activity_windows(START, datetime(2026, 3, 2))  # naive


@pytest.fixture
def campaign(session):
    c = make_campaign(session, "camp_r", status=CampaignStatus.RUNNING, started_at=START)
    rids = make_recipients(session, c, 3, status=RecipientStatus.SENT, sent_at=START)
    rows = [
        (rids[0], "open", START + H, {}),
        (rids[0], "open", START + 2 * H, {"machine": True, "machine_reason": "apple-mpp"}),
        (rids[1], "open", START + 80 * H, {}),  # in the daily part
        (rids[1], "click", START + 80 * H, {"link_url": "https://a.test/x"}),
        (rids[0], "click", START + 3 * H, {"link_url": "https://a.test/x"}),
        (rids[0], "click", START + 4 * H, {"link_url": "https://a.test/y"}),
        (rids[2], "bounce", START + H, {"bounce_type": "soft", "error_code": 421}),
    ]
    session.execute(
        insert(EmailTracking),
        [
            {"campaign_recipient_id": r, "event_type": t, "created_at": at, "event_data": d}
            for r, t, at, d in rows
        ],
    )
    return c


def test_report_bundles_stats_links_bounces_and_both_series(session, campaign):
    now = START + timedelta(days=5)
    report = campaign_report(session, "camp_r", now=now)
    assert report.stats.total_opens == 3 and report.stats.machine_opens == 1
    assert [(link.url, link.unique_clicks, link.total_clicks) for link in report.links] == [
        ("https://a.test/x", 2, 2),
        ("https://a.test/y", 1, 1),
    ]
    assert [(b.kind, b.code, b.bounces) for b in report.bounces] == [("soft", "421", 1)]
    a = report.activity
    assert a.start == START
    assert len(a.hourly) == 72  # every hour, the empty ones as zeros
    assert a.hourly[0].start == START.replace(minute=0)
    assert sum(b.opens for b in a.hourly) == 2 and sum(b.clicks for b in a.hourly) == 2
    # daily from 10:00 on 4 March to the end of 6 March
    assert [b.start.day for b in a.daily] == [4, 5, 6]
    assert sum(b.opens for b in a.daily) == 1 and sum(b.clicks for b in a.daily) == 1
    assert a.buckets == a.hourly + a.daily


def test_report_of_a_campaign_never_started_has_no_series(session):
    make_campaign(session, "camp_draft_r")
    report = campaign_report(session, "camp_draft_r", now=START)
    assert report.activity.hourly == () and report.activity.daily == ()
    assert report.links == () and report.bounces == ()
    with pytest.raises(NotFound):
        campaign_report(session, "camp_nope", now=START)


def test_compare_lists_every_figure_with_b_minus_a(session, campaign):
    other = make_campaign(session, "camp_o", status=CampaignStatus.RUNNING, started_at=START)
    make_recipients(session, other, 4, status=RecipientStatus.SENT, sent_at=START)
    a, b = campaign_stats(session, "camp_r"), campaign_stats(session, "camp_o")
    rows = compare(a, b)
    assert [d.key for d in rows] == [key for key, _, _ in COMPARED]
    by_key = {d.key: d for d in rows}
    assert (by_key["emails_sent"].a, by_key["emails_sent"].b) == (3, 4)
    assert by_key["emails_sent"].change == 1
    assert by_key["total_opens"].change == -3
    assert by_key["human_open_rate"].kind == "rate"
    assert by_key["human_click_to_open"].a == human_click_to_open(a) == 100.0
    # every key is a stats field or a derived figure computed above
    fields = {f.name for f in dataclasses.fields(a)}
    assert {d.key for d in rows} - fields == {"human_click_to_open"}
