"""What the demo's seeders share: their results, the lock, progress, and the demo's campaigns.

The small demo (core.demo.small), the large one (core.demo.large), the top-up
(core.demo.topup) and the reset (core.demo.reset) all take the same advisory lock, report
through a `Progress` callable, and insert or find the demo's campaign rows here: every
campaign the demo creates is listed in demo_campaigns (migration 0008), since a user's
campaign may start with `demo_` too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import CursorResult, Result, text
from sqlalchemy.orm import Session

from core.demo import data as d
from core.demo.rows import campaign_times
from core.demo.templates import ensure_templates
from core.store import Database

DEFAULT_SEED = 20261126
LOCK_KEY = 0x43434445  # "CCDE": one demo seeder (or reset) at a time per database

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DemoResult:
    campaigns: int  # campaigns created
    leads: int  # leads created
    recipients: int
    events: int
    skipped: tuple[str, ...]  # demo campaign ids that were already there
    seconds: float


@dataclass(frozen=True, slots=True)
class ResetResult:
    campaigns: int
    leads: int


def no_progress(_: str) -> None:
    pass


def epoch(value: datetime | None) -> float:
    return (value or datetime.now(UTC)).timestamp()


def as_time(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def lock(session: Session) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def raw_connection(session: Session) -> psycopg.Connection:
    """The psycopg connection under the session, in its transaction (for COPY, SET LOCAL)."""
    raw = session.connection().connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError(f"the demo loads through psycopg 3, not {type(raw).__name__}")
    return raw


def row_count(result: Result[Any]) -> int:
    """The rows an INSERT, UPDATE or DELETE touched (Session.execute is typed as returning
    a plain Result; for these statements it is a CursorResult)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"no row count in a {type(result).__name__}")
    return result.rowcount


def has_campaigns(db: Database) -> bool:
    with db.reading() as session:
        return bool(session.scalar(text("SELECT EXISTS (SELECT 1 FROM campaigns)")))


def has_demo_campaigns(db: Database) -> bool:
    with db.reading() as session:
        return bool(session.scalar(text("SELECT EXISTS (SELECT 1 FROM demo_campaigns)")))


def demo_campaign_ids(session: Session) -> set[str]:
    """The campaign ids of the campaigns the demo seeder created (demo_campaigns)."""
    rows = session.scalars(
        text("SELECT c.campaign_id FROM campaigns c JOIN demo_campaigns m ON m.campaign_id = c.id")
    )
    return set(rows)


def taken_campaign_ids(session: Session) -> set[str]:
    """Campaign ids starting with `demo_`, the demo's or a user's: the seeder skips them."""
    rows = session.scalars(
        text("SELECT campaign_id FROM campaigns WHERE starts_with(campaign_id, :p)"),
        {"p": d.DEMO_PREFIX},
    )
    return set(rows)


_INSERT_CAMPAIGNS = """
INSERT INTO campaigns (campaign_id, name, template_id, status, scheduled_at, started_at,
                       completed_at, created_at, updated_at)
SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:names AS text[]), CAST(:templates AS int[]),
                     CAST(:statuses AS text[]), CAST(:scheduled AS timestamptz[]),
                     CAST(:started AS timestamptz[]), CAST(:completed AS timestamptz[]),
                     CAST(:created AS timestamptz[]), CAST(:updated AS timestamptz[]))
RETURNING campaign_id, id
"""
_MARK_DEMO = "INSERT INTO demo_campaigns (campaign_id) SELECT unnest(CAST(:pks AS int[]))"


def insert_campaigns(session: Session, plans: list[d.CampaignPlan], now: float) -> dict[str, int]:
    """Insert the plans' campaign rows (no recipients yet), listed in demo_campaigns;
    returns campaign_id -> id."""
    if not plans:
        return {}
    ensure_templates(session, plans)
    times = [campaign_times(p, now) for p in plans]
    rows = session.execute(
        text(_INSERT_CAMPAIGNS),
        {
            "ids": [d.DEMO_PREFIX + p.slug for p in plans],
            "names": [p.name for p in plans],
            "templates": [p.template_id for p in plans],
            "statuses": [p.status for p in plans],
            "scheduled": [as_time(t.scheduled) for t in times],
            "started": [as_time(t.started) for t in times],
            "completed": [as_time(t.completed) for t in times],
            "created": [as_time(t.created) for t in times],
            "updated": [as_time(t.updated) for t in times],
        },
    ).all()
    pks = {campaign_id: pk for campaign_id, pk in rows}
    session.execute(text(_MARK_DEMO), {"pks": list(pks.values())})
    return pks
