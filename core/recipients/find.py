"""Recipient rows as read models, and find-by-email across every campaign.

find_recipients looks a person up across all campaigns: exact address through the btree on
email_address, any part of one through the trigram index (migration 0004).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.campaigns import R, check_limit, like_pattern
from core.errors import InvalidInput
from core.store import AnyRow, Campaign, CampaignStatus, RecipientStatus


@dataclass(frozen=True, slots=True)
class RecipientRow:
    id: int
    campaign_id: int  # campaigns.id (the row id), as in the table
    lead_id: int
    email_address: str
    status: RecipientStatus
    sent_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    replied_at: datetime | None
    bounced_at: datetime | None
    error_message: str | None
    created_at: datetime


ROW_COLUMNS = (
    R.id,
    R.campaign_id,
    R.lead_id,
    R.email_address,
    R.status,
    R.sent_at,
    R.opened_at,
    R.clicked_at,
    R.replied_at,
    R.bounced_at,
    R.error_message,
    R.created_at,
)


def recipient_row(row: AnyRow) -> RecipientRow:
    return RecipientRow(*row[: len(ROW_COLUMNS)])


@dataclass(frozen=True, slots=True)
class RecipientMatch:
    recipient_id: int
    campaign: str  # the campaign's string id (campaigns.campaign_id)
    campaign_name: str
    campaign_status: CampaignStatus
    email_address: str
    status: RecipientStatus
    sent_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    bounced_at: datetime | None


def check_status(status: Any) -> RecipientStatus:
    try:
        return RecipientStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in RecipientStatus)
        raise InvalidInput(f"Unknown recipient status {status!r}; use one of: {allowed}.") from None


# --- across campaigns ---------------------------------------------------------------------------

_FULL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_MATCH_COLUMNS = (
    R.id,
    Campaign.campaign_id,
    Campaign.name,
    Campaign.status,
    R.email_address,
    R.status,
    R.sent_at,
    R.opened_at,
    R.clicked_at,
    R.bounced_at,
)


def _match(row: AnyRow) -> RecipientMatch:
    return RecipientMatch(*row)


def find_recipients(
    session: Session, email: str, *, limit: int = 200
) -> tuple[RecipientMatch, ...]:
    """Recipients across all campaigns by email, newest campaign first.

    A full address is matched exactly but case-insensitively (the btree index on email_address
    for the spellings as typed and lower-cased, the trigram index for other case variants);
    when nothing matches, or the input is not a full address, a case-insensitive substring
    match (trigram index) is returned instead, ordered by address.
    """
    check_limit(limit)
    like_pattern(email)  # type and NUL checks
    text = email.strip()
    if not text:
        raise InvalidInput("Type part of an email address to search for.")
    base = select(*_MATCH_COLUMNS).join(Campaign, Campaign.id == R.campaign_id)
    if _FULL_ADDRESS.match(text):
        exact = or_(
            R.email_address.in_(sorted({text, text.lower()})),
            R.email_address.ilike(like_pattern(text, substring=False), escape="\\"),
        )
        newest = (Campaign.created_at.desc(), Campaign.id.desc(), R.id)
        stmt = base.where(exact).order_by(*newest).limit(limit)
        found = session.execute(stmt).all()
        if found:
            return tuple(_match(r) for r in found)
    stmt = (
        base.where(R.email_address.ilike(like_pattern(text), escape="\\"))
        .order_by(R.email_address, R.id)
        .limit(limit)
    )
    return tuple(_match(r) for r in session.execute(stmt))
