"""Demo data: realistic campaigns, leads, recipients and events, seeded in one go.

`seed_demo(db)` adds the small demo (core.demo.small: a dozen campaigns in every status over
~3,000 leads); `size="large"` adds one campaign of 1,000,000 recipients and 5,000,000 events
as well (core.demo.large). Everything the demo creates is marked: its campaigns are listed
in demo_campaigns (migration 0008; their ids start with `demo_`, but so may a user's) and
lead addresses end with `.example`, so seeding twice adds nothing and `reset_demo`
(core.demo.reset) removes exactly the demo data (and leads no other campaign uses).

Rows are loaded with COPY with their final timestamps; the database's triggers keep the
campaign counters (core.figures.counters), as they do for any other writer.
"""

from __future__ import annotations

from datetime import datetime

from core.demo.common import DEFAULT_SEED, DemoResult, Progress, no_progress
from core.demo.large import seed_large
from core.demo.small import seed_small
from core.errors import InvalidInput
from core.store import Database

SIZES = ("small", "large")


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
        raise InvalidInput(f"Unknown demo size {size!r}; use small or large.")
    small = seed_small(db, seed=seed, now=now, progress=progress)
    if size == "small":
        return small
    large = seed_large(db, seed=seed, now=now, progress=progress)
    return DemoResult(
        small.campaigns + large.campaigns,
        small.leads + large.leads,
        small.recipients + large.recipients,
        small.events + large.events,
        small.skipped + large.skipped,
        small.seconds + large.seconds,
    )
