"""Topping a database up to many campaigns (the TUI's benchmarks want 10,000 in all).

The extra campaigns are small (a few recipients each, drawn from the small demo's leads),
in every status, with plausible names and times, ids `demo_bulk_00001`, ... so that
`reset_demo` removes them with the rest of the demo.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import text

from core.demo import data as d
from core.demo.common import DEFAULT_SEED, Progress, epoch, lock, no_progress
from core.demo.funnel import Funnel
from core.demo.small import ensure_small_leads, load_campaigns
from core.store import Database

BULK = "bulk_"
_STATUSES = (
    ("completed", 45),
    ("draft", 16),
    ("scheduled", 9),
    ("running", 8),
    ("paused", 7),
    ("failed", 15),
)
_FUNNELS = 16  # funnels shared among the campaigns (each has its own rates and links)


def _plan(rng: random.Random, k: int) -> d.CampaignPlan:
    status = rng.choices([s for s, _ in _STATUSES], [w for _, w in _STATUSES])[0]
    theme, region = rng.choice(d.TOPUP_THEMES), rng.choice(d.TOPUP_REGIONS)
    name = f"{theme} — {region} #{k:05d}"
    created_h = -rng.uniform(2, 24 * 365)
    plan = d.CampaignPlan(
        f"{BULK}{k:05d}",
        name,
        status,
        rng.randint(3, 15),
        created_h,
        template_id=200 + k % _FUNNELS,
        open_rate=rng.uniform(0.22, 0.48),
        click_rate=rng.uniform(0.025, 0.09),
    )
    if status == "draft":
        return plan._replace(recipients=rng.randint(0, 8))
    if status == "scheduled":
        return plan._replace(scheduled_h=rng.uniform(2, 24 * 30))
    if status in ("running", "paused"):
        started_h = max(created_h, -rng.uniform(1, 48))
        return plan._replace(
            started_h=started_h, send_hours=rng.uniform(2, 60), sent_share=rng.uniform(0.3, 0.9)
        )
    started_h = min(-0.5, created_h + rng.uniform(0.5, 48))
    share = 1.0 if status == "completed" else rng.uniform(0.2, 0.8)
    return plan._replace(started_h=started_h, send_hours=rng.uniform(0.2, 4), sent_share=share)


def seed_campaign_count(
    db: Database,
    n: int,
    *,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Progress = no_progress,
) -> int:
    """Add small demo campaigns until the database has n campaigns in all (any campaigns
    count, not only the demo's); returns how many were added. One transaction."""
    t_now = epoch(now)
    with db.transaction() as session:
        lock(session)
        need = n - (session.scalar(text("SELECT count(*) FROM campaigns")) or 0)
        if need <= 0:
            return 0
        leads, _ = ensure_small_leads(session, seed, t_now)
        top = session.scalar(
            text(
                "SELECT max(CAST(substr(campaign_id, :at) AS int)) FROM campaigns"
                " WHERE campaign_id ~ :pattern"
            ),
            {"at": len(d.DEMO_PREFIX + BULK) + 1, "pattern": f"^{d.DEMO_PREFIX}{BULK}[0-9]+$"},
        )
        first = (top or 0) + 1
        rng = random.Random(f"{seed}:{BULK}{first}")
        plans = [_plan(rng, k) for k in range(first, first + need)]
        shared: dict[int, Funnel] = {}

        def funnel(plan: d.CampaignPlan) -> Funnel:
            key = (plan.template_id or 0) % _FUNNELS
            if key not in shared:
                r = random.Random(f"{seed}:{BULK}funnel:{key}")
                links = tuple(f"https://www.example.com/{p}" for p in ("offer", "blog", "docs"))
                rates = {"open_rate": plan.open_rate, "click_rate": plan.click_rate}
                shared[key] = Funnel(r, name=plan.name, links=links[: 1 + key % 3], **rates)
            return shared[key]

        recipients, events = load_campaigns(session, plans, leads, seed, t_now, funnels=funnel)
    progress(f"added {need:,} small campaigns ({recipients:,} recipients, {events:,} events)")
    return need
