"""Fixed data for the app's tests and snapshots: every status, hostile strings, a timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.store import Campaign, CampaignRecipient, Delivery, EmailTracking, Lead

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOSTILE_NAME = "[bold red]Black Friday[/] \x1b[31mred\x1b[0m"
HOSTILE_EMAIL = "[b]mallory[/b]@evil.test"
HOSTILE_UA = "Mozilla/5.0 [link=https://x.test]click[/link] \x1b]0;pwned\x07"

FIRST = [
    "ana",
    "ben",
    "chloe",
    "dev",
    "emma",
    "farid",
    "gita",
    "hugo",
    "ines",
    "jon",
    "kira",
    "liam",
    "mona",
    "nils",
    "olga",
    "pavel",
    "quinn",
    "rosa",
    "sam",
    "tara",
]


def seed(session: Session) -> dict[str, int]:
    """Returns ids worth knowing: {'spring': campaign pk, 'ana': recipient id, ...}."""
    leads = [Lead(email=f"{n}@example.com", name=n.title(), company="Acme") for n in FIRST]
    hostile = Lead(email=HOSTILE_EMAIL, name=HOSTILE_NAME, company="Evil")
    session.add_all([*leads, hostile])
    session.flush()

    def campaign(cid, name, status, **kw):
        c = Campaign(
            campaign_id=cid,
            name=name,
            status=status,
            template_id=kw.pop("tpl", None),
            created_at=kw.pop("created", T0),
            **kw,
        )
        session.add(c)
        return c

    spring = campaign(
        "camp_spring", "Spring launch", "running", started_at=T0, created=T0 - timedelta(days=3)
    )
    campaign("camp_draft", "Welcome series", "draft", created=T0 - timedelta(days=1))
    campaign(
        "camp_sched",
        "December digest",
        "scheduled",
        scheduled_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        created=T0 - timedelta(days=2),
    )
    paused = campaign(
        "camp_paused",
        "Webinar invite",
        "paused",
        started_at=T0 - timedelta(days=5),
        created=T0 - timedelta(days=6),
    )
    campaign(
        "camp_done",
        "October newsletter",
        "completed",
        started_at=T0 - timedelta(days=20),
        completed_at=T0 - timedelta(days=19),
        created=T0 - timedelta(days=21),
    )
    campaign(
        "camp_failed",
        "Broken import",
        "failed",
        started_at=T0 - timedelta(days=9),
        completed_at=T0 - timedelta(days=9),
        created=T0 - timedelta(days=10),
    )
    evil = campaign("camp_evil", HOSTILE_NAME, "draft", created=T0 - timedelta(days=4))
    session.flush()

    recipients = {}
    for i, lead in enumerate(leads):
        sent = T0 + timedelta(minutes=i) if i < 16 else None
        r = CampaignRecipient(
            campaign_id=spring.id,
            lead_id=lead.id,
            email_address=lead.email,
            status="sent" if sent else ("pending" if i < 18 else "failed"),
            sent_at=sent,
            opened_at=T0 + timedelta(hours=1, minutes=i) if i < 8 else None,
            clicked_at=T0 + timedelta(hours=2, minutes=i) if i < 3 else None,
            replied_at=T0 + timedelta(hours=5) if i == 0 else None,
            error_message="550 5.1.1 mailbox unavailable" if i >= 18 else None,
        )
        recipients[FIRST[i]] = r
    bounced = recipients["olga"]
    bounced.status, bounced.bounced_at = "bounced", T0 + timedelta(minutes=30)
    bounced.error_message = "550 5.1.1 <olga@example.com>: user unknown"
    session.add_all(recipients.values())
    h = CampaignRecipient(
        campaign_id=spring.id,
        lead_id=hostile.id,
        email_address=HOSTILE_EMAIL,
        status="sent",
        sent_at=T0,
        opened_at=T0 + timedelta(minutes=5),
        error_message="[red]not an error[/red]",
    )
    session.add(h)
    session.add(
        CampaignRecipient(
            campaign_id=paused.id,
            lead_id=leads[0].id,
            email_address=leads[0].email,
            status="sent",
            sent_at=T0,
        )
    )
    session.add(
        CampaignRecipient(campaign_id=evil.id, lead_id=hostile.id, email_address=HOSTILE_EMAIL)
    )
    session.flush()

    ana = recipients["ana"]
    apple = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
    # Sources: the endpoint's pixel and link; the reply's is not recorded (shown "—").
    events = [
        ("open", T0 + timedelta(hours=1), {}, apple, "203.0.113.7", "pixel"),
        ("open", T0 + timedelta(hours=1, minutes=40), {}, apple, "203.0.113.7", "pixel"),
        (
            "click",
            T0 + timedelta(hours=2),
            {"link_url": "https://example.com/spring?utm_source=email"},
            apple,
            "203.0.113.7",
            "link",
        ),
        ("reply", T0 + timedelta(hours=5), {"subject": "Re: Spring launch"}, None, None, None),
    ]
    for kind, at, data, ua, ip, source in events:
        session.add(
            EmailTracking(
                campaign_recipient_id=ana.id,
                event_type=kind,
                event_data=data,
                user_agent=ua,
                ip_address=ip,
                created_at=at,
                source=source,
            )
        )
    session.add(  # a provider's delivery report, on ana's timeline
        Delivery(
            campaign_recipient_id=ana.id,
            provider="ses",
            provider_event_id="0100018c-ana",
            delivered_at=T0 + timedelta(minutes=2),
            detail="250 2.0.0 OK",
        )
    )
    session.add(
        EmailTracking(
            campaign_recipient_id=bounced.id,
            event_type="bounce",
            source="ses",
            created_at=T0 + timedelta(minutes=30),
            event_data={
                "bounce_type": "permanent",
                "error_code": 550,
                "error_message": "User does not exist",
            },
        )
    )
    session.add(
        EmailTracking(
            campaign_recipient_id=h.id,
            event_type="open",
            created_at=T0 + timedelta(minutes=5),
            user_agent=HOSTILE_UA,
            ip_address="2001:db8::1",
            event_data={"note": "[bold]json[/bold] \x1b[2J", "link_url": "[link]x[/link]"},
        )
    )
    session.flush()
    tpl = (
        session.execute(
            text(
                "INSERT INTO templates (name, subject, html_body, text_body, created_at,"
                " updated_at) VALUES (:n1, :s1, :h1, NULL, :t, :t),"
                " (:n2, :s2, :h2, :x2, :t, :t) RETURNING id"
            ),
            {"t": T0, **TEMPLATES},
        )
        .scalars()
        .all()
    )
    spring.template_id = tpl[0]
    session.flush()
    return {
        "spring": spring.id,
        "template": tpl[0],
        "ana": ana.id,
        "olga": bounced.id,
        "hostile": h.id,
        "evil": evil.id,
    }


TEMPLATES = {
    "n1": "Spring launch",
    "s1": "Spring is here, {{ name }}",
    "h1": (
        "<html><head><style>.cta { font-weight: bold }</style></head><body>\n"
        "<h1>Hello {{ name }} at {{ company }}</h1>\n"
        '<p>Our <a class="cta" href="https://example.com/spring?utm_source=email&amp;'
        'utm_campaign=spring">spring range</a> is out.</p>\n'
        '<p><a href="https://shop.example.org/a/b#sizes">Sizes</a> · '
        '<a href="mailto:help@example.com">Ask us</a></p>\n'
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>\n</body></html>\n'
    ),
    "n2": "December digest",
    "s2": "Your December digest",
    "h2": "<p>The month in short, {{ name }}.</p>\n",
    "x2": "The month in short, {{ name }}.\n",
}


# -- more data for the analytics tests only (seed() above stays as it is) --------------------
OCTOBER_START = T0 - timedelta(days=20)  # camp_done's started_at
LINK_A = "https://example.com/october?utm_source=email"
LINK_B = "https://example.com/pricing"
HOSTILE_LINK = "javascript:[red]alert(1)[/red]\x1b[2J"
APPLE_MPP = {"machine": True, "machine_reason": "apple-mpp"}


def seed_analytics(session: Session) -> dict[str, int]:
    """Recipients and events for camp_done ("October newsletter"): human and machine opens and
    clicks, three links, hard and soft bounces, a complaint, unsubscribes, a reply, activity in
    its first 72 hours and after. Call after seed(). Expected figures: tests/tui/
    test_analytics_screen.py (20 recipients, 13 opened, 12 by a person, 8 clicked, 7 by a
    person, 4 bounced: 2 hard (550), 2 soft (421 and no code))."""
    october = session.query(Campaign).filter_by(campaign_id="camp_done").one()
    leads = {lead.email: lead for lead in session.query(Lead)}
    s = OCTOBER_START
    minute, hour, day = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
    ids: dict[str, int] = {"october": october.id}
    rows = []
    for i, name in enumerate(FIRST):
        sent = s + i * minute
        machine_open = sent + 10 * minute if i <= 4 or i == 12 else None
        human_open = s + (i * 6 + 1) * hour if i <= 11 else None
        opened = min((t for t in (machine_open, human_open) if t), default=None)
        clicked = {0: 2, 1: 8, 2: 14, 3: 20, 4: 26, 5: 32, 6: 38}.get(i)
        r = CampaignRecipient(
            campaign_id=october.id,
            lead_id=leads[f"{name}@example.com"].id,
            email_address=f"{name}@example.com",
            status="sent",
            sent_at=sent,
            opened_at=opened,
            clicked_at=s + clicked * hour if clicked is not None else None,
            replied_at=s + 3 * hour if i == 0 else None,
        )
        if i == 7:  # a link scanner clicked 5 s after sending: a machine click, human open later
            r.clicked_at = sent + 5 * timedelta(seconds=1)
            r.opened_at = r.clicked_at
        if i in (13, 14, 15):
            r.status = "unsubscribed"
        if i >= 16:
            r.status, r.bounced_at = "bounced", sent + minute
            r.error_message = "550 5.1.1 user unknown" if i < 18 else "421 try again later"
        rows.append(r)
    session.add_all(rows)
    session.flush()
    for name, r in zip(FIRST, rows, strict=True):
        ids[name] = r.id

    def event(i: int, kind: str, at, data=None, ua=None, ip=None) -> EmailTracking:
        return EmailTracking(
            campaign_recipient_id=rows[i].id,
            event_type=kind,
            created_at=at,
            event_data=data or {},
            user_agent=ua,
            ip_address=ip,
        )

    events = []
    for i in (0, 1, 2, 3, 4, 12):  # Apple Mail Privacy Protection fetched the pixel
        events.append(
            event(i, "open", rows[i].sent_at + 10 * minute, APPLE_MPP, "Mozilla/5.0", "17.58.0.1")
        )
    for i in range(12):  # the people, every 6 hours
        events.append(event(i, "open", s + (i * 6 + 1) * hour, ua="Thunderbird/128.0"))
    for i in range(4):  # read again on the 6th day
        events.append(event(i, "open", s + 5 * day + i * hour, ua="Thunderbird/128.0"))
    links = {0: LINK_A, 1: LINK_A, 2: LINK_A, 3: LINK_A, 4: LINK_B, 5: LINK_B, 6: HOSTILE_LINK}
    for i, url in links.items():
        at = rows[i].clicked_at
        events.append(event(i, "click", at, {"link_url": url}, ua="Thunderbird/128.0"))
    events.append(event(0, "click", s + 5 * day + hour, {"link_url": LINK_A}))
    events.append(
        event(
            7,
            "click",
            rows[7].clicked_at,
            {"link_url": LINK_B, "machine": True, "machine_reason": "scanner-ua"},
            ua="python-requests/2.31",
            ip="198.51.100.9",
        )
    )
    events.append(event(0, "reply", s + 3 * hour, {"subject": "Re: October"}))
    events.append(event(13, "unsubscribe", s + day))
    events.append(event(14, "complain", s + 2 * day))
    events.append(event(15, "unsubscribe", s + 4 * day))
    bounces = {
        16: {"bounce_type": "permanent", "error_code": 550},
        17: {"bounce_type": "hard", "error_code": "550"},
        18: {"bounce_type": "soft", "error_code": 421},
        19: {"bounce_type": "transient"},
    }
    for i, data in bounces.items():
        events.append(event(i, "bounce", rows[i].bounced_at, data))
    session.add_all(events)
    session.flush()
    # The database dated the list entries now(); date them by their events, for snapshots.
    session.execute(
        text(
            "UPDATE suppressions s SET created_at = e.created_at"
            " FROM email_tracking e WHERE e.id = s.source_event_id"
        )
    )
    return ids
