"""Event figures beyond the counters, computed from the events themselves: per type, human vs
machine opens and clicks, clicks per link, bounces by SMTP code, opens and clicks per hour.

These are the reference: the screens read the same figures from the rollup the database keeps
(core.figures.rollup, migration 0007), which tests/core/test_rollup.py checks equals these after
every kind of write. Each function aggregates one campaign's events through its recipients: time
proportional to its events.

"Human" and "machine" follow the verdict core.events.machine stored in event_data when the event was
recorded (or by reclassify).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    ColumnElement,
    Subquery,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from core.store import CampaignRecipient, EmailTracking, EventType

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
class LinkClicks:
    url: str | None  # event_data.link_url; None for clicks that didn't name one
    unique_clicks: int
    total_clicks: int


@dataclass(frozen=True, slots=True)
class EventCounts:
    """A campaign's events per type: unique[t] = recipients with at least one, total[t] =
    events; plus human vs machine, and bounce events by kind (event_data.bounce_type)."""

    unique: dict[EventType, int]
    total: dict[EventType, int]
    people: HumanMachine
    hard_bounces: int = 0
    soft_bounces: int = 0


@contextmanager
def aggregating(session: Session) -> Iterator[None]:
    """Planner settings for an aggregate over a campaign's events that reads event columns
    outside the indexes (created_at, event_data), restored afterwards.

    For a big campaign the planner likes a merge join that walks the events in recipient
    order, a random heap read per event (many seconds on millions); a hash join over one
    pass is several times faster, and more work_mem keeps its hash tables off the disk.
    Small campaigns are unaffected: nested loops over the indexes either way. (SET LOCAL
    semantics: a rollback of the caller's transaction discards them too.)
    """
    names = ("work_mem", "enable_mergejoin")
    old = session.execute(select(*(func.current_setting(n) for n in names))).one()
    session.execute(
        select(func.set_config("work_mem", "32MB", True), func.set_config(names[1], "off", True))
    )
    yield
    session.execute(select(*(func.set_config(n, v, True) for n, v in zip(names, old, strict=True))))


def _per_recipient(
    campaign_pk: int, types: tuple[EventType, ...], *where: ColumnElement[bool]
) -> Subquery:
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
    # Bounce types (in event_data) are read from the bounce events alone.
    bounce_type = func.lower(T.event_data["bounce_type"].astext)
    bounces = (
        select(
            func.count().filter(bounce_type.in_(HARD_BOUNCES)),
            func.count().filter(bounce_type.in_(SOFT_BOUNCES)),
        )
        .join(R, R.id == T.campaign_recipient_id)
        .where(R.campaign_id == campaign_pk, T.event_type == EventType.BOUNCE)
    )
    hard, soft = session.execute(bounces).one()
    return EventCounts(
        unique={t: row[2 * i] for i, t in enumerate(types)},
        total={t: row[2 * i + 1] for i, t in enumerate(types)},
        people=HumanMachine(*row[2 * len(types) :]),
        hard_bounces=int(hard),
        soft_bounces=int(soft),
    )


def human_machine(session: Session, campaign_pk: int) -> HumanMachine:
    """Human and machine opens/clicks of the campaign with this campaigns.id (event_counts)."""
    return event_counts(session, campaign_pk).people


def bounce_codes_from_events(session: Session, campaign_pk: int) -> tuple[BounceCode, ...]:
    """The bounces of the campaign with this campaigns.id by kind (hard/soft/other) and SMTP
    code, most frequent first."""
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


def link_clicks_from_events(session: Session, campaign_pk: int) -> tuple[LinkClicks, ...]:
    """Clicks per link (event_data.link_url) of the campaign with this campaigns.id, most
    clicked first."""
    url = T.event_data["link_url"].astext
    per_recipient = (
        select(url.label("url"), T.campaign_recipient_id, func.count().label("n"))
        .join(R, R.id == T.campaign_recipient_id)
        .where(R.campaign_id == campaign_pk, T.event_type == EventType.CLICK)
        .group_by(url, T.campaign_recipient_id)
        .subquery()
    )
    total = func.sum(per_recipient.c.n)
    stmt = (
        select(per_recipient.c.url, func.count(), total)
        .group_by(per_recipient.c.url)
        .order_by(total.desc(), per_recipient.c.url.asc().nulls_last())
    )
    with aggregating(session):
        rows = session.execute(stmt).all()
    return tuple(LinkClicks(u, int(uniq), int(n)) for u, uniq, n in rows)


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # date_bin's origin: whole UTC hours


def hourly_from_events(
    session: Session, campaign_pk: int, start: datetime, end: datetime
) -> dict[datetime, list[int]]:
    """{UTC hour: [opens, clicks]} of the campaign with this campaigns.id, events in
    [start, end) (whole hours), hours without events left out."""
    # date_bin is plain arithmetic on the timestamp; date_trunc(.., 'UTC') converts time
    # zones for every event (about 1.5 times as long on the large demo's 5M events).
    hour = func.date_bin(text("interval '1 hour'"), T.created_at, EPOCH)
    events = (
        select(hour.label("hour"), T.event_type.label("t"))
        .join(R, R.id == T.campaign_recipient_id)
        .where(
            R.campaign_id == campaign_pk,
            T.event_type.in_((OPEN, CLICK)),
            T.created_at >= start,
            T.created_at < end,
        )
        .subquery()
    )
    e = events.c
    hours: dict[datetime, list[int]] = {}
    with aggregating(session):  # a hash join in memory rather than in batches on disk
        rows = session.execute(select(e.hour, e.t, func.count()).group_by(e.hour, e.t)).all()
    for at, t, n in rows:
        hours.setdefault(at.astimezone(UTC), [0, 0])[0 if t == OPEN else 1] += n
    return hours
