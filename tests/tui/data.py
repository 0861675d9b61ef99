"""Fixed data for the app's tests and snapshots: every status, hostile strings, a timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from core.models import Campaign, CampaignRecipient, EmailTracking, Lead

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
    events = [
        ("open", T0 + timedelta(hours=1), {}, apple, "203.0.113.7"),
        ("open", T0 + timedelta(hours=1, minutes=40), {}, apple, "203.0.113.7"),
        (
            "click",
            T0 + timedelta(hours=2),
            {"link_url": "https://example.com/spring?utm_source=email"},
            apple,
            "203.0.113.7",
        ),
        ("reply", T0 + timedelta(hours=5), {"subject": "Re: Spring launch"}, None, None),
    ]
    for kind, at, data, ua, ip in events:
        session.add(
            EmailTracking(
                campaign_recipient_id=ana.id,
                event_type=kind,
                event_data=data,
                user_agent=ua,
                ip_address=ip,
                created_at=at,
            )
        )
    session.add(
        EmailTracking(
            campaign_recipient_id=bounced.id,
            event_type="bounce",
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
    return {
        "spring": spring.id,
        "ana": ana.id,
        "olga": bounced.id,
        "hostile": h.id,
        "evil": evil.id,
    }
