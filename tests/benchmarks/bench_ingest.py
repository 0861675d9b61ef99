"""Ingest throughput: core.events.record next to hand-written SQL with the same effects.

On a database of 1,000,000 sent recipients (tests/benchmarks/conftest.py), first opens go in
  - one at a time, one transaction each: record_event vs one hand-written statement;
  - in batches of 1,000, one transaction each: record_events vs hand-written set-based SQL.
Both sides of a pair run on the same schema (seed indexes, counter triggers) in the same run,
interleaved over several rounds; the medians and their ratio are printed. Time is not
asserted (figures depend on the machine); correctness is: every event stored, every first
open set, and the campaign counters equal a recount afterwards.

Run: .venv/bin/pytest -q -s -p no:xdist -o python_files='bench_*.py' tests/benchmarks
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy.orm import Session

from core.events import EventInput, record_event, record_events
from core.store import Database

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))
SINGLE_PER_ROUND = int(os.environ.get("BENCH_SINGLE", 1_000))  # per side and round
BATCH_SIZE = 1_000
BATCHES_PER_ROUND = int(os.environ.get("BENCH_BATCHES", 10))  # per side and round
TARGETS = {"single": 0.7, "batch": 0.8}

Event = tuple[int, dict, str, str, datetime]  # recipient id, event_data, user agent, IP, time

# --- the hand-written baselines ----------------------------------------------------------------

_RAW_ONE = """
WITH ins AS (
    INSERT INTO email_tracking
        (campaign_recipient_id, event_type, event_data, user_agent, ip_address, created_at)
    VALUES (%s, 'open', %s::jsonb, %s, %s::inet, %s)
    RETURNING campaign_recipient_id, created_at
)
UPDATE campaign_recipients r SET opened_at = ins.created_at, updated_at = now()
FROM ins WHERE r.id = ins.campaign_recipient_id AND r.opened_at IS NULL
"""

_RAW_BATCH = """
WITH ins AS (
    INSERT INTO email_tracking
        (campaign_recipient_id, event_type, event_data, user_agent, ip_address, created_at)
    SELECT rid, 'open', data, ua, ip, at
    FROM unnest(%(rid)s::int[], %(data)s::jsonb[], %(ua)s::text[], %(ip)s::inet[],
                %(at)s::timestamptz[]) AS e(rid, data, ua, ip, at)
)
UPDATE campaign_recipients r SET opened_at = f.first, updated_at = now()
FROM (
    SELECT rid, min(at) AS first
    FROM unnest(%(rid)s::int[], %(at)s::timestamptz[]) AS e(rid, at)
    GROUP BY rid ORDER BY rid  -- rows in index order: fewer page hops than hash order
) AS f
WHERE r.id = f.rid AND r.opened_at IS NULL
"""


def raw_single(conn: psycopg.Connection, events: Sequence[Event]) -> None:
    for rid, data, ua, ip, at in events:
        conn.execute(_RAW_ONE, (rid, json.dumps(data), ua, ip, at))
        conn.commit()


def raw_batches(conn: psycopg.Connection, events: Sequence[Event]) -> None:
    for chunk in _chunks(events):
        conn.execute(
            _RAW_BATCH,
            {
                "rid": [e[0] for e in chunk],
                "data": [json.dumps(e[1]) for e in chunk],
                "ua": [e[2] for e in chunk],
                "ip": [e[3] for e in chunk],
                "at": [e[4] for e in chunk],
            },
        )
        conn.commit()


# --- the service ---------------------------------------------------------------------------------


def _event(e: Event) -> EventInput:
    rid, data, ua, ip, at = e
    return EventInput(
        "open", recipient_id=rid, event_data=data, user_agent=ua, ip_address=ip, created_at=at
    )


def service_single(db: Database, events: Sequence[Event]) -> None:
    for e in events:
        with db.transaction() as session:
            record_event(session, _event(e))


def held_single(db: Database, events: Sequence[Event]) -> None:
    """The same calls without the per-transaction pool checkout and pre-ping: this isolates
    what db.transaction() itself costs next to record_event."""
    with db.engine.connect() as conn, Session(conn) as session:
        for e in events:
            record_event(session, _event(e))
            session.commit()


def service_batches(db: Database, events: Sequence[Event]) -> None:
    for chunk in _chunks(events):
        with db.transaction() as session:
            record_events(session, [_event(e) for e in chunk])


# --- measuring -----------------------------------------------------------------------------------


def _chunks(events: Sequence[Event]) -> list[Sequence[Event]]:
    return [events[i : i + BATCH_SIZE] for i in range(0, len(events), BATCH_SIZE)]


class Recipients:
    """Hands out recipient ids never used before, spread over the whole table."""

    def __init__(self, conn: psycopg.Connection, rng: random.Random):
        ids = [r for (r,) in conn.execute("SELECT id FROM campaign_recipients")]
        rng.shuffle(ids)
        self._ids = ids
        self._rng = rng
        self._t0 = datetime.now(UTC) - timedelta(hours=1)
        self.used = 0

    def events(self, n: int) -> list[Event]:
        ids = self._ids[self.used : self.used + n]
        assert len(ids) == n, "not enough recipients for this many first opens"
        self.used += n
        rng = self._rng
        return [
            (
                rid,
                {"pixel": f"p{rid % 97}", "client": "bench"},
                f"Mozilla/5.0 (bench {rid % 13})",
                f"198.51.100.{rng.randrange(1, 255)}",
                self._t0 + timedelta(milliseconds=rng.randrange(3_600_000)),
            )
            for rid in ids
        ]


def _rate(run: Callable[[Sequence[Event]], None], events: Sequence[Event]) -> float:
    started = time.perf_counter()
    run(events)
    return len(events) / (time.perf_counter() - started)


Side = tuple[str, Callable[[Sequence[Event]], None]]


def _measure(sides: list[Side], per_round: int, recipients: Recipients) -> dict[str, list[float]]:
    """events/s of each side per round; sides[0] is the baseline the others are compared with."""
    for _, run in sides:
        # An unmeasured run of each side warms caches and psycopg's prepared statements.
        run(recipients.events(min(per_round, 2 * BATCH_SIZE)))
    rates: dict[str, list[float]] = {name: [] for name, _ in sides}
    for r in range(ROUNDS):
        # Rotate who goes first, so drift (autovacuum, caches, other load) falls on all alike.
        for name, run in sides[r % len(sides) :] + sides[: r % len(sides)]:
            rates[name].append(_rate(run, recipients.events(per_round)))
    return rates


def _report(title: str, target: float, rates: dict[str, list[float]]) -> float:
    """Prints medians and ratios; returns the first service side's ratio to the baseline.
    The ratio is the median of per-round ratios: sides measured moments apart share the
    machine's state, which matters more than anything on a busy machine."""
    baseline, *services = rates
    print(f"\n{title}")
    print(f"  {'':<52}{'events/s':>10}{'ratio':>8}   rounds")
    first = None
    for name in [*services, baseline]:
        ratio = statistics.median(s / b for s, b in zip(rates[name], rates[baseline], strict=True))
        first = ratio if first is None else first
        verdict = (
            "" if name == baseline else f"  (target >= {target})" if name == services[0] else ""
        )
        rounds = ", ".join(f"{x:,.0f}" for x in rates[name])
        print(
            f"  {name:<52}{statistics.median(rates[name]):>10,.0f}{ratio:>8.2f}   {rounds}{verdict}"
        )
    return first


_DRIFT = """
SELECT count(*) FROM campaigns c
JOIN (
    SELECT campaign_id, count(*) AS n, count(sent_at) AS sent, count(opened_at) AS opened,
           count(clicked_at) AS clicked, count(replied_at) AS replied,
           count(bounced_at) AS bounced
    FROM campaign_recipients GROUP BY campaign_id
) AS a ON a.campaign_id = c.id
WHERE (c.total_recipients, c.emails_sent, c.emails_opened, c.emails_clicked,
       c.emails_replied, c.emails_bounced)
   <> (a.n, a.sent, a.opened, a.clicked, a.replied, a.bounced)
"""


def test_ingest_throughput(bench_db_url):
    db = Database(bench_db_url)
    conn = psycopg.connect(bench_db_url, options="-c timezone=UTC")
    try:
        total = conn.execute("SELECT count(*) FROM campaign_recipients").fetchone()[0]
        recipients = Recipients(conn, random.Random(20261126))
        conn.commit()
        print(f"\ningest on {total:,} recipients: {ROUNDS} rounds, sides interleaved, medians")
        single = _measure(
            [
                ("raw SQL, one statement per transaction", lambda ev: raw_single(conn, ev)),
                ("record_event, each in db.transaction()", lambda ev: service_single(db, ev)),
                ("record_event, Session on one held connection", lambda ev: held_single(db, ev)),
            ],
            SINGLE_PER_ROUND,
            recipients,
        )
        _report("one event per transaction (first opens)", TARGETS["single"], single)
        batch = _measure(
            [
                ("raw set-based SQL, a batch per transaction", lambda ev: raw_batches(conn, ev)),
                (
                    "record_events, each batch in db.transaction()",
                    lambda ev: service_batches(db, ev),
                ),
            ],
            BATCHES_PER_ROUND * BATCH_SIZE,
            recipients,
        )
        _report(f"batches of {BATCH_SIZE:,} first opens", TARGETS["batch"], batch)

        # Both sides had the same effects: one stored event and one first open per recipient,
        # and the triggers kept every campaign's counters equal to a recount.
        events, opened, counted, drift = conn.execute(
            f"""SELECT (SELECT count(*) FROM email_tracking),
                       (SELECT count(*) FROM campaign_recipients WHERE opened_at IS NOT NULL),
                       (SELECT sum(emails_opened) FROM campaigns),
                       ({_DRIFT})"""
        ).fetchone()
        assert (events, opened, counted, drift) == (recipients.used,) * 3 + (0,)
    finally:
        conn.close()
        db.close()
