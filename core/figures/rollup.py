"""A campaign's event figures from the rollup the database keeps (migration 0007).

The triggers of migration 0007 keep, per campaign, its events and distinct recipients per
type, human vs machine, opens and clicks per UTC hour, clicks per link and bounces per SMTP
code, exact at every commit whoever writes the events. Each read here is a primary-key range
of a few rows (a few hundred for the hours of a long campaign): milliseconds whatever the
campaign's size. core.figures.breakdowns computes the same figures from the events (the reference
the tests compare with).

Loads that skip triggers (session_replication_role = replica, e.g. core.demo.large's COPY
streams) call rebuild() afterwards, once their events are committed; core.figures.counters.recount
calls it too, to repair drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import ARRAY, Integer, cast, func, select, text
from sqlalchemy.orm import Session

from core.figures.breakdowns import BounceCode, EventCounts, HumanMachine, LinkClicks
from core.store import (
    ROLLUP_EVENT_COUNTS,
    ROLLUP_RECIPIENT_FIGURES,
    EventType,
    rollup_bounce_codes,
    rollup_campaigns,
    rollup_hours,
    rollup_links,
    rollup_recipient_keys,
    rollup_recipients,
)

C, H, L, B = rollup_campaigns.c, rollup_hours.c, rollup_links.c, rollup_bounce_codes.c


def event_counts(session: Session, campaign_pk: int) -> EventCounts:
    """Events and distinct recipients per type, human vs machine, hard and soft bounces of
    the campaign with this campaigns.id (zeros when it has no events): one row."""
    row = session.execute(select(rollup_campaigns).where(C.campaign_id == campaign_pk)).first()
    v = dict(row._mapping) if row else dict.fromkeys(rollup_campaigns.c.keys(), 0)
    return EventCounts(
        unique={t: int(v[f"{t}_recipients"]) for t in EventType},
        total={t: int(v[f"{t}_events"]) for t in EventType},
        people=HumanMachine(
            int(v["human_open_recipients"]),
            int(v["human_click_recipients"]),
            int(v["machine_open_events"]),
            int(v["machine_click_events"]),
        ),
        hard_bounces=int(v["hard_bounce_events"]),
        soft_bounces=int(v["soft_bounce_events"]),
    )


def link_clicks(session: Session, campaign_pk: int) -> tuple[LinkClicks, ...]:
    """Clicks per link (event_data.link_url), most clicked first."""
    stmt = (
        select(L.link_url, L.recipients, L.clicks)
        .where(L.campaign_id == campaign_pk)
        .order_by(L.clicks.desc(), L.link_url.asc().nulls_last())
    )
    return tuple(LinkClicks(u, int(r), int(n)) for u, r, n in session.execute(stmt))


def bounce_codes(session: Session, campaign_pk: int) -> tuple[BounceCode, ...]:
    """Bounces by kind (hard/soft/other) and SMTP code, most frequent first."""
    stmt = (
        select(B.kind, B.error_code, B.bounces, B.recipients)
        .where(B.campaign_id == campaign_pk)
        .order_by(B.bounces.desc(), B.kind, B.error_code.asc().nulls_last())
    )
    return tuple(BounceCode(k, c, int(n), int(r)) for k, c, n, r in session.execute(stmt))


def hourly(
    session: Session, campaign_pk: int, start: datetime, end: datetime
) -> dict[datetime, list[int]]:
    """{UTC hour: [opens, clicks]} for the hours in [start, end) (whole hours), hours without
    events left out."""
    stmt = select(H.hour, H.event_type, H.events).where(
        H.campaign_id == campaign_pk,
        H.hour >= start,
        H.hour < end,
        H.event_type.in_((EventType.OPEN.value, EventType.CLICK.value)),
    )
    hours: dict[datetime, list[int]] = {}
    for at, t, n in session.execute(stmt):
        hours.setdefault(at.astimezone(UTC), [0, 0])[0 if t == EventType.OPEN else 1] += int(n)
    return hours


# --- rebuilding -------------------------------------------------------------------------------


class RollupDrift(NamedTuple):
    """A figure of the rollup that disagreed with the events, and what rebuild set it to.
    For the breakdowns (by hour, link, code) the figure is their total, named when any of
    their rows was off (the total may then be the same: a count in the wrong row)."""

    campaign_id: str
    figure: str
    stored: int
    actual: int


_DETAILS = (
    ("events by hour", rollup_hours, "events"),
    ("clicks by link", rollup_links, "clicks"),
    ("bounces by code", rollup_bounce_codes, "bounces"),
)


def _state(session: Session, pks: Sequence[int] | None) -> dict[tuple[int, str], tuple]:
    """{(campaigns.id, figure): value} of the stored rollup; the breakdowns as (total,
    digest of their rows)."""
    state: dict[tuple[int, str], tuple] = {}
    where = (lambda c: c.campaign_id == func.any(cast(pks, ARRAY(Integer)))) if pks else None
    stmt = select(rollup_campaigns)
    if where is not None:
        stmt = stmt.where(where(C))
    for row in session.execute(stmt).mappings():
        for name in ROLLUP_EVENT_COUNTS + ROLLUP_RECIPIENT_FIGURES:
            state[row["campaign_id"], name] = (int(row[name]), None)
    for label, table, column in _DETAILS:
        alias = table.alias("t")
        digest = func.md5(
            func.string_agg(text("t::text"), text("',' ORDER BY t::text"))
        )  # every row and value, in a stable order
        stmt = select(alias.c.campaign_id, func.sum(alias.c[column]), digest).group_by(
            alias.c.campaign_id
        )
        if where is not None:
            stmt = stmt.where(where(alias.c))
        for pk, total, dig in session.execute(stmt):
            state[pk, label] = (int(total), dig)
    return state


def rebuild(session: Session, campaign_pk: int | None = None) -> tuple[RollupDrift, ...]:
    """Recompute the rollup of one campaign (campaigns.id) or of all from their events, in
    one set-based pass per table; returns the figures that were off. Writers of the campaign
    wait for it (its row is locked) and then add their events on top. Run it in READ
    COMMITTED (the default), after the events it should count are committed."""
    pks = [campaign_pk] if campaign_pk is not None else None
    # Locked first (as cc_rollup_rebuild does), so no writer moves the figures in between.
    session.execute(
        text(
            "SELECT id FROM campaigns WHERE CAST(:ids AS int[]) IS NULL OR id = ANY(:ids)"
            " ORDER BY id FOR NO KEY UPDATE"
        ),
        {"ids": pks},
    )
    before = _state(session, pks)
    session.execute(select(func.cc_rollup_rebuild(cast(pks, ARRAY(Integer)))))
    after = _state(session, pks)
    zero = (0, None)  # a figure without a row is 0
    off = sorted(
        k for k in before.keys() | after.keys() if before.get(k, zero) != after.get(k, zero)
    )
    if not off:
        return ()
    names: dict[int, str] = dict(
        session.execute(
            text("SELECT id, campaign_id FROM campaigns WHERE id = ANY(CAST(:ids AS int[]))"),
            {"ids": sorted({pk for pk, _ in off})},
        ).all()
    )
    return tuple(
        RollupDrift(
            names[pk],
            figure.replace("_", " "),
            before.get((pk, figure), zero)[0],
            after.get((pk, figure), zero)[0],
        )
        for pk, figure in off
        if pk in names  # rows of a deleted campaign are just gone
    )


TABLES = (
    rollup_campaigns,
    rollup_hours,
    rollup_links,
    rollup_bounce_codes,
    rollup_recipients,
    rollup_recipient_keys,
)


def discard(session: Session, campaign_pks: Sequence[int]) -> None:
    """Delete the rollup of these campaigns (campaigns.id): for deletes that skip triggers
    (session_replication_role = replica), which would leave it behind (a large campaign's is
    about a hundred MB). A normal delete of a campaign takes its rollup with it."""
    ids = cast(list(campaign_pks), ARRAY(Integer))
    for table in TABLES:
        session.execute(table.delete().where(table.c.campaign_id == func.any(ids)))
