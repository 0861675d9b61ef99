"""Event figures beyond the counters: human vs machine opens and clicks, bounces by SMTP code.

"Human" and "machine" follow the verdict core.machine stored in event_data when the event was
recorded (or by reclassify). Like core.analytics, each function aggregates one campaign's
events through its recipients.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session

from core.models import CampaignRecipient, EmailTracking, EventType
from core.search import campaign_key

T, R = EmailTracking, CampaignRecipient
OPEN, CLICK = EventType.OPEN, EventType.CLICK
HARD_BOUNCES = ("hard", "permanent")
SOFT_BOUNCES = ("soft", "transient")
# The stored verdict (a human event has no "machine" key). Written as a constant, exactly as
# the predicate of the partial index ix_email_tracking_machine, so the planner can use it.
IS_MACHINE = T.event_data.op("@>")(literal_column("""'{"machine": true}'::jsonb"""))


@dataclass(frozen=True, slots=True)
class HumanMachine:
    human_opens: int  # recipients with at least one human open or human click
    human_clicks: int  # recipients with at least one human click
    machine_opens: int  # open events judged machine
    machine_clicks: int  # click events judged machine


@dataclass(frozen=True, slots=True)
class BounceCode:
    kind: str  # "hard", "soft" or "other" (event_data.bounce_type, normalised)
    code: str | None  # event_data.error_code as text; None when the bounce gave none
    bounces: int  # bounce events
    recipients: int  # distinct recipients among them


@dataclass(frozen=True, slots=True)
class EventCounts:
    """A campaign's events per type: unique[t] = recipients with at least one, total[t] =
    events; plus human vs machine."""

    unique: dict[EventType, int]
    total: dict[EventType, int]
    people: HumanMachine


def _per_recipient(campaign_pk: int, types, *where):
    """One row per recipient with events: its number of events of each type (n_<type>)."""
    counts = [func.count().filter(T.event_type == t).label(f"n_{t.value}") for t in types]
    stmt = (
        select(T.campaign_recipient_id.label("rid"), *counts)
        .join(R, R.id == T.campaign_recipient_id)
        .where(R.campaign_id == campaign_pk, *where)
        .group_by(T.campaign_recipient_id)
    )
    if len(types) < len(EventType):
        stmt = stmt.where(T.event_type.in_(types))
    return stmt.subquery()


def event_counts(session: Session, campaign_pk: int) -> EventCounts:
    """Events per type and human vs machine for the campaign with this campaigns.id, in one
    statement that reads no event_data.

    Per recipient: its events of each type (index-only from ix_email_tracking_recipient_event)
    beside its machine opens and clicks (index-only from the partial ix_email_tracking_machine),
    both in recipient order and merge-joined. A recipient has a human open when it has more
    opens, or more clicks, than machine ones: a human click counts as a human open too, as a
    click sets opened_at (someone who clicked read the message, even if only a proxy fetched
    its pixel)."""
    types = tuple(EventType)
    every = _per_recipient(campaign_pk, types)
    machine = _per_recipient(campaign_pk, (OPEN, CLICK), IS_MACHINE)
    e, m = every.c, machine.c
    columns = []
    for t in types:
        n = e[f"n_{t.value}"]
        columns += [func.count().filter(n > 0), func.coalesce(func.sum(n), 0)]
    mo, mc = func.coalesce(m.n_open, 0), func.coalesce(m.n_click, 0)
    columns += [
        func.count().filter(or_(e.n_open > mo, e.n_click > mc)),
        func.count().filter(e.n_click > mc),
        func.coalesce(func.sum(m.n_open), 0),
        func.coalesce(func.sum(m.n_click), 0),
    ]
    stmt = select(*columns).select_from(every.outerjoin(machine, m.rid == e.rid))
    row = [int(v) for v in session.execute(stmt).one()]
    return EventCounts(
        unique={t: row[2 * i] for i, t in enumerate(types)},
        total={t: row[2 * i + 1] for i, t in enumerate(types)},
        people=HumanMachine(*row[2 * len(types) :]),
    )


def human_machine(session: Session, campaign_pk: int) -> HumanMachine:
    """Human and machine opens/clicks of the campaign with this campaigns.id (event_counts)."""
    return event_counts(session, campaign_pk).people


def bounce_codes(session: Session, campaign: int | str) -> tuple[BounceCode, ...]:
    """A campaign's bounces by kind (hard/soft/other) and SMTP code, most frequent first."""
    campaign_pk, _ = campaign_key(session, campaign)
    kind_text = func.lower(T.event_data["bounce_type"].astext)
    kind = case(
        (kind_text.in_(HARD_BOUNCES), literal("hard")),
        (kind_text.in_(SOFT_BOUNCES), literal("soft")),
        else_=literal("other"),
    )
    code = func.nullif(T.event_data["error_code"].astext, "")
    stmt = (
        select(
            kind.label("kind"),
            code.label("code"),
            func.count(),
            func.count(T.campaign_recipient_id.distinct()),
        )
        .join(R, R.id == T.campaign_recipient_id)
        .where(R.campaign_id == campaign_pk, T.event_type == EventType.BOUNCE)
        .group_by(kind, code)
        .order_by(func.count().desc(), kind, code.asc().nulls_last())
    )
    return tuple(BounceCode(k, c, int(n), int(u)) for k, c, n, u in session.execute(stmt))


__all__ = [
    "IS_MACHINE",
    "BounceCode",
    "EventCounts",
    "HumanMachine",
    "bounce_codes",
    "event_counts",
    "human_machine",
]
