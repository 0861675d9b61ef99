"""Event read models: a recipient's timeline, a campaign's clicks, the latest events anywhere.

Event lists are keyset-paged on email_tracking.id (the primary key), newest or oldest first.
With a campaign filter they go through its recipients: for a campaign with few recipients,
every event of those recipients is fetched by ix_email_tracking_campaign_recipient_id and
sorted (bounded by the campaign's size); for a big one, the primary key is walked from the
newest end and each event's recipient checked by its primary key (bounded by how recent the
campaign's events are, and a big campaign's are the table's bulk).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, any_, func, select
from sqlalchemy.orm import Session

from core.campaigns import R, campaign_key, check_limit, check_offset
from core.errors import InvalidInput, NotFound
from core.events.attempts import AttemptRow, recipient_attempts
from core.events.deliveries import DeliveryRow, recipient_deliveries
from core.recipients import ROW_COLUMNS, RecipientRow, recipient_row
from core.store import AnyRow, Campaign, CampaignStatus, EmailTracking, EventSource, EventType

T = EmailTracking
# Up to this many recipients, a campaign's events are fetched by recipient and sorted.
SMALL_CAMPAIGN = 20_000


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    recipient_id: int
    campaign: str  # the campaign's string id (campaigns.campaign_id)
    email_address: str
    event_type: EventType
    event_data: dict[str, Any] | None
    user_agent: str | None
    ip_address: str | None
    created_at: datetime
    source: EventSource | None = None  # None: not recorded (events before migration 0010)


@dataclass(frozen=True, slots=True)
class Timeline:
    recipient: RecipientRow
    campaign_id_str: str
    campaign_name: str
    campaign_status: CampaignStatus
    events: tuple[EventRow, ...]
    deliveries: tuple[DeliveryRow, ...] = ()  # providers' delivery reports, in time order
    attempts: tuple[AttemptRow, ...] = ()  # the sender's delivery attempts, in time order


_EVENT_COLUMNS = (
    T.id,
    T.campaign_recipient_id,
    Campaign.campaign_id,
    R.email_address,
    T.event_type,
    T.event_data,
    T.user_agent,
    T.ip_address,
    T.created_at,
    T.source,
)


def _event_select() -> Select:
    return (
        select(*_EVENT_COLUMNS)
        .join_from(T, R, R.id == T.campaign_recipient_id)
        .join(Campaign, Campaign.id == R.campaign_id)
    )


def _event_row(row: AnyRow) -> EventRow:
    values = list(row)
    if values[7] is not None:
        values[7] = str(values[7])  # INET comes back as an ipaddress object
    return EventRow(*values)


def check_event_type(event_type: Any) -> EventType:
    try:
        return EventType(event_type)
    except ValueError:
        allowed = ", ".join(t.value for t in EventType)
        raise InvalidInput(f"Unknown event type {event_type!r}; use one of: {allowed}.") from None


def _check_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} is a whole number, not {value!r}.")
    return value


def recipient_events(
    session: Session, recipient_id: int, event_type: EventType | str | None = None
) -> tuple[EventRow, ...]:
    """A recipient's events (of one type, if given) in time order: created_at, then id.

    The seed's "all opens for a recipient". Raises NotFound for an unknown recipient.
    """
    _check_id(recipient_id, "A recipient id")
    stmt = _event_select().where(T.campaign_recipient_id == recipient_id)
    if event_type is not None:
        stmt = stmt.where(T.event_type == check_event_type(event_type))
    rows = tuple(_event_row(r) for r in session.execute(stmt.order_by(T.created_at, T.id)))
    if not rows:
        _recipient_or_not_found(session, recipient_id)
    return rows


def _recipient_or_not_found(session: Session, recipient_id: int) -> AnyRow:
    stmt = (
        select(*ROW_COLUMNS, Campaign.campaign_id, Campaign.name, Campaign.status)
        .join(Campaign, Campaign.id == R.campaign_id)
        .where(R.id == recipient_id)
    )
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise NotFound(f"No recipient with id {recipient_id}: it may have been removed.")
    return row


def recipient_timeline(session: Session, recipient_id: int) -> Timeline:
    """The recipient, their campaign, every event of theirs in (created_at, id) order, their
    deliveries and their delivery attempts."""
    _check_id(recipient_id, "A recipient id")
    row = _recipient_or_not_found(session, recipient_id)
    n = len(ROW_COLUMNS)
    return Timeline(
        recipient=recipient_row(row),
        campaign_id_str=row[n],
        campaign_name=row[n + 1],
        campaign_status=row[n + 2],
        events=recipient_events(session, recipient_id),
        deliveries=recipient_deliveries(session, recipient_id),
        attempts=recipient_attempts(session, recipient_id),
    )


def _campaign_filter(session: Session, campaign: int | str) -> Any:
    campaign_id, total = campaign_key(session, campaign)
    if total <= SMALL_CAMPAIGN:
        # An array of the campaign's recipient ids: the planner can only look their events
        # up by recipient, which for a small campaign beats walking the whole event table.
        ids = func.array(select(R.id).where(R.campaign_id == campaign_id).scalar_subquery())
        return T.campaign_recipient_id == any_(ids)
    return R.campaign_id == campaign_id


def _events(
    session: Session,
    *,
    event_type: EventType | str | None,
    campaign: int | str | None,
    id_bound: int | None,
    newest_first: bool,
    limit: int,
    offset: int = 0,
) -> tuple[EventRow, ...]:
    check_limit(limit)
    check_offset(offset)
    stmt = _event_select()
    if event_type is not None:
        stmt = stmt.where(T.event_type == check_event_type(event_type))
    if campaign is not None:
        stmt = stmt.where(_campaign_filter(session, campaign))
    if id_bound is not None:
        _check_id(id_bound, "An event id")
        stmt = stmt.where(T.id < id_bound if newest_first else T.id > id_bound)
    stmt = stmt.order_by(T.id.desc() if newest_first else T.id.asc()).limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return tuple(_event_row(r) for r in session.execute(stmt))


def latest_events(
    session: Session,
    *,
    event_type: EventType | str | None = None,
    campaign: int | str | None = None,
    before_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[EventRow, ...]:
    """The newest events across campaigns (or of one), newest first by id.

    Pass the last row's id as before_id for the next (older) page. offset skips that many
    rows first (for "go to row N": an OFFSET on the id index, so it costs N index entries).
    """
    return _events(
        session,
        event_type=event_type,
        campaign=campaign,
        id_bound=before_id,
        newest_first=True,
        limit=limit,
        offset=offset,
    )


def count_events(
    session: Session,
    *,
    event_type: EventType | str | None = None,
    campaign: int | str | None = None,
) -> int:
    """How many events latest_events would page through (one COUNT: for "last page")."""
    stmt = select(func.count()).select_from(T)
    if event_type is not None:
        stmt = stmt.where(T.event_type == check_event_type(event_type))
    if campaign is not None:
        stmt = stmt.join(R, R.id == T.campaign_recipient_id).where(
            _campaign_filter(session, campaign)
        )
    return int(session.scalar(stmt) or 0)


def events_since(
    session: Session, after_id: int, *, campaign: int | str | None = None, limit: int = 1000
) -> tuple[EventRow, ...]:
    """Events with id > after_id, oldest first: what a live log appends since it last looked."""
    return _events(
        session,
        event_type=None,
        campaign=campaign,
        id_bound=after_id,
        newest_first=False,
        limit=limit,
    )


def campaign_clicks(
    session: Session, campaign: int | str, *, before_id: int | None = None, limit: int = 1000
) -> tuple[EventRow, ...]:
    """The seed's "all clicks for a campaign", newest first by id; before_id pages on.

    Newest first because that is the cheap end for a big campaign (see the module notes).
    """
    return _events(
        session,
        event_type=EventType.CLICK,
        campaign=campaign,
        id_bound=before_id,
        newest_first=True,
        limit=limit,
    )
