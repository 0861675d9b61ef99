"""Machine-event rules: each rule (Python and SQL forms agree), classification when an event is
recorded (one and a batch), reclassify, and human vs machine figures in campaign_stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from core import events as machine
from core.errors import InvalidInput, NotFound
from core.events import (
    RULES,
    EventInput,
    Settings,
    Signals,
    classify,
    reclassify,
    record_event,
    record_events,
    rule_sql_matches,
)
from core.figures import campaign_stats
from core.store import EmailTracking
from tests.factories import make_campaign, make_recipients

SENT = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
LATER = SENT + timedelta(hours=1)
RULE = {r.name: r for r in RULES}
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
KELVIN = "\u212a"  # KELVIN SIGN: Python's str.lower() makes it a "k"


def _s(
    event_type="open", ua=None, ip=None, at: datetime | None = LATER, sent=SENT, seconds=2.0
) -> Signals:
    window = timedelta(seconds=seconds) if seconds else None
    return Signals(event_type, ua, ip, at, sent, window)


# (rule, signals, expected)
CASES = [
    # apple-mpp: Apple's network AND the bare agent, nothing else
    ("apple-mpp", _s(ua="Mozilla/5.0", ip="17.58.100.2"), True),
    ("apple-mpp", _s(ua="Mozilla/5.0", ip="17.0.0.1"), True),
    ("apple-mpp", _s(ua="Mozilla/5.0", ip="18.0.0.1"), False),
    ("apple-mpp", _s(ua="Mozilla/5.0", ip="16.255.255.255"), False),
    ("apple-mpp", _s(ua=IPHONE, ip="17.58.100.2"), False),  # the Mail app itself, not MPP
    ("apple-mpp", _s(ua="Mozilla/5.0 ", ip="17.58.100.2"), False),
    ("apple-mpp", _s(ua="mozilla/5.0", ip="17.58.100.2"), False),
    ("apple-mpp", _s(ua="Mozilla/5.0", ip=None), False),
    ("apple-mpp", _s(ua=None, ip="17.58.100.2"), False),
    ("apple-mpp", _s(ua="Mozilla/5.0", ip="2001:db8::17"), False),
    ("apple-mpp", _s(ua="Mozilla/5.0", ip="::ffff:17.1.2.3"), True),  # IPv4-mapped (19.15)
    ("apple-mpp", _s(ua="Mozilla/5.0", ip="::ffff:18.1.2.3"), False),
    # scanner-ua
    ("scanner-ua", _s(ua="python-requests/2.31.0"), True),
    ("scanner-ua", _s(ua="curl/8.4.0"), True),
    ("scanner-ua", _s(ua="Wget/1.21.4"), True),
    ("scanner-ua", _s(ua="Go-http-client/1.1"), True),
    ("scanner-ua", _s(ua=CHROME.replace("Chrome/", "HeadlessChrome/")), True),
    ("scanner-ua", _s(ua="facebookexternalhit/1.1 (+http://www.facebook.com/externalhit)"), True),
    ("scanner-ua", _s(ua="Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"), True),
    ("scanner-ua", _s(ua="Mozilla/5.0 (Windows NT 6.1; WOW64) BingPreview/1.0b"), True),
    ("scanner-ua", _s(ua="Barracuda Sentinel (EE)"), True),
    ("scanner-ua", _s(ua="PYTHON-REQUESTS/2.0"), True),  # any case
    ("scanner-ua", _s(ua=IPHONE), False),
    ("scanner-ua", _s(ua=CHROME), False),
    ("scanner-ua", _s(ua=GMAIL_PROXY), False),  # Gmail's proxy: a person opened it
    ("scanner-ua", _s(ua="YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy"), False),
    ("scanner-ua", _s(ua="Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0)"), False),
    ("scanner-ua", _s(ua="Mozilla/5.0 (Linux; Android 12; CUBOT KINGKONG 7) Chrome/120"), False),
    ("scanner-ua", _s(ua=f"faceboo{KELVIN}externalhit/1.1"), False),  # ASCII case folding only
    ("scanner-ua", _s(ua="curl%x"), False),  # LIKE wildcards in the data are just text
    ("scanner-ua", _s(ua=None), False),
    ("scanner-ua", _s(ua=""), False),
    # too-fast: strictly within the window either side of sent_at
    ("too-fast", _s(at=SENT + timedelta(seconds=1)), True),
    ("too-fast", _s(at=SENT), True),
    ("too-fast", _s(at=SENT + timedelta(seconds=1.999999)), True),
    ("too-fast", _s(at=SENT + timedelta(seconds=2)), False),
    ("too-fast", _s(at=SENT + timedelta(seconds=3)), False),
    ("too-fast", _s(at=SENT - timedelta(seconds=1)), True),  # clocks a second apart
    ("too-fast", _s(at=SENT - timedelta(seconds=5)), False),  # sent_at stamped late
    ("too-fast", _s(at=SENT + timedelta(seconds=1), sent=None), False),  # never sent
    ("too-fast", _s(at=SENT + timedelta(seconds=1), seconds=0), False),  # rule off
    ("too-fast", _s(at=SENT + timedelta(seconds=9), seconds=10), True),
    ("too-fast", _s("click", at=SENT + timedelta(seconds=0.5)), True),
]


def _id(case) -> str:
    name, s, expected = case
    return f"{name}-{'yes' if expected else 'no'}-{s.user_agent or s.ip_address or s.created_at}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_each_rule_in_python(case):
    name, signals, expected = case
    assert RULE[name].matches(signals) is expected


def test_each_rule_in_sql_agrees_with_python(session):
    for name, signals, expected in CASES:
        seconds = signals.window.total_seconds() if signals.window else 0
        settings = Settings(seconds, seconds)
        assert rule_sql_matches(session, RULE[name], signals, settings) is expected, (
            name,
            signals,
        )


def test_every_rule_has_a_positive_and_a_negative_case():
    for rule in RULES:
        outcomes = {expected for name, _, expected in CASES if name == rule.name}
        assert outcomes == {True, False}, rule.name


def test_classify_takes_the_first_rule_and_respects_event_types():
    apple = _s(ua="Mozilla/5.0", ip="17.1.1.1", at=SENT)  # also too fast
    assert classify(apple) == "apple-mpp"
    assert classify(apple._replace(event_type="click")) == "too-fast"  # MPP fetches no links
    assert classify(_s("click", ua="curl/8", at=SENT)) == "scanner-ua"
    assert classify(_s("reply", ua="curl/8", at=SENT)) is None
    assert classify(_s(ua=CHROME)) is None
    # Rules that need sent_at come last, so deciding the others first keeps the precedence.
    flags = [r.needs_sent_at for r in RULES]
    assert flags == sorted(flags)


def test_settings_are_checked_and_read_from_the_environment(monkeypatch):
    with pytest.raises(InvalidInput, match="seconds"):
        Settings(-1, 2)
    with pytest.raises(InvalidInput, match="seconds"):
        Settings(True, 2)
    monkeypatch.setenv(machine.TOO_FAST_ENV, "5")
    assert machine.current_settings() == Settings(5, 5)
    monkeypatch.setenv(machine.TOO_FAST_ENV, "soon")
    with pytest.raises(InvalidInput, match="CAMPAIGN_CONSOLE_TOO_FAST_SECONDS"):
        machine.current_settings()
    monkeypatch.delenv(machine.TOO_FAST_ENV)
    assert machine.current_settings() == Settings(2.0, 2.0)


# --- classification when recorded --------------------------------------------------------------


@pytest.fixture
def rids(session):
    c = make_campaign(session, "camp_machine")
    return make_recipients(session, c, 8, status="sent", sent_at=SENT)


def _data(session, event_id):
    return session.scalar(select(EmailTracking.event_data).where(EmailTracking.id == event_id))


def _all_data(session):
    return session.scalars(select(EmailTracking.event_data).order_by(EmailTracking.id)).all()


def _verdict(reason):
    return {"machine": True, "machine_reason": reason}


def test_record_event_stores_the_verdict(session, rids):
    def rec(**kw):
        kw.setdefault("created_at", LATER)
        return _data(session, record_event(session, EventInput(recipient_id=rids[0], **kw)))

    assert rec(event_type="open", user_agent="Mozilla/5.0", ip_address="17.2.3.4") == _verdict(
        "apple-mpp"
    )
    assert rec(
        event_type="click", event_data={"link_url": "https://x.test/a"}, user_agent="curl/8.1"
    ) == {"link_url": "https://x.test/a", **_verdict("scanner-ua")}
    assert rec(event_type="open", user_agent=IPHONE, ip_address="203.0.113.9") is None  # human
    assert rec(event_type="open", user_agent=GMAIL_PROXY, ip_address="66.249.84.1") is None
    # The verdict keys belong to the rules: a caller's are replaced, or dropped for a human.
    assert rec(event_type="open", event_data={"machine": True, "pixel": "p"}) == {"pixel": "p"}
    assert rec(
        event_type="open", event_data={"machine_reason": "x"}, user_agent="Wget/1.2"
    ) == _verdict("scanner-ua")
    # Other event types are never classified, whatever they carry.
    assert rec(event_type="reply", event_data={"machine": False}, user_agent="curl/8") == {
        "machine": False
    }


def test_record_event_too_fast_by_id_by_email_and_at_now(session, rids):
    fast = SENT + timedelta(seconds=1)
    by_id = record_event(session, EventInput("open", recipient_id=rids[0], created_at=fast))
    by_email_addr = session.scalar(
        text("SELECT email_address FROM campaign_recipients WHERE id = :id"), {"id": rids[1]}
    )
    by_email = record_event(
        session,
        EventInput(
            "click",
            campaign="camp_machine",
            email_address=by_email_addr,
            created_at=fast,
            event_data={"link_url": "u"},
        ),
    )
    slow = record_event(session, EventInput("open", recipient_id=rids[2], created_at=LATER))
    now_sql = text("UPDATE campaign_recipients SET sent_at = now() WHERE id = :id")
    session.execute(now_sql, {"id": rids[3]})
    at_now = record_event(session, EventInput("open", recipient_id=rids[3]))  # created_at: now()
    off = record_event(
        session,
        EventInput("open", recipient_id=rids[4], created_at=fast),
        settings=Settings.uniform(0),
    )
    edge = record_event(
        session, EventInput("open", recipient_id=rids[5], created_at=SENT + timedelta(seconds=2))
    )
    before = record_event(
        session, EventInput("click", recipient_id=rids[6], created_at=SENT - timedelta(seconds=1.5))
    )
    assert _data(session, by_id) == _verdict("too-fast")
    assert _data(session, by_email) == {"link_url": "u", **_verdict("too-fast")}
    assert _data(session, slow) is None
    assert _data(session, at_now) == _verdict("too-fast")
    assert _data(session, off) is None
    assert _data(session, edge) is None  # the window is open at both ends, as in the rule
    assert _data(session, before) == _verdict("too-fast")


def test_record_events_classifies_a_batch(session, rids, monkeypatch):
    fast = SENT + timedelta(seconds=1)
    events = [
        EventInput("open", recipient_id=rids[0], user_agent="Mozilla/5.0", ip_address="17.9.9.9"),
        EventInput("click", recipient_id=rids[1], user_agent="python-requests/2", created_at=LATER),
        EventInput("open", recipient_id=rids[2], created_at=fast, event_data={"p": 1}),
        EventInput("open", recipient_id=rids[3], created_at=LATER, user_agent=IPHONE),
        EventInput("click", recipient_id=rids[4], created_at=SENT - timedelta(seconds=1)),
        EventInput("bounce", recipient_id=rids[5], created_at=fast, user_agent="curl/1"),
        EventInput(
            "open",
            recipient_id=rids[6],
            created_at=LATER,
            event_data={"machine": True, "machine_reason": "mine"},
        ),
    ]
    assert record_events(session, events).recorded == 7
    assert _all_data(session) == [
        _verdict("apple-mpp"),
        _verdict("scanner-ua"),
        {"p": 1, **_verdict("too-fast")},
        None,
        _verdict("too-fast"),
        None,  # a bounce is never classified
        {},
    ]
    # A configured window: 10 s catches what 2 s let through; the environment sets it too.
    slowish = SENT + timedelta(seconds=5)
    record_events(
        session,
        [EventInput("open", recipient_id=rids[7], created_at=slowish)],
        settings=Settings.uniform(10),
    )
    monkeypatch.setenv(machine.TOO_FAST_ENV, "10")
    record_events(session, [EventInput("click", recipient_id=rids[7], created_at=slowish)])
    monkeypatch.setenv(machine.TOO_FAST_ENV, "1")
    record_events(session, [EventInput("click", recipient_id=rids[7], created_at=slowish)])
    assert _all_data(session)[-3:] == [_verdict("too-fast"), _verdict("too-fast"), None]


def test_record_events_by_email_reads_sent_at(session, rids):
    emails = session.scalars(
        text("SELECT email_address FROM campaign_recipients ORDER BY id")
    ).all()
    events = [
        EventInput("open", campaign="camp_machine", email_address=emails[0], created_at=SENT),
        EventInput("open", campaign="camp_machine", email_address=emails[1], created_at=LATER),
    ]
    record_events(session, events)
    assert _all_data(session) == [_verdict("too-fast"), None]


# --- reclassify --------------------------------------------------------------------------------


def _insert_raw(session, rid, event_type, at, ua=None, ip=None, data=None):
    """An event as another program writes it: plain SQL, no classification."""
    return session.execute(
        text(
            "INSERT INTO email_tracking (campaign_recipient_id, event_type, event_data,"
            " user_agent, ip_address, created_at)"
            " VALUES (:r, :t, CAST(:d AS jsonb), :ua, CAST(:ip AS inet), :at) RETURNING id"
        ),
        {"r": rid, "t": event_type, "d": data, "ua": ua, "ip": ip, "at": at},
    ).scalar_one()


def test_reclassify_applies_the_rules_to_stored_events(session, rids):
    other = make_recipients(session, make_campaign(session, "camp_other"), 1, sent_at=SENT)[0]
    a = _insert_raw(session, rids[0], "open", LATER, "Mozilla/5.0", "17.1.1.1")
    b = _insert_raw(session, rids[1], "click", LATER, "curl/8", data='{"link_url": "u"}')
    c = _insert_raw(session, rids[2], "open", SENT, data='{"machine": true}')
    d = _insert_raw(session, rids[3], "open", LATER, IPHONE, data='{"machine": true, "x": 1}')
    e = _insert_raw(session, rids[4], "open", LATER, IPHONE)
    f = _insert_raw(session, rids[5], "bounce", SENT, "curl/8")
    g = _insert_raw(session, rids[6], "open", LATER, data='"a scalar"')  # not an object: left
    h = _insert_raw(session, other, "open", LATER, "curl/8")

    assert reclassify(session, "camp_machine") == 4  # a, b, c (verdict completed), d
    assert _data(session, a) == _verdict("apple-mpp")
    assert _data(session, b) == {"link_url": "u", **_verdict("scanner-ua")}
    assert _data(session, c) == _verdict("too-fast")
    assert _data(session, d) == {"x": 1}
    assert _data(session, e) is None and _data(session, f) is None
    assert _data(session, g) == "a scalar"
    assert _data(session, h) is None  # another campaign
    assert reclassify(session, "camp_machine") == 0  # idempotent
    assert reclassify(session) == 1  # all campaigns: h

    # Turning "too-fast" off takes its verdict back, restoring what was there before.
    assert reclassify(session, settings=Settings.uniform(0)) == 1
    assert _data(session, c) is None
    with pytest.raises(NotFound):
        reclassify(session, "camp_nope")


def test_recording_and_reclassify_agree(session, rids):
    fast = SENT + timedelta(seconds=1)
    events = [
        EventInput("open", recipient_id=rids[0], user_agent="Mozilla/5.0", ip_address="17.1.1.1"),
        EventInput("click", recipient_id=rids[1], user_agent="Wget/1", created_at=LATER),
        EventInput("open", recipient_id=rids[2], created_at=fast, event_data={"k": [1]}),
        EventInput("open", recipient_id=rids[3], created_at=LATER, event_data={}),
        EventInput("open", recipient_id=rids[4], created_at=LATER),
    ]
    record_events(session, events)
    record_event(session, EventInput("click", recipient_id=rids[5], created_at=fast))
    assert reclassify(session) == 0


# --- stats -------------------------------------------------------------------------------------


def test_human_rates_are_exact(session):
    c = make_campaign(session, "camp_people")
    r = make_recipients(session, c, 10, status="sent", sent_at=SENT)
    make_recipients(session, c, 2)  # not sent: not in the denominator
    mpp = {"user_agent": "Mozilla/5.0", "ip_address": "17.1.1.1"}
    person = {"user_agent": IPHONE, "ip_address": "203.0.113.5", "created_at": LATER}
    fast = SENT + timedelta(seconds=1)
    events = [
        EventInput("open", recipient_id=r[0], **person),  # human open
        EventInput("open", recipient_id=r[0], **person),  # twice
        EventInput("open", recipient_id=r[1], **mpp),  # machine only
        EventInput("open", recipient_id=r[2], **mpp),  # machine open + human click
        EventInput("click", recipient_id=r[2], **person),
        EventInput("click", recipient_id=r[3], user_agent="curl/8", created_at=LATER),  # machine
        EventInput("open", recipient_id=r[4], created_at=fast),  # too fast, then a person
        EventInput("open", recipient_id=r[4], **person),
        EventInput("click", recipient_id=r[5], created_at=fast),  # a scanner's click only
        EventInput("open", recipient_id=r[5], **mpp),
    ]
    record_events(session, events)
    s = campaign_stats(session, "camp_people")
    assert (s.emails_sent, s.emails_opened, s.emails_clicked) == (10, 6, 3)
    assert s.open_rate == 60.0 and s.click_rate == 30.0  # the seed's rates count everything
    assert (s.human_opens, s.human_clicks) == (3, 1)  # r0, r2, r4; r2
    assert (s.human_open_rate, s.human_click_rate) == (30.0, 10.0)
    assert (s.machine_opens, s.machine_clicks) == (4, 2)  # r1, r2, r4, r5; r3, r5
    assert (s.total_opens, s.total_clicks) == (7, 3)


def test_human_rates_are_zero_when_nothing_was_sent(session):
    make_campaign(session, "camp_empty")
    s = campaign_stats(session, "camp_empty")
    assert (s.human_opens, s.human_open_rate, s.human_click_rate, s.machine_opens) == (0, 0, 0, 0)
