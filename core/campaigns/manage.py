"""Campaigns: create, edit, delete, look up and list (duplicating one, recipients and all, is
core.recipients.duplicate). The lifecycle is core.campaigns.lifecycle, the read model
core.campaigns.summary; the package (core.campaigns) exports all three.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.campaigns.lifecycle import (
    check_future,
    current_time,
)
from core.campaigns.lookup import campaign_text_where, resolve_campaign
from core.campaigns.summary import CampaignSummary, load_summary
from core.errors import Conflict, InvalidInput
from core.store import Campaign, CampaignRecipient, CampaignStatus, User
from core.times import check_aware

NAME_MAX = 255
CAMPAIGN_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_CAMPAIGN_ID_CONSTRAINTS = {"campaigns_campaign_id_key", "ix_campaigns_campaign_id"}


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET = _Unset.UNSET
"""Default of edit_campaign's fields: "leave as it is" (None means "clear")."""


# --- validation ---------------------------------------------------------------------------


def clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A campaign needs a name; it can't be empty.")
    name = name.strip()
    if len(name) > NAME_MAX:
        raise InvalidInput(
            f"A campaign name can be at most {NAME_MAX} characters; this one has {len(name)}."
        )
    if "\x00" in name:
        raise InvalidInput("A campaign name can't contain a NUL character (\\x00).")
    if not name.isascii():
        try:
            name.encode()
        except UnicodeEncodeError:
            raise InvalidInput("The campaign name is not valid Unicode text.") from None
    return name


def check_campaign_id(campaign_id: Any) -> str:
    if not isinstance(campaign_id, str) or not CAMPAIGN_ID_PATTERN.fullmatch(campaign_id):
        raise InvalidInput(
            f"{campaign_id!r} can't be a campaign id: use 1 to 100 letters, digits, '_', '.'"
            " or '-' (like camp_spring_2026)."
        )
    return campaign_id


def check_template_id(template_id: Any) -> int | None:
    if template_id is None:
        return None
    if isinstance(template_id, bool) or not isinstance(template_id, int):
        raise InvalidInput(f"A template id is a whole number, not {template_id!r}.")
    if not 0 <= template_id <= 2**31 - 1:
        raise InvalidInput(f"Template id {template_id} is out of range (0 to 2147483647).")
    return template_id


_TEMPLATE = text("SELECT 1 FROM templates WHERE id = :id FOR KEY SHARE")


def check_template_exists(session: Session, template_id: int | None) -> None:
    """Refuse a template_id no template has (the row is locked against a delete meanwhile)."""
    if template_id is not None and session.execute(_TEMPLATE, {"id": template_id}).first() is None:
        raise InvalidInput(
            f"No template with id {template_id}: `campaigns template list` shows them."
        )


def _duplicate_id(campaign_id: str) -> Conflict:
    return Conflict(
        f"A campaign with id {campaign_id!r} already exists; choose another id or leave it"
        " empty to have one generated."
    )


def _new_campaign_id(session: Session) -> str:
    for _ in range(10):
        candidate = f"camp_{secrets.token_hex(4)}"
        if session.scalar(select(Campaign.id).where(Campaign.campaign_id == candidate)) is None:
            return candidate
    raise Conflict("Could not generate a free campaign id; give one explicitly.")


# --- writes -------------------------------------------------------------------------------


def create_campaign(
    session: Session,
    *,
    name: str,
    campaign_id: str | None = None,
    template_id: int | None = None,
    scheduled_at: datetime | None = None,
    created_by: int | None = None,
) -> CampaignSummary:
    """A new draft campaign. Conflict if campaign_id is taken; InvalidInput for bad fields."""
    name = clean_name(name)
    template_id = check_template_id(template_id)
    check_template_exists(session, template_id)
    if scheduled_at is not None:
        check_aware(scheduled_at, "scheduled_at")
    if created_by is not None:
        if isinstance(created_by, bool) or not isinstance(created_by, int):
            raise InvalidInput(f"created_by is a user id (a whole number), not {created_by!r}.")
        if session.get(User, created_by) is None:
            raise InvalidInput(f"No user with id {created_by}; created_by must name a user.")
    if campaign_id is None:
        campaign_id = _new_campaign_id(session)
    else:
        check_campaign_id(campaign_id)
        if session.scalar(select(Campaign.id).where(Campaign.campaign_id == campaign_id)):
            raise _duplicate_id(campaign_id)
    row = Campaign(
        campaign_id=campaign_id,
        name=name,
        template_id=template_id,
        scheduled_at=scheduled_at,
        created_by=created_by,
        status=CampaignStatus.DRAFT,
    )
    try:
        # A savepoint, so losing a race to a concurrent insert leaves the caller's
        # transaction usable.
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        diag = getattr(exc.orig, "diag", None)  # psycopg's; another driver may have none
        if getattr(diag, "constraint_name", None) in _CAMPAIGN_ID_CONSTRAINTS:
            raise _duplicate_id(campaign_id) from exc
        raise
    return load_summary(session, row.id)


def edit_campaign(
    session: Session,
    campaign: int | str,
    *,
    name: str | _Unset = UNSET,
    template_id: int | _Unset | None = UNSET,
    scheduled_at: datetime | _Unset | None = UNSET,
    now: datetime | None = None,
) -> CampaignSummary:
    """Change only the fields given. A scheduled campaign's time must stay in the future."""
    if name is not UNSET:
        name = clean_name(name)
    if template_id is not UNSET:
        template_id = check_template_id(template_id)
    if scheduled_at not in (UNSET, None):
        check_aware(scheduled_at, "scheduled_at")
    now = current_time(now)
    c = resolve_campaign(session, campaign, for_update=True)
    if scheduled_at is not UNSET and scheduled_at != c.scheduled_at:
        if c.status == CampaignStatus.SCHEDULED:
            if scheduled_at is None:
                raise InvalidInput(
                    f"Campaign {c.campaign_id} is scheduled, so it needs a time; unschedule it"
                    " to make it a draft without one."
                )
            check_future(c.campaign_id, scheduled_at, now)
        elif c.status != CampaignStatus.DRAFT:
            raise InvalidInput(
                f"Can't change the schedule of {c.campaign_id}: it is {c.status}; only a draft"
                " or scheduled campaign's time can change."
            )
        c.scheduled_at = scheduled_at
    if name is not UNSET:
        c.name = name
    if template_id is not UNSET and template_id != c.template_id:
        check_template_exists(session, template_id)
        c.template_id = template_id
    return load_summary(session, c.id)


def delete_campaign(session: Session, campaign: int | str) -> int:
    """Delete the campaign; its recipients and their events go with it (FK cascade).

    Returns how many recipients were deleted.
    """
    c = resolve_campaign(session, campaign, for_update=True)
    recipients = session.scalar(
        select(func.count())
        .select_from(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == c.id)
    )
    session.execute(delete(Campaign).where(Campaign.id == c.id))
    return int(recipients or 0)


# --- reads --------------------------------------------------------------------------------

_RATES = {
    "open_rate": Campaign.open_rate,
    "click_rate": Campaign.click_rate,
    "reply_rate": Campaign.reply_rate,
    "bounce_rate": Campaign.bounce_rate,
}
ORDERABLE: tuple[str, ...] = (*Campaign.__table__.columns.keys(), *_RATES)


def _statuses(status: CampaignStatus | str | Iterable[CampaignStatus | str]) -> list[str]:
    values = [status] if isinstance(status, str) else list(status)
    try:
        return [CampaignStatus(v).value for v in values]
    except ValueError:
        raise InvalidInput(
            f"Unknown campaign status in {status!r}; use one of "
            f"{', '.join(s.value for s in CampaignStatus)}."
        ) from None


def _filters(
    status: CampaignStatus | str | Iterable[CampaignStatus | str] | None,
    search: str | None,
    created_by: int | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(Campaign.__table__.c.status.in_(_statuses(status)))
    if search is not None and search.strip():
        where.append(campaign_text_where(search))
    if created_by is not None:
        where.append(Campaign.created_by == created_by)
    return where


def _order_column(order_by: str) -> SQLColumnExpression[Any]:
    if order_by in _RATES:
        return _RATES[order_by]
    if order_by in Campaign.__table__.columns:
        return Campaign.__table__.c[order_by]
    raise InvalidInput(f"Can't order campaigns by {order_by!r}; use one of {', '.join(ORDERABLE)}.")


def list_campaigns(
    session: Session,
    *,
    status: CampaignStatus | str | Iterable[CampaignStatus | str] | None = None,
    search: str | None = None,
    created_by: int | None = None,
    order_by: str = "created_at",
    descending: bool = True,
    limit: int = 500,
    offset: int = 0,
) -> list[CampaignSummary]:
    """One page of campaigns. search is part of the name (any case) or the start of the
    campaign id (core.campaigns.lookup.campaign_text_where); ties in
    order_by are broken by id, and empty values (NULL) sort last either way."""
    key = _order_column(order_by)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInput(f"limit must be a whole number >= 0, not {limit!r}.")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"offset must be a whole number >= 0, not {offset!r}.")
    primary = key.desc() if descending else key.asc()
    tie = Campaign.id.desc() if descending else Campaign.id.asc()
    stmt = (
        select(Campaign)
        .where(*_filters(status, search, created_by))
        .order_by(primary.nulls_last(), tie)
        .limit(limit)
        .offset(offset)
        .execution_options(populate_existing=True)
    )
    return [CampaignSummary.of(c) for c in session.scalars(stmt)]


def count_campaigns(
    session: Session,
    *,
    status: CampaignStatus | str | Iterable[CampaignStatus | str] | None = None,
    search: str | None = None,
    created_by: int | None = None,
) -> int:
    stmt = select(func.count()).select_from(Campaign).where(*_filters(status, search, created_by))
    return int(session.scalar(stmt) or 0)


def find_campaigns(session: Session, text: str, *, limit: int = 50) -> list[CampaignSummary]:
    """The campaigns a person means by `text` (part of a name, or the start of an id): the
    exact campaign id first, then ids starting with it, then names, alphabetically.

    For every place that names a campaign by what the screen shows; at most `limit` of them.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("Type part of a campaign's name or the start of its id.")
    text = text.strip()
    found = list_campaigns(session, search=text, order_by="name", descending=False, limit=limit)
    if not any(c.campaign_id == text for c in found):
        exact = session.scalar(select(Campaign).where(Campaign.campaign_id == text))
        if exact is not None:  # past the limit among the names: it still comes first
            found = [CampaignSummary.of(exact), *found[: limit - 1]]
    first = {c.id: (c.campaign_id != text, not c.campaign_id.startswith(text)) for c in found}
    return sorted(found, key=lambda c: first[c.id])


def status_counts(session: Session) -> dict[CampaignStatus, int]:
    """How many campaigns are in each status (every status present, 0 when none)."""
    counts = dict.fromkeys(CampaignStatus, 0)
    column = Campaign.__table__.c.status
    for status, n in session.execute(select(column, func.count()).group_by(column)):
        counts[CampaignStatus(status)] = n
    return counts
