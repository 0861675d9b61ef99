"""The app on one 1,000,000-recipient campaign among 10,000 campaigns, headless.

Each figure is a median of several runs, printed beside its limit (issue 4) and beside the
same core call made directly in the same run (the baseline: what the database alone costs).
Run with `make bench`; nothing here is asserted about time.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC

import psycopg
import pytest

from core import campaigns, recipients
from core.store import Database
from tests.scratch import migrated_database
from tui.app import CampaignConsoleApp
from tui.screens.recipients import RecipientsScreen

from .frames import FrameClock, terminal_keys

BIG = int(os.environ.get("BENCH_BIG_RECIPIENTS", 1_000_000))
CAMPAIGNS = int(os.environ.get("BENCH_CAMPAIGNS", 10_000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 7))

_LOAD = [
    # One lead per big-campaign recipient.
    """INSERT INTO leads (email, name, company)
       SELECT 'person' || g || '@'
              || (ARRAY['example.com', 'mail.test', 'corp.example'])[1 + g %% 3],
              'Person ' || g, 'Company ' || (g %% 5000)
       FROM generate_series(1, %(big)s) g""",
    """INSERT INTO campaigns (campaign_id, name, status, started_at, created_at)
       SELECT 'camp_' || lpad(g::text, 6, '0'),
              CASE WHEN g = 1 THEN 'The big one'
                   ELSE (ARRAY['Sale', 'Webinar', 'Newsletter', 'Launch'])[1 + g %% 4] || ' ' || g
              END,
              CASE WHEN g = 1 THEN 'running'
                   ELSE (ARRAY['draft', 'scheduled', 'running', 'paused', 'completed'])[1 + g %% 5]
              END,
              now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval
       FROM generate_series(1, %(campaigns)s) g""",
    # The big campaign is camp_000001; its recipients' timestamps are loaded with the rows.
    """INSERT INTO campaign_recipients
           (campaign_id, lead_id, email_address, status, sent_at, opened_at, clicked_at)
       SELECT 1, l.id, l.email,
              CASE WHEN l.id %% 50 = 0 THEN 'bounced'
                   WHEN l.id %% 10 = 0 THEN 'pending' ELSE 'sent' END,
              CASE WHEN l.id %% 10 <> 0 THEN now() - ((l.id %% 1440) || ' minutes')::interval END,
              CASE WHEN l.id %% 3 = 0 AND l.id %% 10 <> 0
                   THEN now() - ((l.id %% 1000) || ' minutes')::interval END,
              CASE WHEN l.id %% 21 = 0 AND l.id %% 10 <> 0
                   THEN now() - ((l.id %% 900) || ' minutes')::interval END
       FROM leads l""",
    # A few recipients in every other campaign.
    """INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status)
       SELECT c.id, l.id, l.email, 'pending'
       FROM campaigns c JOIN leads l ON l.id BETWEEN c.id * 3 AND c.id * 3 + 2
       WHERE c.id > 1""",
]


@pytest.fixture(scope="module")
def big_url(pg_admin_url) -> Iterator[str]:
    with migrated_database(pg_admin_url, "cc_bench_tui") as url:
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            for statement in _LOAD:
                conn.execute(statement, {"big": BIG, "campaigns": CAMPAIGNS})
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
        print(
            f"\nbuilt {BIG:,} recipients, {CAMPAIGNS:,} campaigns in "
            f"{time.perf_counter() - started:.0f} s"
        )
        yield url


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    fn()  # warm: plans cached, pages in the buffer cache, as on a screen opened before
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return median_ms(samples)


async def until(predicate: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there")
        await asyncio.sleep(0.001)


def first_key(app) -> str | None:
    screen = app.screen
    if not isinstance(screen, RecipientsScreen) or screen.current_page is None:
        return None
    rows = screen.current_page.rows
    return str(rows[0].id) if rows else None


async def measure_app(
    url: str, key: str = "1", status: str = "running", search_for: str = "person4242"
) -> dict[str, float]:
    """Each figure: from the key press (or the app's start) to the first frame showing it.
    `key` is the campaign's id (shown with the `status` filter), `search_for` an address part
    typed into the recipients screen's search."""
    db = Database(url)
    enter, nxt, search, listing = [], [], [], []
    try:
        for _ in range(ROUNDS):
            app = CampaignConsoleApp(db, tz=UTC, live=False, label="bench")
            frames = FrameClock(app)
            frames.expect(lambda app=app: bool(getattr(app.screen, "summaries", None)))
            t = time.perf_counter()
            async with app.run_test(size=(120, 40)) as pilot:
                listing.append(await frames.wait() - t)
                home = app.screen
                home.action_status_filter(status)
                await until(lambda home=home: key in home.summaries)
                table = home.table
                table.move_cursor(row=table.get_row_index(key))
                await pilot.pause()

                frames.expect(lambda app=app: first_key(app) is not None)
                t = time.perf_counter()
                await pilot.press(*terminal_keys(b"\r"))
                enter.append(await frames.wait() - t)
                await pilot.pause()

                before = first_key(app)
                frames.expect(lambda app=app, b=before: first_key(app) not in (None, b))
                t = time.perf_counter()
                await pilot.press(*terminal_keys(b"]"))
                nxt.append(await frames.wait() - t)
                await pilot.pause()

                screen = app.screen
                await pilot.press(*terminal_keys(b"/"))
                await pilot.press(*terminal_keys(search_for[:-1].encode()))
                await pilot.pause()
                frames.expect(
                    lambda screen=screen: (
                        screen.current_page is not None
                        and screen.page_query.search == search_for
                        and bool(screen.current_page.rows)
                        and all(search_for in r.email_address for r in screen.current_page.rows)
                    )
                )
                t = time.perf_counter()
                await pilot.press(*terminal_keys(search_for[-1].encode()))  # the last key
                search.append(await frames.wait() - t)
    finally:
        db.close()
    return {
        "enter": median_ms(enter),
        "next": median_ms(nxt),
        "search": median_ms(search),
        "listing": median_ms(listing),
    }


STARTUP = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from core import config
    from core.store import db
    from core.store import schema
    from tui.app import CampaignConsoleApp
    from tests.benchmarks.frames import FrameClock, terminal_keys
    database = db.connect(config.resolve(sys.argv[1]))
    schema.ensure_current(database.url)
    out = {}

    async def auto(pilot):
        app = pilot.app
        at = await frames.wait()
        out["first_paint_wall"] = time.time() - (time.perf_counter() - at)
        home = app.screen
        home.action_status_filter("running")
        while "1" not in home.summaries:
            await asyncio.sleep(0.002)
        home.table.move_cursor(row=home.table.get_row_index("1"))
        await pilot.press(*terminal_keys(b"\\r"))
        for _ in range(5):
            while getattr(app.screen, "current_page", None) is None:
                await asyncio.sleep(0.002)
            await pilot.press(*terminal_keys(b"]"))
            await asyncio.sleep(0.05)
        # The peak of this program's own memory (VmHWM). Not getrusage's ru_maxrss: it is kept
        # across exec and can be the parent's (pytest's, holding earlier benchmarks' data).
        status = open("/proc/self/status").read()
        peak_kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
        out["rss_mb"] = int(peak_kb) / 1024
        app.exit()

    app = CampaignConsoleApp(database, live=False)
    frames = FrameClock(app)
    frames.expect(lambda: bool(getattr(app.screen, "summaries", None)))
    app.run(headless=True, size=(120, 40), auto_pilot=auto)
    print(json.dumps(out))
    """
)


def measure_startup(url: str) -> dict[str, float]:
    """From spawning the interpreter to its first frame showing campaigns (medians)."""
    runs, paints = [], []
    for _ in range(max(3, ROUNDS // 2)):
        spawned = time.time()
        done = subprocess.run(
            [sys.executable, "-c", STARTUP, url], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        paints.append(runs[-1]["first_paint_wall"] - spawned)
    return {
        "first_paint": statistics.median(paints) * 1000,
        "rss_mb": max(r["rss_mb"] for r in runs),
        "rss_runs": [round(r["rss_mb"]) for r in runs],
    }


def recipients_figures(
    url: str, pk: int, status: str, search_for: str
) -> list[tuple[str, float, int, float]]:
    """(label, median ms, limit, core call ms) of the recipients screen and the campaign
    list for campaign `pk` (listed under `status`)."""
    db = Database(url)
    try:
        with db.reading() as s:
            base_first = timed(lambda: recipients.recipients_page(s, pk, limit=100))
            page = recipients.recipients_page(s, pk, limit=100)
            base_next = timed(lambda: recipients.recipients_page(s, pk, after=page.last_cursor))
            base_search = timed(lambda: recipients.recipients_page(s, pk, search=search_for))
            base_list = timed(
                lambda: (
                    campaigns.list_campaigns(s, limit=200),
                    campaigns.count_campaigns(s),
                )
            )
            # Last page (keyset from the end) and "go to row" (an OFFSET on the index).
            base_last = timed(lambda: recipients.recipients_page(s, pk, from_end=True))
            base_mid = timed(lambda: recipients.recipients_page(s, pk, skip=BIG // 2))
            base_end = timed(lambda: recipients.recipients_page(s, pk, skip=BIG - 100))
    finally:
        db.close()
    app = asyncio.run(measure_app(url, str(pk), status, search_for))
    rows = [
        ("Enter on the big campaign to first page", app["enter"], 300, base_first),
        ("next page", app["next"], 100, base_next),
        ("email search", app["search"], 200, base_search),
        ("campaign list first paint (app mounted)", app["listing"], 1000, base_list),
    ]
    print(
        f"\ncore alone: last page (keyset from the end) {base_last:.1f} ms; go to row "
        f"{BIG // 2 + 1:,} {base_mid:.1f} ms, to row {BIG - 99:,} {base_end:.1f} ms (OFFSET)"
    )
    return rows


def print_figures(rows: list[tuple[str, float, int, float]]) -> None:
    print(f"\n{'figure':<44}{'median ms':>10}{'limit':>8}{'core call ms':>14}")
    for label, value, limit, base in rows:
        flag = "ok" if value <= limit else "OVER"
        print(f"{label:<44}{value:>10.0f}{limit:>8}{base:>14.1f}  {flag}")


def test_tui_on_a_million_recipients(big_url):
    rows = recipients_figures(big_url, 1, "running", "person4242")
    startup = measure_startup(big_url)
    rows.append(
        ("app start to first paint (new process)", startup["first_paint"], 1500, rows[-1][3])
    )
    print_figures(rows)
    rss = f"{'app RSS after paging (MB)':<44}{startup['rss_mb']:>10.0f}{200:>8}"
    print(f"{rss}  (each run: {startup['rss_runs']})")
