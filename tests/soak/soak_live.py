"""Soak: the simulator writes 500 times a second (sends and events) for 10 minutes while the
app runs headless in its own process. Asserted: the app's RSS grows by less than 20 MB, its log
holds no error (nor its stderr, nor an error notification), the change feed stays live, and the
time from a commit to the new figure painted stays within 250 ms median in every minute (the
live-refresh issue's figure).

    make soak        (or: .venv/bin/pytest -q -s -p no:xdist -o python_files='soak_*.py' tests/soak)

SOAK_SECONDS and SOAK_RATE change the length and the rate.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from core.demo import Simulator
from core.store import Database
from tests.scratch import migrated_database, plain_indexes_built_after

SECONDS = float(os.environ.get("SOAK_SECONDS", 600))
RATE = float(os.environ.get("SOAK_RATE", 500))
# Enough pending recipients that sending never runs out (sends are most of the writes).
RECIPIENTS = int(os.environ.get("SOAK_RECIPIENTS", max(20_000, RATE * SECONDS * 0.8)))
TICK = 0.1
RSS_LIMIT_MB = 20
LATENCY_LIMIT_MS = 250
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def soak_url(pg_admin_url) -> Iterator[str]:
    with migrated_database(pg_admin_url, "cc_soak") as url:
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            with plain_indexes_built_after(conn):
                conn.execute(
                    "INSERT INTO campaigns (campaign_id, name, status, started_at)"
                    " VALUES ('camp_soak', 'Soak: a long running campaign', 'running', now())"
                )
                conn.execute(
                    "INSERT INTO campaigns (campaign_id, name, status, completed_at)"
                    " SELECT 'camp_old' || g, 'Earlier campaign ' || g, 'completed', now()"
                    " FROM generate_series(1, 20) g"
                )
                conn.execute(
                    "INSERT INTO leads (email, name, company) SELECT 'soak' || g || '@example.com',"
                    " 'Reader ' || g, 'Company ' || (g %% 997) FROM generate_series(1, %s) g",
                    (RECIPIENTS,),
                )
                conn.execute(
                    "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)"
                    " SELECT 1, id, email FROM leads ORDER BY id"
                )
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
        print(
            f"\nloaded {RECIPIENTS:,} pending recipients in {time.perf_counter() - started:.0f} s"
        )
        yield url


def listen_floor(url: str, stop: threading.Event, arrivals: list[float]) -> None:
    """A bare LISTEN connection: when each notification arrives (the floor of any live view,
    and a gauge of how busy the machine is)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("LISTEN campaign_changes")
        while not stop.is_set():
            for _ in conn.notifies(timeout=0.2, stop_after=1):
                arrivals.append(time.time())


def simulate(url: str, seconds: float) -> tuple[list[tuple[float, int]], int, int]:
    """Run the simulator on camp_soak, a step every TICK; returns (commit time, emails_sent
    after) per step that sent something, and the totals of sends and events."""
    db = Database(url)
    sim = Simulator(db, "camp_soak", rate=RATE, seed=7)
    commits, sends, events = [], 0, 0
    started = time.monotonic()
    steps = 0
    try:
        while time.monotonic() - started < seconds:
            result = sim.step()
            committed = time.time()
            steps += 1
            sends, events = sends + result.sent, events + result.events
            if result.sent:
                with db.reading() as session:
                    sent = session.execute(
                        text("SELECT emails_sent FROM campaigns WHERE id = 1")
                    ).scalar_one()
                commits.append((committed, sent))
            time.sleep(max(0.0, started + steps * TICK - time.monotonic()))
    finally:
        db.close()
    return commits, sends, events


def test_soak_live_app_under_the_simulator(soak_url, tmp_path):
    log = tmp_path / "app.log"
    app = subprocess.Popen(
        [sys.executable, "-m", "tests.soak.headless_app", soak_url, str(SECONDS), str(log)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout.readline().strip() == "READY"
        stop, arrivals = threading.Event(), []
        listener = threading.Thread(target=listen_floor, args=(soak_url, stop, arrivals))
        listener.start()
        load_started = time.time()
        try:
            commits, sends, events = simulate(soak_url, SECONDS)
        finally:
            stop.set()
            listener.join()
        report = json.loads(app.stdout.readline())
        app.wait(timeout=60)
        stderr = app.stderr.read()
    finally:
        app.kill()

    paints = report["paints"]
    # The app stops watching SECONDS after READY: leave out the last seconds' commits.
    commits = [(t, v) for t, v in commits if t < load_started + SECONDS - 3]
    latencies: list[tuple[float, float]] = []  # (minute of the run, ms)
    floor: list[tuple[float, float]] = []
    for committed, sent in commits:
        minute = (committed - load_started) // 60
        shown = next((t for t, v in paints if v >= sent and t >= committed), None)
        if shown is not None:
            latencies.append((minute, (shown - committed) * 1000))
        heard = next((t for t in arrivals if t >= committed - 0.001), None)
        if heard is not None:
            floor.append((minute, max(0.0, (heard - committed) * 1000)))
    minutes = sorted({m for m, _ in latencies})
    per_minute = {m: statistics.median(ms for mm, ms in latencies if mm == m) for m in minutes}
    floor_minute = {m: statistics.median(ms for mm, ms in floor if mm == m) for m in minutes}
    all_ms = sorted(ms for _, ms in latencies)
    rss = [mb for _, mb in report["rss"]]
    growth = rss[-1] - rss[0]
    log_text = log.read_text() if log.exists() else ""
    errors = [line for line in log_text.splitlines() if " ERROR " in line or " CRITICAL " in line]
    bad_notes = [n for n in report["notes"] if n[0] == "error"]

    print(
        f"\nsoak: {SECONDS:.0f} s at {RATE:.0f} writes/s: {sends:,} sends and {events:,} events"
        f" ({(sends + events) / SECONDS:.0f}/s, of them {events / SECONDS:.0f} events/s),"
        f" {len(commits):,} commits that moved emails_sent, {len(latencies):,} seen painted"
    )
    print(
        f"commit -> painted: median {statistics.median(all_ms):.0f} ms,"
        f" p95 {all_ms[int(0.95 * (len(all_ms) - 1))]:.0f} ms, max {all_ms[-1]:.0f} ms;"
        f" worst minute's median {max(per_minute.values()):.0f} ms"
    )
    print("per-minute medians (ms): " + ", ".join(f"{per_minute[m]:.0f}" for m in minutes))
    print(
        "baseline, commit -> NOTIFY heard by a bare LISTEN, per-minute medians (ms): "
        + ", ".join(f"{floor_minute[m]:.0f}" for m in minutes)
    )
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"app CPU {report['cpu_percent']:.0f}% of one core; machine load average {load}")
    samples = report["rss"][:: max(1, len(rss) // 20)]
    print("app RSS (s: MB): " + ", ".join(f"{t:.0f}: {mb:.1f}" for t, mb in samples))
    print(
        f"app RSS: {rss[0]:.1f} MB at start, {rss[-1]:.1f} MB at the end"
        f" (growth {growth:+.1f} MB, peak {max(rss):.1f} MB)"
    )
    print(
        f"log: {len(log_text.splitlines())} lines, {len(errors)} errors;"
        f" notifications: {len(report['notes'])}, errors {len(bad_notes)};"
        f" feed states seen: {sorted(set(report['states']))}"
    )

    assert app.returncode == 0, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert errors == [] and bad_notes == []
    assert set(report["states"]) == {"live"}
    assert len(latencies) >= 0.9 * len(commits), "commits were not painted"
    assert growth < RSS_LIMIT_MB
    assert all(ms <= LATENCY_LIMIT_MS for ms in per_minute.values()), per_minute
