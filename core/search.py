"""Recipient rows as read models, the input checks reads share, and find-by-email.

find_recipients looks a person up across all campaigns: exact address through the btree on
email_address, any part of one through the trigram index (migration 0004).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.models import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus

R = CampaignRecipient
MAX_LIMIT = 10_000


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


def recipient_row(row) -> RecipientRow:
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


# --- input checks -----------------------------------------------------------------------------


def check_limit(limit: Any, maximum: int = MAX_LIMIT) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidInput(f"A limit is a whole number from 1 to {maximum:,}, not {limit!r}.")
    return limit


def check_offset(offset: Any) -> int:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"A row offset is a whole number, 0 or more, not {offset!r}.")
    return offset


def check_status(status: Any) -> RecipientStatus:
    try:
        return RecipientStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in RecipientStatus)
        raise InvalidInput(f"Unknown recipient status {status!r}; use one of: {allowed}.") from None


def like_pattern(text: Any, *, substring: bool = True) -> str:
    """A LIKE pattern matching `text` literally: %, _ and \\ in it are escaped, not wildcards."""
    if not isinstance(text, str):
        raise InvalidInput(f"Search text must be a string, not {type(text).__name__}.")
    if "\x00" in text:
        raise InvalidInput("Search text can't contain a NUL character.")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if substring else escaped


def campaign_where(campaign: Any) -> ColumnElement[bool]:
    """The condition naming a campaign by row id (int) or campaign_id (str)."""
    if isinstance(campaign, bool) or not isinstance(campaign, int | str):
        raise InvalidInput(f"A campaign is named by its id or campaign_id, not {campaign!r}.")
    column = Campaign.id if isinstance(campaign, int) else Campaign.campaign_id
    return column == campaign


# Above every character an id holds: `p <= id < p + TOP` is "id starts with p" in codepoint
# order, a range the unique index on campaign_id answers.
_TOP = "\U0010ffff"


def campaign_text_where(text: str) -> ColumnElement[bool]:
    """What a person types to find a campaign: part of its name (any case), or the start of
    its campaign id, as a screen shows it cut (`demo_year_en…`).

    The id prefix is a range on the unique index (ix_campaigns_campaign_id), with LIKE to keep
    it exact in a database whose collation is not codepoint order.
    """
    text = text.strip()
    prefix = like_pattern(text, substring=False)
    by_id = and_(
        Campaign.campaign_id >= text,
        Campaign.campaign_id < text + _TOP,
        Campaign.campaign_id.like(prefix + "%", escape="\\"),
    )
    return or_(Campaign.name.ilike(like_pattern(text), escape="\\"), by_id)


def campaign_not_found(campaign: int | str) -> NotFound:
    return NotFound(
        f"No campaign {campaign!r}: check the id (campaign ids look like camp_ab12cd34)."
    )


def campaign_key(session: Session, campaign: int | str) -> tuple[int, int]:
    """(campaigns.id, total_recipients) of the campaign named by row id or campaign_id.

    Plain columns, not an ORM object, so the counters are never stale in the session.
    """
    stmt = select(Campaign.id, Campaign.total_recipients).where(campaign_where(campaign))
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise campaign_not_found(campaign)
    return row.id, row.total_recipients


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
            return tuple(RecipientMatch(*r) for r in found)
    stmt = (
        base.where(R.email_address.ilike(like_pattern(text), escape="\\"))
        .order_by(R.email_address, R.id)
        .limit(limit)
    )
    return tuple(RecipientMatch(*r) for r in session.execute(stmt))
