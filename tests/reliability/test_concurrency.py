"""Everything at once: 8 threads recording events through core, 2 senders claiming and marking
batches, an operator pausing and resuming campaigns, and 2 plain-SQL writers (another program
inserting, updating and deleting recipients and events). Afterwards every campaign's counters
equal a recount, no recipient was claimed twice, every event written is there, and no thread
died of a deadlock (core's writers go through Database.run, which retries them; the plain-SQL
writers retry their own, as any program must).

CC_CONCURRENCY_SECONDS sets how long it runs: 10 s here, 60 s in `make soak`.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg
import pytest

from core import campaigns, recipients
from core.campaigns import resolve_campaign
from core.events import EventInput, record_events
from core.store import CampaignStatus, Database
from tests.reliability.conftest import counter_drift

SECONDS = float(os.environ.get("CC_CONCURRENCY_SECONDS", 10))
CAMPAIGNS = 4
PER_POOL = 500  # recipients per campaign in each pool: events, sending, plain SQL
KINDS = ("open", "open", "click", "reply", "forward", "bounce", "unsubscribe", "complain")

pytestmark = pytest.mark.slow


@dataclass
class Tally:
    errors: list[BaseException] = field(default_factory=list)
    recorded: int = 0
    sql_events: int = 0
    claimed: list[int] = field(default_factory=list)
    moves: Counter = field(default_factory=Counter)
    sql_statements: int = 0
    sql_retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _setup(url: str) -> dict[str, list[int]]:
    """Running campaigns with three pools of recipients each: sent ones for the event writers,
    pending ones for the senders (enough to last the run), sent ones for plain SQL."""
    sizes = {"events": PER_POOL, "send": max(PER_POOL, int(60 * SECONDS)), "sql": PER_POOL}
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO campaigns (campaign_id, name, status, started_at)"
            " SELECT 'camp_c' || g, 'Concurrent ' || g, 'running', now()"
            " FROM generate_series(1, %s) g",
            (CAMPAIGNS,),
        )
        pools: dict[str, list[int]] = {}
        for pool, size in sizes.items():
            status = "pending" if pool == "send" else "sent"
            conn.execute(
                "INSERT INTO leads (email) SELECT %s || g || '@conc.test'"
                " FROM generate_series(1, %s) g",
                (pool, size),
            )
            rows = conn.execute(
                "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status,"
                " sent_at) SELECT c.id, l.id, l.email, %s,"
                " CASE WHEN %s = 'sent' THEN now() - interval '1 hour' END"
                " FROM campaigns c, leads l WHERE l.email LIKE %s RETURNING id",
                (status, status, f"{pool}%@conc.test"),
            ).fetchall()
            pools[pool] = [r for (r,) in rows]
    return pools


def _loop(tally: Tally, deadline: float, step) -> None:
    try:
        while time.monotonic() < deadline:
            step()
    except BaseException as exc:
        with tally.lock:
            tally.errors.append(exc)


def event_writer(url, pool, tally, deadline, seed):
    db, rng = Database(url), random.Random(seed)

    def step():
        batch = [
            EventInput(rng.choice(KINDS), recipient_id=rng.choice(pool), ip_address="192.0.2.1")
            for _ in range(rng.randint(20, 120))
        ]
        result = db.run(lambda s: record_events(s, batch))
        with tally.lock:
            tally.recorded += result.recorded

    try:
        _loop(tally, deadline, step)
    finally:
        db.close()


def sender(url, campaign_ids, tally, deadline, seed):
    db, rng = Database(url), random.Random(seed)

    def step():
        campaign = rng.choice(campaign_ids)
        claimed = db.run(lambda s: recipients.claim_batch(s, campaign, rng.randint(5, 40)))
        if not claimed:
            time.sleep(0.01)
            return
        ids = [c.id for c in claimed]
        with tally.lock:
            tally.claimed.extend(ids)
        time.sleep(rng.random() * 0.01)  # "sending"
        db.run(lambda s: recipients.mark_sent(s, ids))

    try:
        _loop(tally, deadline, step)
    finally:
        db.close()


def operator(url, campaign_ids, tally, deadline, seed):
    db, rng = Database(url), random.Random(seed)

    def flip(session, campaign):
        status = resolve_campaign(session, campaign, for_update=True).status
        action = "pause" if status == CampaignStatus.RUNNING else "resume"
        campaigns.transition(session, campaign, action)
        return action

    def step():
        action = db.run(lambda s: flip(s, rng.choice(campaign_ids)))
        with tally.lock:
            tally.moves[action] += 1
        time.sleep(rng.random() * 0.1)

    try:
        _loop(tally, deadline, step)
    finally:
        db.close()


def plain_sql_writer(url, campaign_ids, pool, tally, deadline, seed):
    """Another program on the same tables, with no knowledge of the app."""
    rng = random.Random(seed)
    mine: list[int] = []  # recipients this writer inserted (and may delete)

    def once(conn) -> None:
        op = rng.random()
        if op < 0.3:
            lead = conn.execute(
                "INSERT INTO leads (email) VALUES (%s) RETURNING id",
                (f"sql{seed}-{rng.getrandbits(48)}@conc.test",),
            ).fetchone()[0]
            rid = conn.execute(
                "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status,"
                " sent_at, opened_at) SELECT %s, id, email, 'sent', now(),"
                " CASE WHEN %s THEN now() END FROM leads WHERE id = %s RETURNING id",
                (rng.choice(campaign_ids), rng.random() < 0.5, lead),
            ).fetchone()[0]
            conn.commit()
            mine.append(rid)
        elif op < 0.45 and mine:
            rid = mine.pop(rng.randrange(len(mine)))
            conn.execute("DELETE FROM campaign_recipients WHERE id = %s", (rid,))
            conn.commit()
        elif op < 0.75:
            chunk = sorted(rng.sample(pool, 15))
            column = rng.choice(["opened_at", "clicked_at", "replied_at", "bounced_at"])
            value = "NULL" if rng.random() < 0.3 else "now()"
            conn.execute(
                f"UPDATE campaign_recipients SET {column} = {value} WHERE id = ANY(%s)", (chunk,)
            )
            conn.commit()
        else:
            chunk = sorted(rng.sample(pool, 10))
            conn.execute(
                "INSERT INTO email_tracking (campaign_recipient_id, event_type)"
                " SELECT unnest(%s::int[]), 'open'",
                (chunk,),
            )
            conn.execute(
                "UPDATE campaign_recipients SET opened_at = coalesce(opened_at, now())"
                " WHERE id = ANY(%s)",
                (chunk,),
            )
            conn.commit()
            with tally.lock:
                tally.sql_events += len(chunk)
        with tally.lock:
            tally.sql_statements += 1

    def step():
        for attempt in range(1, 11):
            try:
                once(conn)
                return
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                conn.rollback()
                with tally.lock:
                    tally.sql_retries += 1
                time.sleep(min(0.02 * 2**attempt, 0.5) * rng.random())
        raise AssertionError("a plain-SQL write deadlocked ten times in a row")

    with psycopg.connect(url) as conn:
        _loop(tally, deadline, step)


def _deadlocks(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]


def test_everything_at_once_keeps_every_invariant(db_url):
    pools = _setup(db_url)
    with psycopg.connect(db_url) as conn:
        campaign_ids = [c for (c,) in conn.execute("SELECT id FROM campaigns ORDER BY id")]
    deadlocks_before = _deadlocks(db_url)
    tally = Tally()
    deadline = time.monotonic() + SECONDS
    threads = [
        threading.Thread(target=event_writer, args=(db_url, pools["events"], tally, deadline, n))
        for n in range(8)
    ]
    threads += [
        threading.Thread(target=sender, args=(db_url, campaign_ids, tally, deadline, 100 + n))
        for n in range(2)
    ]
    threads.append(
        threading.Thread(target=operator, args=(db_url, campaign_ids, tally, deadline, 200))
    )
    threads += [
        threading.Thread(
            target=plain_sql_writer,
            args=(db_url, campaign_ids, pools["sql"], tally, deadline, 300 + n),
        )
        for n in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert tally.errors == []

    assert counter_drift(db_url) == []
    assert len(tally.claimed) == len(set(tally.claimed)), "a recipient was claimed twice"
    with psycopg.connect(db_url) as conn:
        events = conn.execute("SELECT count(*) FROM email_tracking").fetchone()[0]
        queued = conn.execute(
            "SELECT count(*) FROM campaign_recipients WHERE status = 'queued'"
        ).fetchone()[0]
        sent = conn.execute(
            "SELECT count(*) FROM campaign_recipients WHERE id = ANY(%s)"
            " AND status = 'sent' AND sent_at IS NOT NULL",
            (tally.claimed,),
        ).fetchone()[0]
    assert events == tally.recorded + tally.sql_events
    assert queued == 0 and sent == len(tally.claimed)
    assert tally.recorded > 0 and tally.claimed and sum(tally.moves.values()) > 0
    print(
        f"\n{SECONDS:g} s: {tally.recorded:,} events through core, {tally.sql_events:,} by SQL;"
        f" {len(tally.claimed):,} recipients claimed and sent;"
        f" {tally.moves['pause']} pauses, {tally.moves['resume']} resumes;"
        f" {tally.sql_statements:,} plain-SQL writes ({tally.sql_retries} retried);"
        f" {_deadlocks(db_url) - deadlocks_before} deadlocks detected by the server, all retried"
    )
