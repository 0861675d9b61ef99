"""The analytics screen on the large demo campaign (1,000,000 recipients, 5,000,000 events).

Printed: the median time from pressing A on the campaigns screen to the analytics screen's
header painted (counters and rates) and to every figure painted, beside the 1 s limit (issue
6) and beside the same core calls made directly (each part, and core.figures.report.
campaign_report, which makes them one after the other). Nothing is asserted about time.
Run with `make bench`; BENCH_ANALYTICS_RECIPIENTS / _EVENTS make it smaller.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from core import demo, figures
from core.demo import seed_large
from core.figures import activity, campaign_report
from core.store import Database
from tests.scratch import migrated_database
from tui.app import CampaignConsoleApp
from tui.screens.analytics import AnalyticsScreen

from .bench_tui import median_ms, print_figures, recipients_figures, timed, until
from .frames import FrameClock

RECIPIENTS = int(os.environ.get("BENCH_ANALYTICS_RECIPIENTS", demo.LARGE_CAMPAIGN.recipients))
EVENTS = int(os.environ.get("BENCH_ANALYTICS_EVENTS", demo.LARGE_EVENTS))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 7))
LIMIT_MS = 1000
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def large(pg_admin_url) -> Iterator[tuple[str, int]]:
    """(database url, campaigns.id) of a database holding only the large demo campaign."""
    with migrated_database(pg_admin_url, "cc_bench_an") as url:
        db = Database(url)
        try:
            result = seed_large(db, seed=7, now=NOW, recipients=RECIPIENTS, events=EVENTS)
        finally:
            db.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # a database that has been running: visibility map
            pk = conn.execute(
                "SELECT id FROM campaigns WHERE campaign_id = %s",
                (demo.DEMO_PREFIX + demo.LARGE_CAMPAIGN.slug,),
            ).fetchone()[0]
        print(
            f"\nlarge demo: {result.recipients:,} recipients, {result.events:,} events "
            f"in {result.seconds:.0f} s"
        )
        yield url, pk


async def measure_app(url: str, pk: int) -> tuple[float, float]:
    """Median ms from pressing A (the campaign selected) to the first frame showing the
    analytics screen's header (counters and rates), and to the first showing every figure."""
    db = Database(url)
    header, complete = [], []
    try:
        app = CampaignConsoleApp(db, tz=UTC, clock=lambda: NOW, live=False, label="bench")
        header_frame, complete_frame = FrameClock(app), FrameClock(app)

        def screen() -> AnalyticsScreen | None:
            return app.screen if isinstance(app.screen, AnalyticsScreen) else None

        async with app.run_test(size=(120, 40)) as pilot:
            await until(lambda: str(pk) in getattr(app.screen, "summaries", {}))
            home = app.screen
            for i in range(ROUNDS + 1):
                home.table.move_cursor(row=home.table.get_row_index(str(pk)))
                await pilot.pause()
                header_frame.expect(lambda: (s := screen()) is not None and "overview" in s.arrived)
                complete_frame.expect(
                    lambda: (s := screen()) is not None and bool(s.arrived) and not s.waiting
                )
                t = time.perf_counter()
                await pilot.press("A")
                first, every = await header_frame.wait(), await complete_frame.wait()
                if i:  # the first round warms the caches, as timed() does
                    header.append(first - t)
                    complete.append(every - t)
                await pilot.press("escape")
                await until(lambda home=home: app.screen is home)
    finally:
        db.close()
    return median_ms(header), median_ms(complete)


def test_analytics_screen_on_the_large_demo(large):
    url, pk = large
    db = Database(url)
    try:
        with db.reading() as s:
            stats = figures.campaign_stats(s, pk)
            parts = [
                ("campaign_overview (counters)", lambda: figures.campaign_overview(s, pk)),
                ("campaign_stats", lambda: figures.campaign_stats(s, pk)),
                (
                    "activity (hourly + daily)",
                    lambda: activity(s, pk, start=stats.started_at, now=NOW),
                ),
                ("link_clicks", lambda: figures.link_clicks(s, pk)),
                ("bounce_codes", lambda: figures.bounce_codes(s, pk)),
            ]
            base = {label: timed(fn) for label, fn in parts}
            whole = timed(lambda: campaign_report(s, pk, now=NOW), rounds=3)
    finally:
        db.close()
    header_ms, complete_ms = asyncio.run(measure_app(url, pk))
    rows = [
        ("A to header painted (counters, rates)", header_ms, base["campaign_overview (counters)"]),
        ("A to every figure painted", complete_ms, whole),
    ]
    print(f"\n{'figure':<46}{'median ms':>10}{'limit':>8}{'core call ms':>14}")
    for label, value, core_ms in rows:
        flag = "ok" if value <= LIMIT_MS else "OVER"
        print(f"{label:<46}{value:>10.0f}{LIMIT_MS:>8}{core_ms:>14.0f}  {flag}")
    print("core calls (each in its own worker on the screen; serially in campaign_report):")
    for label, ms in base.items():
        print(f"{'  ' + label:<46}{'':>10}{'':>8}{ms:>14.0f}")
    print(
        f"(campaign: {stats.total_recipients:,} recipients, {stats.total_opens:,} opens, "
        f"{stats.total_clicks:,} clicks, {stats.bounces:,} bounces; {ROUNDS} rounds, "
        f"load average {os.getloadavg()[0]:.1f})"
    )


def test_recipients_screen_on_the_large_demo(large):
    """Issue 5: the recipients screen on the large demo campaign meets issue 4's figures."""
    url, pk = large
    with psycopg.connect(url) as conn:
        # One recipient halfway down the campaign: its address's digits are its own.
        email = conn.execute(
            "SELECT email_address FROM campaign_recipients WHERE campaign_id = %s"
            " ORDER BY id OFFSET %s LIMIT 1",
            (pk, RECIPIENTS // 2),
        ).fetchone()[0]
    local = email.split("@", 1)[0]
    digits = local[len(local.rstrip("0123456789")) :]
    print_figures(recipients_figures(url, pk, "completed", digits))
    print(f"(large demo campaign, search for {digits!r}; load average {os.getloadavg()[0]:.1f})")
