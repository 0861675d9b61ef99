"""The small demo: a dozen campaigns in every status over ~3,000 leads, in one transaction.

Leads are drawn from core.demo.data (the same ones for a seed; addresses end with
`.example`), campaigns from its SMALL_CAMPAIGNS plans, and each campaign's recipients and
events from core.demo.rows, loaded with two COPY statements in all. `load_campaigns` is
also the top-up's (core.demo.topup) loader.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.demo import data as d
from core.demo.common import (
    DEFAULT_SEED,
    DemoResult,
    Progress,
    as_time,
    epoch,
    insert_campaigns,
    lock,
    no_progress,
    raw_connection,
    row_count,
    taken_campaign_ids,
)
from core.demo.copy import COPY_EVENTS, COPY_RECIPIENTS, copy_all, escape, reserve_ids
from core.demo.funnel import Funnel
from core.demo.rows import CampaignRows
from core.store import Database

SMALL_LEADS = 3000


class Lead(NamedTuple):
    email: str
    name: str
    company: str
    created_at: float  # epoch seconds


def _local_part(first: str, last: str, style: float) -> str:
    first, last = first.lower(), last.lower().replace("'", "")
    if style < 0.5:
        return f"{first}.{last}"
    if style < 0.7:
        return f"{first[0]}{last}"
    if style < 0.85:
        return first
    return f"{first}_{last}"


def small_leads(seed: int, now: float) -> list[Lead]:
    """The small demo's leads, the same for a seed."""
    rng = random.Random(f"{seed}:leads")
    seen: set[str] = set()
    leads: list[Lead] = []
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
        created = now - rng.uniform(1, 400) * 86400
        leads.append(Lead(email, f"{first} {last}", company.name, created))
    return leads


_INSERT_LEADS = """
INSERT INTO leads (email, name, company, created_at)
SELECT * FROM unnest(CAST(:emails AS text[]), CAST(:names AS text[]),
                     CAST(:companies AS text[]), CAST(:created AS timestamptz[]))
ON CONFLICT (email) DO NOTHING
"""


def ensure_small_leads(
    session: Session, seed: int, now: float
) -> tuple[list[tuple[int, str]], int]:
    """The small demo's leads as (id, escaped email) in generation order, and how many were
    created (the others already existed, from an earlier run or the user's own data)."""
    leads = small_leads(seed, now)
    emails = [lead.email for lead in leads]
    created = row_count(
        session.execute(
            text(_INSERT_LEADS),
            {
                "emails": emails,
                "names": [lead.name for lead in leads],
                "companies": [lead.company for lead in leads],
                "created": [as_time(lead.created_at) for lead in leads],
            },
        )
    )
    rows = session.execute(
        text("SELECT email, id FROM leads WHERE email = ANY(CAST(:e AS text[]))"), {"e": emails}
    ).all()
    ids: dict[str, int] = {email: pk for email, pk in rows}
    return [(ids[e], escape(e)) for e in emails], created


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
    raw = raw_connection(session)
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


def seed_small(
    db: Database,
    *,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Progress = no_progress,
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
