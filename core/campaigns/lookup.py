"""Naming a campaign: by row id or campaign_id, as typed, and the input checks reads share.

Every layer above finds its campaign through campaign_where: as an ORM row
(resolve_campaign, for writes that lock it) or as plain columns (campaign_key, for reads), so
a campaign that is not there reads the same everywhere (campaign_not_found).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.store import Campaign, CampaignRecipient

R = CampaignRecipient
MAX_LIMIT = 10_000


# --- input checks -----------------------------------------------------------------------------


def check_limit(limit: Any, maximum: int = MAX_LIMIT) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidInput(f"A limit is a whole number from 1 to {maximum:,}, not {limit!r}.")
    return limit


def check_offset(offset: Any) -> int:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"A row offset is a whole number, 0 or more, not {offset!r}.")
    return offset


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


def resolve_campaign(
    session: Session, ref: int | str, *, for_update: bool = False, key_share: bool = False
) -> Campaign:
    """The campaign named by its row id (int) or its campaign_id (str); NotFound otherwise.

    for_update locks the row (FOR UPDATE, or FOR NO KEY UPDATE with key_share). The row is
    always re-read, so counters kept by the database's triggers are never stale in the session.
    """
    stmt = select(Campaign).where(campaign_where(ref)).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update(key_share=key_share)
    campaign = session.scalar(stmt)
    if campaign is None:
        raise campaign_not_found(ref)
    return campaign


def campaign_key(session: Session, campaign: int | str) -> tuple[int, int]:
    """(campaigns.id, total_recipients) of the campaign named by row id or campaign_id.

    Plain columns, not an ORM object, so the counters are never stale in the session.
    """
    stmt = select(Campaign.id, Campaign.total_recipients).where(campaign_where(campaign))
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise campaign_not_found(campaign)
    return row.id, row.total_recipients
