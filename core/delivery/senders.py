"""The senders' heartbeats (delivery_senders, migration 0012): a running `campaigns send`
keeps one row, seen every second or so, so the console can say whether a sender is at work on
a campaign and when it last sent; the row goes when the sender stops (a killed one's row
stays, and ages: core.campaigns.senders_at_work reads them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

_HELLO = text(
    "INSERT INTO delivery_senders (id, host, pid) VALUES (:id, :host, :pid)"
    " ON CONFLICT (id) DO UPDATE SET last_seen = now()"
)
_BEAT = text(
    "UPDATE delivery_senders SET last_seen = now(), campaign_id = :campaign,"
    " last_sent_at = COALESCE(CAST(:sent AS timestamptz), last_sent_at) WHERE id = :id"
)
_BYE = text("DELETE FROM delivery_senders WHERE id = :id")


def hello(session: Session, sender_id: str, host: str, pid: int) -> None:
    session.execute(_HELLO, {"id": sender_id, "host": host, "pid": pid})


def beat(
    session: Session, sender_id: str, campaign_pk: int | None, last_sent_at: datetime | None
) -> None:
    """The sender is alive, works on this campaign (None: none), sent last at that time."""
    params = {"id": sender_id, "campaign": campaign_pk, "sent": last_sent_at}
    session.execute(_BEAT, params)


def goodbye(session: Session, sender_id: str) -> None:
    session.execute(_BYE, {"id": sender_id})
