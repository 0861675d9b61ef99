"""What the event rollup (migration 0007) costs and buys.

1. Ingest with and without the rollup's INSERT trigger, on a database of 1,000,000 sent
   recipients (tests/benchmarks/conftest.py): record_event one per transaction, record_events
   in batches of 1,000, half first opens and half repeat opens and clicks (with links) of
   recipients that already opened. The trigger is switched with ALTER TABLE ... DISABLE
   TRIGGER between rounds, sides interleaved; medians and their ratio are printed. Afterwards
   a rebuild makes the rollup count the baseline's events too, and it must equal the figures
   computed from the events.
2. The large demo campaign (1,000,000 recipients, 5,000,000 events, loaded with triggers off
   as core.demo.large does): the time of rollup.rebuild, then each figure of the analytics
   screen read from the rollup beside the same figure computed from the events.

Nothing about time is asserted. BENCH_ROLLUP_SINGLE / _BATCHES / _RECIPIENTS / _EVENTS make
it smaller. Run:
    .venv/bin/pytest -q -s -p no:xdist -o python_files='bench_*.py' \
        tests/benchmarks/bench_rollup.py
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import text

from core import demo, figures
from core.demo import seed_large
from core.events import EventInput, record_event, record_events
from core.figures import activity, activity_from_events
from core.store import Database
from tests.scratch import migrated_database

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))
SINGLE = int(os.environ.get("BENCH_ROLLUP_SINGLE", 500))  # events per side and round
BATCHES = int(os.environ.get("BENCH_ROLLUP_BATCHES", 6))  # batches of 1,000 per side and round
LARGE_RECIPIENTS = int(os.environ.get("BENCH_ROLLUP_RECIPIENTS", demo.LARGE_CAMPAIGN.recipients))
LARGE_EVENTS = int(os.environ.get("BENCH_ROLLUP_EVENTS", demo.LARGE_EVENTS))
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LINKS = [f"https://example.com/offer/{i}" for i in range(12)]


class Traffic:
    """Events on recipients spread over every campaign: half first opens of recipients never
    used before, half repeat opens and clicks of recipients that opened earlier."""

    def __init__(self, conn: psycopg.Connection):
        self.rng = random.Random(20261127)
        ids = [r for (r,) in conn.execute("SELECT id FROM campaign_recipients")]
        self.rng.shuffle(ids)
        self.fresh = ids
        self.opened: list[int] = []
        self.t0 = datetime.now(UTC) - timedelta(hours=2)

    def events(self, n: int) -> list[EventInput]:
        out = []
        for i in range(n):
            at = self.t0 + timedelta(milliseconds=self.rng.randrange(7_200_000))
            if i % 2 == 0 or not self.opened:
                rid = self.fresh.pop()
                self.opened.append(rid)
                out.append(EventInput("open", recipient_id=rid, created_at=at))
            else:
                rid = self.rng.choice(self.opened)
                kind = self.rng.choice(("open", "click"))
                data = {"link_url": self.rng.choice(LINKS)} if kind == "click" else None
                out.append(EventInput(kind, recipient_id=rid, event_data=data, created_at=at))
        return out


def single(db: Database, events: list[EventInput]) -> None:
    for e in events:
        with db.transaction() as s:
            record_event(s, e)


def batches(db: Database, events: list[EventInput]) -> None:
    for i in range(0, len(events), 1000):
        with db.transaction() as s:
            record_events(s, events[i : i + 1000])


def _trigger(conn: psycopg.Connection, on: bool) -> None:
    verb = "ENABLE" if on else "DISABLE"
    conn.execute(f"ALTER TABLE email_tracking {verb} TRIGGER cc_rollup_events_inserted")
    conn.commit()


def _compare(conn, db, traffic, run: Callable, n: int) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {"without the rollup trigger": [], "with it": []}
    for on in (True, False):  # warm both
        _trigger(conn, on)
        run(db, traffic.events(min(n, 1000)))
    for r in range(ROUNDS):
        for on in (r % 2 == 0, r % 2 == 1):
            _trigger(conn, on)
            events = traffic.events(n)
            started = time.perf_counter()
            run(db, events)
            rates["with it" if on else "without the rollup trigger"].append(
                n / (time.perf_counter() - started)
            )
    _trigger(conn, True)
    return rates


def _print(title: str, rates: dict[str, list[float]]) -> None:
    base, with_it = rates["without the rollup trigger"], rates["with it"]
    ratio = statistics.median(w / b for w, b in zip(with_it, base, strict=True))
    print(f"\n{title}")
    for name, values in rates.items():
        rounds = ", ".join(f"{x:,.0f}" for x in values)
        print(f"  {name:<30}{statistics.median(values):>10,.0f} events/s   {rounds}")
    print(f"  with / without (median of per-round ratios): {ratio:.2f}")


def test_ingest_with_and_without_the_rollup_trigger(bench_db_url):
    db = Database(bench_db_url)
    conn = psycopg.connect(bench_db_url)
    try:
        traffic = Traffic(conn)
        conn.commit()
        print(f"\ningest, {ROUNDS} rounds, sides interleaved (half first opens, half repeats)")
        _print("record_event, one per transaction", _compare(conn, db, traffic, single, SINGLE))
        _print(
            "record_events, batches of 1,000",
            _compare(conn, db, traffic, batches, BATCHES * 1000),
        )
        # The baseline's events were not counted: a rebuild of everything counts them.
        started = time.perf_counter()
        with db.transaction() as s:
            drifts = figures.rebuild(s)
        events = conn.execute("SELECT count(*) FROM email_tracking").fetchone()[0]
        print(
            f"\nrollup.rebuild of all campaigns ({events:,} events): "
            f"{time.perf_counter() - started:.2f} s, {len(drifts)} figures repaired"
        )
        with db.reading() as s:
            pks = list(s.scalars(text("SELECT id FROM campaigns ORDER BY id LIMIT 3")))
            for pk in pks:
                assert figures.campaign_stats(s, pk) == figures.campaign_stats_from_events(
                    s, pk
                )
                assert figures.link_clicks(s, pk) == figures.link_clicks_from_events(s, pk)
    finally:
        conn.close()
        db.close()


def _ms(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    fn()
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def test_figures_of_the_large_demo_from_the_rollup(pg_admin_url):
    with migrated_database(pg_admin_url, "cc_bench_rollup") as url:
        db = Database(url)
        try:
            loaded = seed_large(
                db, seed=7, now=NOW, recipients=LARGE_RECIPIENTS, events=LARGE_EVENTS
            )
            with db.reading() as s:
                pk = s.scalar(
                    text("SELECT id FROM campaigns WHERE campaign_id = :c"),
                    {"c": demo.DEMO_PREFIX + demo.LARGE_CAMPAIGN.slug},
                )
            started = time.perf_counter()
            with db.transaction() as s:
                figures.rebuild(s, pk)
            rebuilt = time.perf_counter() - started
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
                sizes = conn.execute(
                    "SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM"
                    " pg_stat_user_tables WHERE relname LIKE 'rollup%' ORDER BY relname"
                ).fetchall()
            print(
                f"\nlarge demo: {loaded.recipients:,} recipients, {loaded.events:,} events loaded "
                f"in {loaded.seconds:.0f} s; rollup.rebuild of the campaign: {rebuilt:.1f} s"
            )
            for table, rows, size in sizes:
                print(f"  {table:<24}{rows:>12,} rows {size / 2**20:>9.1f} MiB")
            with db.reading() as s:
                start = figures.campaign_overview(s, pk).started_at
                pairs = [
                    (
                        "campaign_stats",
                        lambda: figures.campaign_stats(s, pk),
                        lambda: figures.campaign_stats_from_events(s, pk),
                    ),
                    (
                        "activity (hourly + daily)",
                        lambda: activity(s, pk, start=start, now=NOW),
                        lambda: activity_from_events(s, pk, start=start, now=NOW),
                    ),
                    (
                        "link_clicks",
                        lambda: figures.link_clicks(s, pk),
                        lambda: figures.link_clicks_from_events(s, pk),
                    ),
                    (
                        "bounce_codes",
                        lambda: figures.bounce_codes(s, pk),
                        lambda: figures.bounce_codes_from_events(s, pk),
                    ),
                ]
                print(f"  {'figure':<30}{'rollup ms':>12}{'from events ms':>16}")
                for label, from_rollup, from_events in pairs:
                    assert from_rollup() == from_events(), label
                    fast, slow = _ms(from_rollup), _ms(from_events, rounds=3)
                    print(f"  {label:<30}{fast:>12.1f}{slow:>16.0f}")
        finally:
            db.close()
