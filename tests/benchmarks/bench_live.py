"""Live rates: commit → new rate painted, with 1,000 events/s being written; the app's CPU.

The app runs headless in its own process (so its CPU time is its own) and notes the first
frame (tests/benchmarks/frames.py: composed and encoded for a terminal) showing each new value
of the campaign's emails_opened; this process writes events through
core.events.record at 1,000 events/s in 10 commits a second and notes when each commit landed and
the counter it left. Latency = first paint showing that value (or later) minus the commit.
Baseline, same run: a bare LISTEN connection's commit → notification time (the floor any
live view pays), and a 1 s poller's expected staleness (what listmonk does).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from core.events import EventInput, record_events
from core.store import Database
from tests.scratch import migrated_database

RECIPIENTS = int(os.environ.get("BENCH_LIVE_RECIPIENTS", 100_000))
RATE = int(os.environ.get("BENCH_LIVE_RATE", 1000))  # events per second
TICKS = 10  # commits per second
IDLE_S = float(os.environ.get("BENCH_LIVE_IDLE", 8))
LOAD_S = float(os.environ.get("BENCH_LIVE_LOAD", 15))


@pytest.fixture(scope="module")
def live_url(pg_admin_url) -> Iterator[str]:
    with migrated_database(pg_admin_url, "cc_bench_live") as url:
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO leads (email) SELECT 'r' || g || '@live.test'"
                " FROM generate_series(1, %s) g",
                (RECIPIENTS,),
            )
            conn.execute(
                "INSERT INTO campaigns (campaign_id, name, status, started_at)"
                " VALUES ('camp_live', 'Live campaign', 'running', now())"
            )
            conn.execute(
                "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status,"
                " sent_at) SELECT 1, id, email, 'sent', now() - interval '1 hour' FROM leads"
            )
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
        yield url


APP = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from core.store.changes import FeedState
    from core.store.db import Database
    from tui.app import CampaignConsoleApp
    from tests.benchmarks.frames import FrameClock

    IDLE, LOAD = float(sys.argv[2]), float(sys.argv[3])
    WATCHED = sys.argv[4] if len(sys.argv) > 4 else "1"  # the campaign's id (campaigns.id)
    paints = []

    def note():  # after each frame: the watched campaign's opens it showed, when they changed
        summary = getattr(app.screen, "summaries", {}).get(WATCHED)
        if summary is not None:
            if not paints or paints[-1][1] != summary.emails_opened:
                paints.append((time.time(), summary.emails_opened))

    async def auto(pilot):
        app = pilot.app
        while not (getattr(app.screen, "summaries", None) and app.feed_status
                   and app.feed_status.state is FeedState.LIVE):
            await asyncio.sleep(0.01)
        await asyncio.sleep(2.0)  # start-up work (first queries, layout) is not idling
        print("READY", flush=True)
        cpu, wall = time.process_time(), time.time()
        await asyncio.sleep(IDLE)
        idle = (time.process_time() - cpu) / (time.time() - wall) * 100
        print("LOAD", flush=True)
        cpu, wall = time.process_time(), time.time()
        await asyncio.sleep(LOAD)
        load = (time.process_time() - cpu) / (time.time() - wall) * 100
        await asyncio.sleep(1.0)  # the last commits' paints
        print(json.dumps({"idle_cpu": idle, "load_cpu": load, "paints": paints}), flush=True)
        app.exit()

    database = Database(sys.argv[1])
    app = CampaignConsoleApp(database, live=True)
    FrameClock(app, on_frame=note)
    app.run(headless=True, size=(120, 40), auto_pilot=auto)
    """
)


def listen_floor(url: str, stop: threading.Event, arrivals: list[float]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("LISTEN campaign_changes")
        while not stop.is_set():
            for _ in conn.notifies(timeout=0.2, stop_after=1):
                arrivals.append(time.time())


def write_load(url: str, seconds: float) -> list[tuple[float, int]]:
    """RATE events/s in TICKS commits a second; returns (commit time, emails_opened after)."""
    db = Database(url)
    rng = random.Random(7)
    with db.reading() as s:
        ids = list(s.scalars(text("SELECT id FROM campaign_recipients ORDER BY id")))
    rng.shuffle(ids)
    per_tick = RATE // TICKS
    commits = []
    start = time.perf_counter()
    n = 0
    try:
        while time.perf_counter() - start < seconds:
            batch = []
            for _ in range(per_tick):
                kind = "open" if rng.random() < 0.7 else rng.choice(["click", "open", "forward"])
                batch.append(EventInput(event_type=kind, recipient_id=ids[n % len(ids)]))
                n += 1

            def work(session, batch=batch):
                record_events(session, batch)
                return session.execute(
                    text("SELECT emails_opened FROM campaigns WHERE id = 1")
                ).scalar_one()

            opened = db.run(work)
            commits.append((time.time(), opened))
            next_tick = start + len(commits) / TICKS
            time.sleep(max(0.0, next_tick - time.perf_counter()))
    finally:
        db.close()
    return commits


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def test_live_latency_and_cpu(live_url):
    app = subprocess.Popen(
        [sys.executable, "-c", APP, live_url, str(IDLE_S), str(LOAD_S)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout.readline().strip() == "READY"
        assert app.stdout.readline().strip() == "LOAD"
        stop, arrivals = threading.Event(), []
        listener = threading.Thread(target=listen_floor, args=(live_url, stop, arrivals))
        listener.start()
        time.sleep(0.3)
        commits = write_load(live_url, LOAD_S - 1.0)
        stop.set()
        listener.join()
        report = json.loads(app.stdout.readline())
        app.wait(timeout=30)
    finally:
        app.kill()
    paints = report["paints"]
    latencies = []
    for committed_at, opened in commits:
        shown = next((t for t, v in paints if v >= opened and t >= committed_at), None)
        if shown is not None:
            latencies.append((shown - committed_at) * 1000)
    floor = []
    for committed_at, _ in commits:
        heard = next((t for t in arrivals if t >= committed_at - 0.001), None)
        if heard is not None:
            floor.append(max(0.0, (heard - committed_at) * 1000))
    events = len(commits) * (RATE // TICKS)
    print(
        f"\nwrote {events:,} events in {len(commits)} commits over {LOAD_S - 1:.0f} s;"
        f" {len(latencies)} commits seen painted, {len(paints)} paints"
    )
    print(f"{'figure':<46}{'value':>10}{'limit':>10}")
    rows = [
        ("commit → rate painted, median (ms)", statistics.median(latencies), 250),
        ("commit → rate painted, p95 (ms)", percentile(latencies, 95), 400),
        ("app CPU under load (% of one core)", report["load_cpu"], 30),
        ("app CPU idle (% of one core)", report["idle_cpu"], 2),
    ]
    for label, value, limit in rows:
        print(f"{label:<46}{value:>10.1f}{limit:>10}  {'ok' if value <= limit else 'OVER'}")
    print(f"{'baseline: commit → NOTIFY heard, median (ms)':<46}{statistics.median(floor):>10.1f}")
    print(f"{'baseline: a 1 s poller, mean staleness (ms)':<46}{500.0:>10.1f}")
    assert latencies, "no commit was seen painted"
