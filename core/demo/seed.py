"""Demo data: realistic campaigns, leads, recipients and events, seeded in one transaction.

`seed_demo(db)` adds the small demo (a dozen campaigns in every status over ~3,000 leads);
`size="large"` adds one campaign of 1,000,000 recipients and 5,000,000 events as well
(core.demo.large). Everything the demo creates is marked: its campaigns are listed in demo_campaigns
(migration 0008; their ids start with `demo_`, but so may a user's) and lead addresses end
with `.example`, so seeding twice adds nothing and `reset_demo` removes exactly the demo data
(and leads no other campaign uses).

Rows are loaded with COPY with their final timestamps; the database's triggers keep the
campaign counters (core.figures.counters), as they do for any other writer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.demo import data as d
from core.demo.copy import COPY_EVENTS, COPY_RECIPIENTS, copy_all, escape, reserve_ids
from core.demo.funnel import Funnel
from core.demo.rows import CampaignRows, campaign_times
from core.store import Database

DEFAULT_SEED = 20261126
SMALL_LEADS = 3000
LOCK_KEY = 0x43434445  # "CCDE": one demo seeder (or reset) at a time per database
SIZES = ("small", "large")

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


# --- leads -----------------------------------------------------------------------------


def _local_part(first: str, last: str, style: float) -> str:
    first, last = first.lower(), last.lower().replace("'", "")
    if style < 0.5:
        return f"{first}.{last}"
    if style < 0.7:
        return f"{first[0]}{last}"
    if style < 0.85:
        return first
    return f"{first}_{last}"


def small_leads(seed: int, now: float) -> list[tuple[str, str, str, float]]:
    """The small demo's leads: (email, name, company, created_at), the same for a seed."""
    rng = random.Random(f"{seed}:leads")
    seen: set[str] = set()
    leads = []
    while len(leads) < SMALL_LEADS:
        first, last = rng.choice(d.FIRST_NAMES), rng.choice(d.LAST_NAMES)
        company = rng.choice(d.COMPANIES)
        local = _local_part(first, last, rng.random())
        email = f"{local}@{company.domain}"
        n = 2
        while email in seen and n < 100:
            email, n = f"{local}{n}@{company.domain}", n + 1
        if email in seen:
            continue
        seen.add(email)
        leads.append((email, f"{first} {last}", company.name, now - rng.uniform(1, 400) * 86400))
    return leads


_INSERT_LEADS = """
INSERT INTO leads (email, name, company, created_at)
SELECT * FROM unnest(CAST(:emails AS text[]), CAST(:names AS text[]),
                     CAST(:companies AS text[]), CAST(:created AS timestamptz[]))
ON CONFLICT (email) DO NOTHING
"""


def ensure_small_leads(session: Session, seed: int, now: float) -> tuple[list, int]:
    """The small demo's leads as (id, escaped email) in generation order, and how many were
    created (the others already existed, from an earlier run or the user's own data)."""
    leads = small_leads(seed, now)
    emails = [e for e, _, _, _ in leads]
    created = session.execute(
        text(_INSERT_LEADS),
        {
            "emails": emails,
            "names": [n for _, n, _, _ in leads],
            "companies": [c for _, _, c, _ in leads],
            "created": [as_time(t) for _, _, _, t in leads],
        },
    ).rowcount
    ids = dict(
        session.execute(
            text("SELECT email, id FROM leads WHERE email = ANY(CAST(:e AS text[]))"),
            {"e": emails},
        ).all()
    )
    return [(ids[e], escape(e)) for e in emails], created


# --- campaigns -------------------------------------------------------------------------

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
    """Insert the plans' campaign rows (no recipients yet); returns campaign_id -> id."""
    if not plans:
        return {}
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
    session.execute(text(_MARK_DEMO), {"pks": [pk for _, pk in rows]})
    return dict(rows)


def load_campaigns(
    session: Session,
    plans: list[d.CampaignPlan],
    leads: list[tuple[int, str]],
    seed: int,
    now: float,
    *,
    funnels: Callable[[d.CampaignPlan], Funnel] | None = None,
) -> tuple[int, int]:
    """Insert the campaigns with recipients drawn from `leads` and their events, in the
    session's transaction (two COPY statements in all); `funnels` may share funnels between
    plans (building one takes a few milliseconds). Returns (recipients, events)."""
    pks = insert_campaigns(session, plans, now)
    raw = session.connection().connection.driver_connection
    rids = iter(reserve_ids(raw, "campaign_recipients", sum(p.recipients for p in plans)))
    recipients: list[str] = []
    events: list[str] = []
    n_recipients = n_events = 0
    for plan in plans:
        if not plan.recipients:
            continue
        rng = random.Random(f"{seed}:{plan.slug}")
        chosen = sorted(rng.sample(leads, plan.recipients))  # added in lead id order
        funnel = None if funnels is None else funnels(plan)
        rows = CampaignRows(plan, pks[d.DEMO_PREFIX + plan.slug], now, rng, funnel=funnel)
        ids = [next(rids) for _ in chosen]
        for chunk in rows.chunks(ids, chosen, size=len(ids)):
            recipients.append(chunk.recipients)
            events.append(chunk.events)
            n_recipients += chunk.n_recipients
            n_events += chunk.n_events
    copy_all(raw, COPY_RECIPIENTS, recipients)
    copy_all(raw, COPY_EVENTS, events)
    return n_recipients, n_events


# --- seeding ---------------------------------------------------------------------------


def seed_small(
    db: Database, *, seed: int = DEFAULT_SEED, now: datetime | None = None, progress=no_progress
) -> DemoResult:
    """The small demo, in one transaction; campaigns already there are skipped."""
    started = time.monotonic()
    t_now = epoch(now)
    with db.transaction() as session:
        lock(session)
        leads, created = ensure_small_leads(session, seed, t_now)
        present = taken_campaign_ids(session)
        plans = [p for p in d.SMALL_CAMPAIGNS if d.DEMO_PREFIX + p.slug not in present]
        skipped = tuple(d.DEMO_PREFIX + p.slug for p in d.SMALL_CAMPAIGNS if p not in plans)
        recipients, events = load_campaigns(session, plans, leads, seed, t_now)
    progress(
        f"small demo: {len(plans)} campaigns, {created:,} new leads, {recipients:,} recipients,"
        f" {events:,} events" + (f" ({len(skipped)} campaigns already there)" if skipped else "")
    )
    return DemoResult(len(plans), created, recipients, events, skipped, time.monotonic() - started)


def seed_demo(
    db: Database,
    *,
    size: str = "small",
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Progress = no_progress,
) -> DemoResult:
    """Seed the demo of this size (the large one includes the small one)."""
    if size not in SIZES:
        from core.errors import InvalidInput

        raise InvalidInput(f"Unknown demo size {size!r}; use small or large.")
    small = seed_small(db, seed=seed, now=now, progress=progress)
    if size == "small":
        return small
    from core.demo import large as demo_large

    large = demo_large.seed_large(db, seed=seed, now=now, progress=progress)
    return DemoResult(
        small.campaigns + large.campaigns,
        small.leads + large.leads,
        small.recipients + large.recipients,
        small.events + large.events,
        small.skipped + large.skipped,
        small.seconds + large.seconds,
    )
