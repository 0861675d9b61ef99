"""Analytics read models on small, exact data: stats, breakdowns, pages, search, events.

Data is written with plain inserts (tests/factories.py and EmailTracking rows), not through
the tracking service, so these tests stand on their own.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text, update

from core import events, figures, recipients
from core.errors import InvalidInput, NotFound
from core.events import read as ev
from core.store import Campaign, CampaignStatus, EmailTracking, EventType, RecipientStatus
from tests.factories import make_campaign, make_recipients

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
RS = RecipientStatus


def _at(hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


def _one(session, campaign, email, **fields) -> int:
    return make_recipients(session, campaign, 1, email_address=email, **fields)[0]


def _events(session, *rows) -> list[int]:
    """rows: (recipient id, type, created_at, event_data[, user_agent, ip])."""
    values = [
        {
            "campaign_recipient_id": r[0],
            "event_type": r[1],
            "created_at": r[2],
            "event_data": r[3],
            "user_agent": r[4] if len(r) > 4 else None,
            "ip_address": r[5] if len(r) > 5 else None,
        }
        for r in rows
    ]
    return list(session.scalars(insert(EmailTracking).returning(EmailTracking.id), values))


@pytest.fixture
def world(session):
    """Campaign A (8 recipients, events), B (2 recipients), C (none)."""
    a = make_campaign(session, "camp_a", name="Spring sale", status=CampaignStatus.RUNNING)
    r = {
        1: _one(session, a, "Alice@Example.com", status=RS.SENT, sent_at=_at(), opened_at=_at(1),
                clicked_at=_at(2)),
        2: _one(session, a, "bob@example.com", status=RS.SENT, sent_at=_at(), opened_at=_at(3)),
        3: _one(session, a, "carol_x@example.org", status=RS.SENT, sent_at=_at(minutes=1)),
        4: _one(session, a, "dave%50@example.net", status=RS.SENT, sent_at=_at(minutes=1)),
        5: _one(session, a, "eve\\back@example.com", status=RS.BOUNCED, sent_at=_at(minutes=2),
                bounced_at=_at(minutes=3), error_message="550 no such user"),
        6: _one(session, a, "frank@example.com"),
        7: _one(session, a, "grace@EXAMPLE.com", status=RS.UNSUBSCRIBED, sent_at=_at(minutes=2),
                opened_at=_at(4)),
        8: _one(session, a, "heidi@example.com", status=RS.SENT, sent_at=_at(minutes=3),
                opened_at=_at(1), replied_at=_at(5)),
    }  # fmt: skip
    b = make_campaign(session, "camp_b", name="Webinar")
    rb = [_one(session, b, "alice@example.com", status=RS.SENT, sent_at=_at(6)),
          _one(session, b, "zed@example.com")]  # fmt: skip
    make_campaign(session, "camp_c", name="Empty")
    ua = "Mozilla/5.0 [bold red]x[/]"
    ids = _events(
        session,
        (r[1], "open", _at(1), None, ua, "192.0.2.1"),
        (r[1], "open", _at(1, 30), None),
        (r[1], "click", _at(2), {"link_url": "https://example.com/one"}),
        (r[1], "click", _at(2, 10), {"link_url": "https://example.com/two"}),
        (r[2], "open", _at(3), None),
        (r[2], "click", _at(3, 10), None),
        (r[7], "open", _at(4), None),
        (r[7], "unsubscribe", _at(4, 5), None),
        (r[8], "open", _at(1), None, None, "2001:db8::1"),
        (r[8], "click", _at(1, 5), {"link_url": "https://example.com/one"}),
        (r[8], "reply", _at(5), None),
        (r[8], "forward", _at(5, 1), None),
        (r[5], "bounce", _at(minutes=3), {"bounce_type": "hard", "error_code": 550}),
        (r[5], "bounce", _at(minutes=4), {"bounce_type": "Permanent"}),
        (r[4], "bounce", _at(minutes=5), {"bounce_type": "transient"}),
        (r[4], "bounce", _at(minutes=6), {"note": "no type"}),
        (r[3], "complain", _at(7), None),
        (rb[0], "open", _at(7), None),
        # Recorded late with an earlier time: the timeline goes by created_at, then id.
        (r[1], "open", _at(0, 30), {"source": "late import"}),
    )
    session.commit()
    return {"a": a.id, "b": b.id, "r": r, "rb": rb, "events": ids}


# --- stats --------------------------------------------------------------------------------


def test_campaign_stats_exact(session, world):
    s = figures.campaign_stats(session, "camp_a")
    assert (s.id, s.campaign_id, s.name, s.status) == (
        world["a"],
        "camp_a",
        "Spring sale",
        CampaignStatus.RUNNING,
    )
    counters = (s.total_recipients, s.emails_sent, s.emails_opened, s.emails_clicked)
    assert counters == (8, 7, 4, 1)
    assert (s.emails_replied, s.emails_bounced) == (1, 1)
    assert s.open_rate == pytest.approx(400 / 7)
    assert s.click_rate == s.reply_rate == s.bounce_rate == pytest.approx(100 / 7)
    assert s.click_to_open_rate == 25.0
    assert (s.total_opens, s.unique_opens, s.total_clicks, s.unique_clicks) == (6, 4, 4, 3)
    assert (s.replies, s.forwards, s.unsubscribes, s.complaints) == (1, 1, 1, 1)
    assert (s.bounces, s.hard_bounces, s.soft_bounces) == (4, 2, 1)
    # The same by row id, and the overview is the same header without the event figures.
    assert figures.campaign_stats(session, world["a"]) == s
    overview = figures.campaign_overview(session, "camp_a")
    assert dataclasses.asdict(overview).items() <= dataclasses.asdict(s).items()


def test_stats_of_a_campaign_without_anything(session, world):
    s = figures.campaign_stats(session, "camp_c")
    assert s.total_recipients == s.emails_sent == s.total_opens == s.hard_bounces == 0
    assert s.open_rate == s.click_to_open_rate == 0.0


def test_stats_are_read_fresh_and_frozen(session, world):
    before = figures.campaign_overview(session, "camp_a")
    session.execute(
        update(Campaign).where(Campaign.id == world["a"]).values(name="Renamed elsewhere")
    )
    assert figures.campaign_overview(session, "camp_a").name == "Renamed elsewhere"
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.name = "x"


@pytest.mark.parametrize(
    "call",
    [
        figures.campaign_stats,
        figures.campaign_overview,
        figures.recipients_by_status,
        figures.link_clicks,
        figures.activity_over_time,
        recipients.unopened_recipients,
        recipients.recipients_page,
        recipients.count_recipients,
        events.campaign_clicks,
    ],
)
def test_unknown_campaign_is_not_found(session, world, call):
    with pytest.raises(NotFound, match="camp_nope"):
        call(session, "camp_nope")
    with pytest.raises(NotFound):
        call(session, 999_999)
    with pytest.raises(InvalidInput):
        call(session, 1.5)


def test_recipients_by_status_in_lifecycle_order(session, world):
    got = figures.recipients_by_status(session, "camp_a")
    assert got == ((RS.PENDING, 1), (RS.SENT, 5), (RS.BOUNCED, 1), (RS.UNSUBSCRIBED, 1))
    assert [(status, n) for status, n in got][1] == ("sent", 5)
    assert figures.recipients_by_status(session, "camp_c") == ()


def test_link_clicks_unique_and_total(session, world):
    assert figures.link_clicks(session, "camp_a") == (
        figures.LinkClicks("https://example.com/one", unique_clicks=2, total_clicks=2),
        figures.LinkClicks("https://example.com/two", unique_clicks=1, total_clicks=1),
        figures.LinkClicks(None, unique_clicks=1, total_clicks=1),
    )
    assert figures.link_clicks(session, "camp_b") == ()


def test_activity_hourly_and_daily(session, world):
    hourly = figures.activity_over_time(session, "camp_a")
    assert hourly == (
        figures.Bucket(_at(0), opens=1, clicks=0, unique_opens=1, unique_clicks=0),
        figures.Bucket(_at(1), opens=3, clicks=1, unique_opens=2, unique_clicks=1),
        figures.Bucket(_at(2), opens=0, clicks=2, unique_opens=0, unique_clicks=1),
        figures.Bucket(_at(3), opens=1, clicks=1, unique_opens=1, unique_clicks=1),
        figures.Bucket(_at(4), opens=1, clicks=0, unique_opens=1, unique_clicks=0),
    )
    assert all(b.start.tzinfo is not None and b.start.utcoffset() == timedelta(0) for b in hourly)
    daily = figures.activity_over_time(session, "camp_a", bucket="day")
    assert daily == (figures.Bucket(datetime(2026, 3, 1, tzinfo=UTC), 6, 4, 4, 3),)


def test_activity_window_and_gap_filling(session, world):
    got = figures.activity_over_time(session, "camp_a", start=_at(1, 15), end=_at(3, 5))
    assert got == (
        figures.Bucket(_at(1), opens=1, clicks=0, unique_opens=1, unique_clicks=0),
        figures.Bucket(_at(2), opens=0, clicks=2, unique_opens=0, unique_clicks=1),
        figures.Bucket(_at(3), opens=1, clicks=0, unique_opens=1, unique_clicks=0),
    )
    filled = figures.activity_over_time(
        session, "camp_a", start=_at(-2), end=_at(6), fill_gaps=True
    )
    assert [b.start for b in filled] == [_at(h) for h in range(-2, 6)]
    assert [b.opens for b in filled] == [0, 0, 1, 3, 0, 1, 1, 0]
    assert figures.activity_over_time(session, "camp_c", fill_gaps=True) == ()


def test_activity_input_checks(session, world):
    with pytest.raises(InvalidInput, match="hour"):
        figures.activity_over_time(session, "camp_a", bucket="week")
    with pytest.raises(InvalidInput, match="time zone"):
        figures.activity_over_time(session, "camp_a", start=datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="after"):
        figures.activity_over_time(session, "camp_a", start=_at(2), end=_at(1))


# --- unopened, counts -----------------------------------------------------------------------


def test_unopened_recipients(session, world):
    r = world["r"]
    assert [x.id for x in recipients.unopened_recipients(session, "camp_a")] == [r[3], r[4]]
    page = recipients.unopened_recipients(session, "camp_a", limit=1)
    assert [x.id for x in page] == [r[3]]
    rest = recipients.unopened_recipients(session, "camp_a", after_id=page[-1].id)
    assert [x.id for x in rest] == [r[4]]
    row = rest[0]
    assert isinstance(row, recipients.RecipientRow)
    assert (row.campaign_id, row.email_address, row.status, row.opened_at) == (
        world["a"],
        "dave%50@example.net",
        RS.SENT,
        None,
    )


def test_count_uses_the_counter_unfiltered_and_counts_when_filtered(session, world):
    assert recipients.count_recipients(session, "camp_a") == 8
    # The unfiltered count is the campaign's counter, not a COUNT over its rows.
    session.execute(
        text("UPDATE campaigns SET total_recipients = 999 WHERE campaign_id = 'camp_a'")
    )
    assert recipients.count_recipients(session, "camp_a") == 999
    assert recipients.count_recipients(session, "camp_a", cap=50) == 50
    assert recipients.count_recipients(session, "camp_a", status="sent") == 5
    assert recipients.count_recipients(session, "camp_a", status=RS.PENDING) == 1
    assert recipients.count_recipients(session, "camp_a", unopened=True) == 2
    assert recipients.count_recipients(session, "camp_a", unopened=True, status="bounced") == 0
    assert recipients.count_recipients(session, "camp_a", search="EXAMPLE.COM") == 6
    assert recipients.count_recipients(session, "camp_a", search="example.com", status="sent") == 3
    assert recipients.count_recipients(session, "camp_a", search="example", cap=2) == 2
    assert recipients.count_recipients(session, "camp_c", status="sent") == 0
    with pytest.raises(InvalidInput, match="status"):
        recipients.count_recipients(session, "camp_a", status="delivered")


# --- search -------------------------------------------------------------------------------


def _emails(page) -> list[str]:
    return [r.email_address for r in page.rows]


def test_search_is_case_insensitive_and_literal(session, world):
    def find(text):
        return _emails(recipients.recipients_page(session, "camp_a", search=text))

    assert find("ALICE") == ["Alice@Example.com"]
    assert find("example.COM") == [
        "Alice@Example.com",
        "bob@example.com",
        "eve\\back@example.com",
        "frank@example.com",
        "grace@EXAMPLE.com",
        "heidi@example.com",
    ]
    # LIKE wildcards and the escape character are plain characters in a search.
    assert find("%") == ["dave%50@example.net"]
    assert find("_") == ["carol_x@example.org"]
    assert find("\\") == ["eve\\back@example.com"]
    assert find("\\b") == ["eve\\back@example.com"]
    assert find("e%5") == ["dave%50@example.net"]
    assert find("%%") == find("a_x") == find("nobody") == []
    assert find("'; DROP TABLE campaign_recipients; --") == []
    # Only this campaign's recipients.
    assert find("zed") == []
    with pytest.raises(InvalidInput, match="NUL"):
        find("a\x00b")


def test_find_recipients_across_campaigns(session, world):
    r, rb = world["r"], world["rb"]
    exact = recipients.find_recipients(session, "ALICE@example.COM")
    # Every spelling of the address, the newest campaign first.
    assert [(m.recipient_id, m.campaign) for m in exact] == [(rb[0], "camp_b"), (r[1], "camp_a")]
    m = exact[1]
    assert (m.campaign_name, m.campaign_status, m.email_address, m.status) == (
        "Spring sale",
        CampaignStatus.RUNNING,
        "Alice@Example.com",
        RS.SENT,
    )
    assert (m.sent_at, m.opened_at, m.clicked_at, m.bounced_at) == (_at(), _at(1), _at(2), None)
    # A full address matching nothing exactly falls back to a substring match.
    assert {x.recipient_id for x in recipients.find_recipients(session, "lice@example.com")} == {
        r[1],
        rb[0],
    }
    # Parts of addresses: substring, ordered by address (in the database's collation).
    expected = list(
        session.scalars(
            text(
                "SELECT id FROM campaign_recipients WHERE email_address ILIKE '%example.c%'"
                " ORDER BY email_address, id"
            )
        )
    )
    found = recipients.find_recipients(session, "EXAMPLE.c")
    assert [x.recipient_id for x in found] == expected and len(expected) == 8
    assert len(recipients.find_recipients(session, "example", limit=3)) == 3
    assert [x.email_address for x in recipients.find_recipients(session, "%")] == [
        "dave%50@example.net"
    ]
    assert [x.email_address for x in recipients.find_recipients(session, "_")] == [
        "carol_x@example.org"
    ]
    assert recipients.find_recipients(session, "nobody@nowhere.test") == ()
    for bad in ("", "   "):
        with pytest.raises(InvalidInput):
            recipients.find_recipients(session, bad)
    with pytest.raises(InvalidInput):
        recipients.find_recipients(session, "x", limit=0)


# --- events -------------------------------------------------------------------------------


def test_timeline_in_time_order_with_details(session, world):
    r1 = world["r"][1]
    tl = events.recipient_timeline(session, r1)
    assert tl.recipient.id == r1 and tl.recipient.email_address == "Alice@Example.com"
    assert (tl.campaign_id_str, tl.campaign_name, tl.campaign_status) == (
        "camp_a",
        "Spring sale",
        CampaignStatus.RUNNING,
    )
    assert [(e.event_type, e.created_at) for e in tl.events] == [
        (EventType.OPEN, _at(0, 30)),
        (EventType.OPEN, _at(1)),
        (EventType.OPEN, _at(1, 30)),
        (EventType.CLICK, _at(2)),
        (EventType.CLICK, _at(2, 10)),
    ]
    first_open = tl.events[1]
    assert first_open.user_agent == "Mozilla/5.0 [bold red]x[/]"
    assert first_open.ip_address == "192.0.2.1" and isinstance(first_open.ip_address, str)
    assert (first_open.campaign, first_open.email_address, first_open.recipient_id) == (
        "camp_a",
        "Alice@Example.com",
        r1,
    )
    assert tl.events[0].event_data == {"source": "late import"}
    assert tl.events[3].event_data == {"link_url": "https://example.com/one"}


def test_timeline_ties_on_time_go_by_id(session, world):
    r6 = world["r"][6]
    ids = _events(session, *[(r6, t, _at(9), None) for t in ("reply", "open", "forward")])
    assert [e.id for e in events.recipient_timeline(session, r6).events] == sorted(ids)


def test_recipient_events_filters_by_type(session, world):
    r8 = world["r"][8]
    opens = events.recipient_events(session, world["r"][1], "open")
    assert [e.created_at for e in opens] == [_at(0, 30), _at(1), _at(1, 30)]
    assert [e.event_type for e in events.recipient_events(session, r8)] == [
        EventType.OPEN,
        EventType.CLICK,
        EventType.REPLY,
        EventType.FORWARD,
    ]
    assert events.recipient_events(session, r8, EventType.BOUNCE) == ()
    assert events.recipient_events(session, world["r"][6]) == ()
    assert events.recipient_events(session, r8)[0].ip_address == "2001:db8::1"
    with pytest.raises(NotFound):
        events.recipient_events(session, 987_654)
    with pytest.raises(NotFound):
        events.recipient_timeline(session, 987_654)
    with pytest.raises(InvalidInput, match="open, click"):
        events.recipient_events(session, r8, "opened")
    with pytest.raises(InvalidInput):
        events.recipient_timeline(session, "1")


@pytest.fixture(params=["small", "big"])
def campaign_path(request, monkeypatch):
    """Both ways of reading a campaign's events: by recipient, and along the primary key."""
    if request.param == "big":
        monkeypatch.setattr(ev, "SMALL_CAMPAIGN", 0)
    return request.param


def test_latest_events_newest_first_with_filters(session, world, campaign_path):
    ids = world["events"]
    assert [e.id for e in events.latest_events(session)] == sorted(ids, reverse=True)
    page = events.latest_events(session, limit=5)
    older = events.latest_events(session, before_id=page[-1].id, limit=100)
    assert [e.id for e in page + older] == sorted(ids, reverse=True)
    opens = events.latest_events(session, event_type="open")
    assert len(opens) == 7 and all(e.event_type == EventType.OPEN for e in opens)
    in_a = events.latest_events(session, campaign="camp_a")
    assert [e.id for e in in_a] == sorted(ids[:-2] + ids[-1:], reverse=True)
    assert {e.campaign for e in in_a} == {"camp_a"}
    assert [e.id for e in events.latest_events(session, campaign="camp_b")] == [ids[-2]]
    clicks_b = events.latest_events(session, campaign=world["b"], event_type=EventType.CLICK)
    assert clicks_b == ()
    a_opens = events.latest_events(session, campaign="camp_a", event_type="open", limit=2)
    assert [e.id for e in a_opens] == [ids[-1], ids[8]]
    assert events.latest_events(session, campaign="camp_c") == ()
    with pytest.raises(NotFound):
        events.latest_events(session, campaign="camp_nope")
    with pytest.raises(InvalidInput):
        events.latest_events(session, event_type="opened")
    with pytest.raises(InvalidInput):
        events.latest_events(session, limit=100_000)


def test_events_since_oldest_first(session, world, campaign_path):
    ids = world["events"]
    assert [e.id for e in events.events_since(session, ids[15])] == ids[16:]
    assert [e.id for e in events.events_since(session, ids[15], campaign="camp_a")] == [
        ids[16],
        ids[18],
    ]
    assert [e.id for e in events.events_since(session, 0, limit=3)] == ids[:3]
    assert events.events_since(session, ids[-1]) == ()


def test_campaign_clicks_and_paging(session, world, campaign_path):
    ids = world["events"]
    clicks = events.campaign_clicks(session, "camp_a")
    assert [e.id for e in clicks] == [ids[9], ids[5], ids[3], ids[2]]
    assert all(e.event_type == EventType.CLICK and e.campaign == "camp_a" for e in clicks)
    assert [e.id for e in events.campaign_clicks(session, "camp_a", before_id=ids[5])] == [
        ids[3],
        ids[2],
    ]
    assert events.campaign_clicks(session, "camp_b") == ()


# --- recipients pages ---------------------------------------------------------------------

SORTS = ["id", "sent_at", "opened_at", "clicked_at", "replied_at", "bounced_at", "email_address"]


@pytest.fixture
def paged(session):
    """Campaign P: 41 recipients with every status, many ties and NULLs in each sort key."""
    p = make_campaign(session, "camp_p")
    statuses = list(RecipientStatus)
    for i in range(41):
        status = statuses[i % len(statuses)]

        def maybe(every: int, minutes: int, i=i) -> datetime | None:
            return None if i % every == 0 else _at(minutes=minutes)

        _one(
            session,
            p,
            f"{'ABCDE'[i % 5]}user{i % 7}_{i}@{'xy'[i % 2]}.example",
            status=status,
            sent_at=maybe(4, i % 3),
            opened_at=maybe(3, i % 4),
            clicked_at=maybe(2, i % 2),
            replied_at=maybe(5, 0),
            bounced_at=None if i % 9 else _at(minutes=i % 2),
        )
    other = make_campaign(session, "camp_other")
    make_recipients(session, other, 5, status=RS.SENT, sent_at=_at())
    session.commit()
    return p.id


def _expected(session, campaign_id, sort, descending, where="TRUE", params=None) -> list[int]:
    """The same rows by a full ORDER BY: keyed rows by (key, id), then NULL keys by id."""
    d = "DESC" if descending else "ASC"
    sql = (
        f"SELECT id FROM campaign_recipients WHERE campaign_id = :c AND {where} "
        f"ORDER BY ({sort} IS NULL), {sort} {d}, id {d}"
    )
    return list(session.scalars(text(sql), {"c": campaign_id, **(params or {})}))


def _walk_forward(session, limit, **kw) -> list[int]:
    page = recipients.recipients_page(session, "camp_p", limit=limit, **kw)
    assert not page.has_prev
    seen, pages = [r.id for r in page.rows], 1
    while page.has_next:
        page = recipients.recipients_page(
            session, "camp_p", limit=limit, after=page.last_cursor, **kw
        )
        assert page.has_prev and page.rows
        seen += [r.id for r in page.rows]
        pages += 1
        assert pages < 100
    return seen


def _walk_backward(session, limit, **kw) -> list[int]:
    page = recipients.recipients_page(session, "camp_p", limit=limit, from_end=True, **kw)
    assert not page.has_next
    seen = [r.id for r in page.rows]
    while page.has_prev:
        page = recipients.recipients_page(
            session, "camp_p", limit=limit, before=page.first_cursor, **kw
        )
        assert page.has_next and page.rows
        ids = [r.id for r in page.rows]
        if page.has_prev:
            assert len(ids) == limit
            seen = ids + seen
        else:  # the first page, topped up to a full page: it may overlap the one after it
            overlap = [i for i in ids if i in seen]
            assert overlap == seen[: len(overlap)]
            seen = [i for i in ids if i not in seen] + seen
    return seen


@pytest.mark.parametrize("sort", SORTS)
def test_pages_walk_every_row_once_in_order(session, paged, sort):
    for descending in (False, True):
        expected = _expected(session, paged, sort, descending)
        assert len(expected) == 41
        for limit in (2, 7, 100):
            assert _walk_forward(session, limit, sort=sort, descending=descending) == expected
            assert _walk_backward(session, limit, sort=sort, descending=descending) == expected


@pytest.mark.parametrize("sort", SORTS)
def test_skip_starts_a_page_at_any_row(session, paged, sort):
    """ "Go to row N": the page after `skip` rows is the same rows as walking there."""
    for descending in (False, True):
        expected = _expected(session, paged, sort, descending)
        for skip in (0, 1, 9, 26, 40, 41, 60):
            page = recipients.recipients_page(session, "camp_p", sort=sort, descending=descending,
                                      skip=skip, limit=7)  # fmt: skip
            assert [r.id for r in page.rows] == expected[skip : skip + 7], (descending, skip)
            assert page.has_next == (skip + 7 < 41) and page.has_prev == (skip > 0)
    for kw, where, params in FILTERS[:4]:
        expected = _expected(session, paged, "opened_at", True, where, params)
        for skip in (1, 4, max(len(expected) - 1, 0)):
            page = recipients.recipients_page(session, "camp_p", sort="opened_at", descending=True,
                                      skip=skip, limit=3, **kw)  # fmt: skip
            assert [r.id for r in page.rows] == expected[skip : skip + 3], (kw, skip)


def test_skip_is_refused_with_a_cursor_or_a_negative_count(session, paged):
    first = recipients.recipients_page(session, "camp_p", limit=5)
    with pytest.raises(InvalidInput):
        recipients.recipients_page(session, "camp_p", skip=5, after=first.last_cursor)
    with pytest.raises(InvalidInput):
        recipients.recipients_page(session, "camp_p", skip=-1)


FILTERS = [
    ({"status": "sent"}, "status = 'sent'", {}),
    ({"status": RS.QUEUED}, "status = 'queued'", {}),
    ({"unopened": True}, "status = 'sent' AND opened_at IS NULL", {}),
    ({"search": "USER3"}, "email_address ILIKE '%user3%'", {}),
    ({"search": "_1"}, "position('_1' in email_address) > 0", {}),
    ({"search": "x.ex", "status": "bounced"},
     "status = 'bounced' AND email_address LIKE '%x.ex%'", {}),
    ({"unopened": True, "status": "failed"}, "FALSE", {}),
]  # fmt: skip


@pytest.mark.parametrize(("kw", "where", "params"), FILTERS)
def test_filtered_pages(session, paged, kw, where, params):
    for sort in ("id", "sent_at", "opened_at", "email_address"):
        for descending in (False, True):
            expected = _expected(session, paged, sort, descending, where, params)
            got = _walk_forward(session, 3, sort=sort, descending=descending, **kw)
            assert got == expected, (sort, descending)
            back = _walk_backward(session, 3, sort=sort, descending=descending, **kw)
            assert back == expected, (sort, descending)
            assert recipients.count_recipients(session, "camp_p", **kw) == len(expected)


def test_previous_page_is_exactly_the_page_before(session, paged):
    kw = {"sort": "opened_at", "descending": True, "limit": 5}
    p1 = recipients.recipients_page(session, "camp_p", **kw)
    p2 = recipients.recipients_page(session, "camp_p", after=p1.last_cursor, **kw)
    p3 = recipients.recipients_page(session, "camp_p", after=p2.last_cursor, **kw)
    assert recipients.recipients_page(session, "camp_p", before=p3.first_cursor, **kw) == p2
    back = recipients.recipients_page(session, "camp_p", before=p2.first_cursor, **kw)
    assert back.rows == p1.rows and not back.has_prev and back.has_next
    # A cursor in the NULL part of the order.
    tail = recipients.recipients_page(session, "camp_p", from_end=True, **kw)
    assert all(r.opened_at is None for r in tail.rows)
    assert tail.last_cursor.key is None
    before_tail = recipients.recipients_page(session, "camp_p", before=tail.first_cursor, **kw)
    after_that = recipients.recipients_page(session, "camp_p", after=before_tail.last_cursor, **kw)
    assert after_that.rows == tail.rows


def test_page_contents_and_cursor(session, paged):
    page = recipients.recipients_page(session, "camp_p", sort="sent_at", limit=2)
    assert len(page.rows) == 2 and page.has_next and not page.has_prev
    first = page.rows[0]
    assert isinstance(first, recipients.RecipientRow) and first.campaign_id == paged
    assert page.first_cursor == recipients.PageCursor("sent_at", False, first.sent_at, first.id)
    empty = recipients.recipients_page(session, "camp_p", search="no-such")
    assert empty.rows == () and empty.first_cursor is None and not empty.has_next


def test_page_input_checks(session, paged):
    page = recipients.recipients_page(session, "camp_p", sort="sent_at", limit=2)
    with pytest.raises(InvalidInput, match="another ordering"):
        recipients.recipients_page(session, "camp_p", sort="opened_at", after=page.last_cursor)
    with pytest.raises(InvalidInput, match="another ordering"):
        recipients.recipients_page(
            session, "camp_p", sort="sent_at", descending=True, after=page.last_cursor
        )
    with pytest.raises(InvalidInput, match="not both"):
        recipients.recipients_page(
            session, "camp_p", sort="sent_at", after=page.last_cursor, before=page.first_cursor
        )
    with pytest.raises(InvalidInput, match="sort"):
        recipients.recipients_page(session, "camp_p", sort="status; DROP TABLE x")
    with pytest.raises(InvalidInput, match="limit"):
        recipients.recipients_page(session, "camp_p", limit=0)
    with pytest.raises(InvalidInput, match="status"):
        recipients.recipients_page(session, "camp_p", status="delivered")
    with pytest.raises(InvalidInput, match="cursor"):
        recipients.recipients_page(session, "camp_p", after=(1, 2))


def test_pages_of_an_empty_campaign(session, world):
    page = recipients.recipients_page(session, "camp_c", sort="opened_at", from_end=True)
    assert page == recipients.RecipientPage((), None, None, has_next=False, has_prev=False)
    assert recipients.unopened_recipients(session, "camp_c") == ()
