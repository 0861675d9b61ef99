"""The webhook server tests' view of the database: recipients made for a test, and what the
database holds for them afterwards (events, state, suppressions, deliveries, totals)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
from sqlalchemy import text

from core.store import Database
from core.tracking.ids import message_id
from tests.factories import make_campaign, make_recipients

DOMAIN = "mail.example.org"


@dataclass(frozen=True)
class Recipient:
    id: int
    email: str
    campaign_pk: int
    campaign: str

    @property
    def message_id(self) -> str:
        return message_id(self.campaign_pk, self.id, DOMAIN)


def recipients(db: Database, count: int = 3) -> list[Recipient]:
    with db.transaction() as session:
        campaign = make_campaign(session)
        ids = make_recipients(session, campaign, count)
        emails = dict(
            session.execute(
                text("SELECT id, email_address FROM campaign_recipients WHERE id = ANY(:ids)"),
                {"ids": ids},
            ).all()
        )
        return [Recipient(i, emails[i], campaign.id, campaign.campaign_id) for i in ids]


def events(db: Database, r: Recipient) -> list[tuple]:
    with db.reading() as session:
        return list(
            session.execute(
                text(
                    "SELECT event_type, source, dedup_key, event_data FROM email_tracking"
                    " WHERE campaign_recipient_id = :r ORDER BY id"
                ),
                {"r": r.id},
            ).all()
        )


def state(db: Database, r: Recipient) -> tuple:
    with db.reading() as session:
        return session.execute(
            text(
                "SELECT status, bounced_at IS NOT NULL, error_message FROM campaign_recipients"
                " WHERE id = :r"
            ),
            {"r": r.id},
        ).one()


def suppressed(db: Database, r: Recipient) -> list[str]:
    with db.reading() as session:
        return list(
            session.scalars(
                text("SELECT reason FROM suppressions WHERE email_address = :e"), {"e": r.email}
            )
        )


def deliveries(db: Database, r: Recipient) -> list[tuple]:
    with db.reading() as session:
        return list(
            session.execute(
                text(
                    "SELECT provider, provider_event_id, detail FROM deliveries"
                    " WHERE campaign_recipient_id = :r"
                ),
                {"r": r.id},
            ).all()
        )


def totals(db: Database) -> tuple:
    with db.reading() as session:
        return session.execute(
            text(
                "SELECT (SELECT count(*) FROM email_tracking), (SELECT count(*) FROM deliveries),"
                " (SELECT count(*) FROM suppressions),"
                " (SELECT count(*) FROM campaign_recipients WHERE status <> 'pending')"
            )
        ).one()


def post(client: httpx.Client, provider: str, body: bytes | object, **headers: str):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"/api/v1/webhooks/{provider}", content=content, headers=headers)
