"""core.demo."""

from core.demo.data import DEMO_PREFIX, LARGE_CAMPAIGN, LARGE_EVENTS, SMALL_CAMPAIGNS
from core.demo.indexes import drop, secondary
from core.demo.large import seed_large
from core.demo.reset import reset_demo
from core.demo.seed import DEFAULT_SEED, SIZES, has_campaigns, has_demo_campaigns, seed_demo
from core.demo.simulator import MAX_DELAY, Simulator
from core.demo.topup import seed_campaign_count

__all__ = [
    "DEFAULT_SEED",
    "DEMO_PREFIX",
    "LARGE_CAMPAIGN",
    "LARGE_EVENTS",
    "MAX_DELAY",
    "SIZES",
    "SMALL_CAMPAIGNS",
    "Simulator",
    "drop",
    "has_campaigns",
    "has_demo_campaigns",
    "reset_demo",
    "secondary",
    "seed_campaign_count",
    "seed_demo",
    "seed_large",
]
