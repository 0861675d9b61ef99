"""Sending throughput: `campaigns send`'s engine (core.delivery.Sender) against a bare
aiosmtplib loop, both to one local SMTP sink (aiosmtpd in a process of its own), over the
same number of connections, in the same run.

    (s) the sender: claims a campaign of RECIPIENTS in batches, builds each message (the
        tests' plain builder, tests/delivery/messages.py), delivers, writes every outcome
        (send_attempts, statuses) with durable commits, heartbeats, alarms checked;
    (b) the baseline: the same messages, built and serialized beforehand, sent by CONNECTIONS
        tasks each with its own aiosmtplib connection, nothing written anywhere.

Rounds interleave the two; medians are printed. Target (issue 16): (s) >= 0.7 of (b). Time
is not asserted; correctness is: every recipient sent once, the counters equal a recount.

Run: make bench PYTEST_ARGS='-k send'   (BENCH_SEND_RECIPIENTS=10000 for a quick one)
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib
import psycopg
import pytest
from sqlalchemy import text

from core import store
from core.config import DatabaseTarget
from core.delivery import Sender, SendSettings, envelope_from, parse_relay, serialized
from core.recipients import ClaimedRecipient
from tests.core.test_counters import assert_counters_match
from tests.delivery import messages
from tests.delivery.relay import free_port
from tests.scratch import migrated_database

RECIPIENTS = int(os.environ.get("BENCH_SEND_RECIPIENTS", 100_000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
CONNECTIONS = int(os.environ.get("BENCH_SEND_CONNECTIONS", 4))
DOMAINS = 50
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def send_url(pg_admin_url) -> Iterator[str]:
    with migrated_database(pg_admin_url, "cc_bench_send") as url:
        yield url


@pytest.fixture(scope="module")
def sink() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.smtp_sink", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    yield f"smtp://127.0.0.1:{port}"
    process.send_signal(signal.SIGTERM)
    process.wait(30)


def _campaign(url: str, n: int) -> int:
    """A running campaign of n new recipients over DOMAINS domains; its row id."""
    with psycopg.connect(url) as conn:
        pk = conn.execute(
            "INSERT INTO campaigns (campaign_id, name, status, started_at)"
            " VALUES ('camp_send_' || gen_random_uuid(), 'Send bench', 'running', now())"
            " RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "WITH l AS (INSERT INTO leads (email) SELECT 'r' || g || '.' || %s || '@d'"
            " || (g %% %s) || '.test' FROM generate_series(1, %s) g RETURNING id, email)"
            " INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)"
            " SELECT %s, id, email FROM l",
            (pk, DOMAINS, n, pk),
        )
        conn.execute("ANALYZE campaign_recipients")
    return pk


def _prepared(db: store.Database, pk: int) -> list[tuple[str, str, bytes]]:
    """The campaign's messages, built and serialized as the sender would: (from, to, bytes)."""
    with db.reading() as s:
        rows = s.execute(
            text(
                "SELECT id, email_address, lead_id FROM campaign_recipients"
                " WHERE campaign_id = :c ORDER BY id"
            ),
            {"c": pk},
        ).all()
        out = []
        for rid, email, lead in rows:
            message = messages.build(s, pk, ClaimedRecipient(rid, email, lead))
            sender = envelope_from(message)
            assert sender is not None
            out.append((sender, email, serialized(message)))
    return out


async def _bare(url: str, prepared: list[tuple[str, str, bytes]]) -> float:
    relay = parse_relay(url)
    todo = iter(prepared)

    async def connection() -> None:
        smtp = aiosmtplib.SMTP(hostname=relay.host, port=relay.port, local_hostname="bench")
        await smtp.connect()
        for sender, to, data in todo:
            await smtp.sendmail(sender, [to], data)
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return len(prepared) / (time.perf_counter() - started)


def _sender(db: store.Database, url: str, pk: int) -> float:
    settings = SendSettings(
        connections=CONNECTIONS,
        per_domain=CONNECTIONS,
        campaigns=(pk,),
        until_done=True,
        idle_s=0.05,
    )
    sender = Sender(db, parse_relay(url), messages.build, settings)
    started = time.perf_counter()
    totals = asyncio.run(sender.run())
    rate = totals.sent / (time.perf_counter() - started)
    assert totals.sent == RECIPIENTS and totals.failed == 0
    return rate


def test_send_throughput(send_url, sink):
    db = store.connect(DatabaseTarget(send_url, "flag"))
    sender_rates, bare_rates = [], []
    try:
        for n in range(ROUNDS):
            pk = _campaign(send_url, RECIPIENTS)
            prepared = _prepared(db, pk)
            order = ("bare", "sender") if n % 2 == 0 else ("sender", "bare")
            for side in order:
                if side == "bare":
                    bare_rates.append(asyncio.run(_bare(sink, prepared)))
                else:
                    sender_rates.append(_sender(db, sink, pk))
            print(
                f"\nround {n + 1}: sender {sender_rates[-1]:,.0f} msg/s,"
                f" bare aiosmtplib {bare_rates[-1]:,.0f} msg/s,"
                f" ratio {sender_rates[-1] / bare_rates[-1]:.2f}"
            )
            with db.reading() as s:
                left = s.scalar(
                    text(
                        "SELECT count(*) FROM campaign_recipients"
                        " WHERE campaign_id = :c AND status <> 'sent'"
                    ),
                    {"c": pk},
                )
            assert left == 0
        assert_counters_match(send_url)
    finally:
        db.close()
    ratios = [s / b for s, b in zip(sender_rates, bare_rates, strict=True)]
    print(
        f"\n{RECIPIENTS:,} recipients, {CONNECTIONS} connections, {ROUNDS} rounds:"
        f" sender median {statistics.median(sender_rates):,.0f} msg/s,"
        f" bare aiosmtplib median {statistics.median(bare_rates):,.0f} msg/s,"
        f" ratio median {statistics.median(ratios):.2f} (target >= 0.7)"
    )
