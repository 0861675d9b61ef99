"""core.demo: demo data and the traffic simulator.

Seeding (`seed_demo`: the small demo of core.demo.small, and with size="large" the large
campaign of core.demo.large), topping a database up to many campaigns
(`seed_campaign_count`, core.demo.topup), removing the demo again (`reset_demo`,
core.demo.reset), and `Simulator` (core.demo.simulator, its transaction in core.demo.step),
which plays the sender and the recipients of running campaigns. What the seeders share
(results, lock, progress) is core.demo.common; the tables they draw from are core.demo.data.
Imported only by the CLI (tui.cli) and tests.
"""

from core.demo.common import (
    DEFAULT_SEED,
    DemoResult,
    Progress,
    ResetResult,
    demo_campaign_ids,
    has_campaigns,
    has_demo_campaigns,
)
from core.demo.data import DEMO_PREFIX, LARGE_CAMPAIGN, LARGE_EVENTS, SMALL_CAMPAIGNS
from core.demo.indexes import drop, secondary
from core.demo.large import seed_large
from core.demo.reset import reset_demo
from core.demo.seed import SIZES, seed_demo
from core.demo.simulator import MAX_DELAY, Simulator
from core.demo.step import StepResult
from core.demo.topup import seed_campaign_count

__all__ = [
    "DEFAULT_SEED",
    "DEMO_PREFIX",
    "LARGE_CAMPAIGN",
    "LARGE_EVENTS",
    "MAX_DELAY",
    "SIZES",
    "SMALL_CAMPAIGNS",
    "DemoResult",
    "Progress",
    "ResetResult",
    "Simulator",
    "StepResult",
    "demo_campaign_ids",
    "drop",
    "has_campaigns",
    "has_demo_campaigns",
    "reset_demo",
    "secondary",
    "seed_campaign_count",
    "seed_demo",
    "seed_large",
]
