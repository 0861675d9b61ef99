"""A recipient's delivery attempts (send_attempts, migration 0012; written by core.delivery):
each try at sending the message, with the relay's reply, shown on the timeline beside the
events, as the providers' delivery reports are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

_OF_RECIPIENT = text(
    "SELECT id, attempt, attempted_at, code, enhanced_status, reply, outcome, sender_id"
    " FROM send_attempts WHERE campaign_recipient_id = :rid ORDER BY attempted_at, id"
)


@dataclass(frozen=True, slots=True)
class AttemptRow:
    id: int
    attempt: int  # 1 for the first try (R, retry failed, starts again from 1)
    attempted_at: datetime
    code: int | None  # None: no reply (the connection was lost)
    enhanced_status: str | None
    reply: str  # the relay's reply as it came: "451 4.3.0 Mailbox busy"
    outcome: str  # sent, retry, failed, bounced
    sender_id: str | None


def recipient_attempts(session: Session, recipient_id: int) -> tuple[AttemptRow, ...]:
    """A recipient's delivery attempts in time order (by ix_send_attempts_recipient)."""
    return tuple(AttemptRow(*row) for row in session.execute(_OF_RECIPIENT, {"rid": recipient_id}))
