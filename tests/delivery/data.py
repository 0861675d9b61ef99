"""Campaigns with recipients at chosen addresses, the sender's settings for tests, and the
database read back for the checks."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert, text

from core.delivery import Sender, SendSettings, Totals, parse_relay
from core.store import Campaign, CampaignRecipient, Database, Lead
from tests.delivery import messages

FAST = SendSettings(
    connections=3,
    batch_size=50,
    max_attempts=3,
    retry_base_s=0.05,
    retry_max_s=0.2,
    lease_s=5,
    flush_s=0.05,
    poll_s=0.05,
    idle_s=0.05,
    until_done=True,
)


def running_campaign(
    db: Database, campaign_id: str, emails: list[str]
) -> tuple[int, dict[str, int]]:
    """A running campaign with these recipients: its row id, and recipient id by address."""
    with db.transaction() as s:
        c = Campaign(campaign_id=campaign_id, name=campaign_id, status="running")
        s.add(c)
        s.flush()
        rows = [{"email": e, "name": e.split("@")[0]} for e in emails]
        leads = list(s.scalars(insert(Lead).returning(Lead.id), rows))
        recipients = [
            {"campaign_id": c.id, "lead_id": lid, "email_address": e}
            for lid, e in zip(leads, emails, strict=True)
        ]
        ids = list(s.scalars(insert(CampaignRecipient).returning(CampaignRecipient.id), recipients))
        return c.id, dict(zip(emails, ids, strict=True))


def send(db: Database, relay_url: str, settings: SendSettings = FAST, **changes) -> Totals:
    """Run a sender until it stops (settings.until_done: nothing left to send)."""
    from dataclasses import replace

    sender = Sender(db, parse_relay(relay_url), messages.build, replace(settings, **changes))
    return asyncio.run(sender.run())


def recipients(db: Database, campaign_pk: int) -> dict[str, tuple]:
    """status, error_message, send_attempts, sent_at, lease_owner by address."""
    with db.reading() as s:
        rows = s.execute(
            text(
                "SELECT email_address, status, error_message, send_attempts, sent_at, lease_owner"
                " FROM campaign_recipients WHERE campaign_id = :c"
            ),
            {"c": campaign_pk},
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def attempts(db: Database, recipient_id: int) -> list[tuple]:
    """(attempt, code, outcome, reply) of each attempt, in order."""
    with db.reading() as s:
        rows = s.execute(
            text(
                "SELECT attempt, code, outcome, reply FROM send_attempts"
                " WHERE campaign_recipient_id = :r ORDER BY id"
            ),
            {"r": recipient_id},
        ).all()
    return [tuple(r) for r in rows]
