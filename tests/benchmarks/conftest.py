"""A large database for the benchmarks, built once per run on the test server.

Benchmarks are bench_*.py files, which the default test run does not collect; run them with
    .venv/bin/pytest -q -s -p no:xdist -o python_files='bench_*.py' tests/benchmarks
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest

from core.store import libpq_url
from tests.conftest import start_embedded
from tests.scratch import migrated_database, plain_indexes_built_after

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", 1_000_000))
CAMPAIGNS = 100

# Leads, then campaigns, then every lead into one campaign as an already-sent recipient: the
# rows a running campaign has when the opens start coming in.
_LOAD = [
    """
    INSERT INTO leads (email, name, company)
    SELECT 'lead' || g || '@bench.example.com', 'Lead ' || g, 'Company ' || (g %% 5000)
    FROM generate_series(1, %(recipients)s) AS g
    """,
    """
    INSERT INTO campaigns (campaign_id, name, status, started_at)
    SELECT 'camp_bench' || g, 'Benchmark campaign ' || g, 'running', now() - interval '1 day'
    FROM generate_series(1, %(campaigns)s) AS g
    """,
    """
    INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status, sent_at)
    SELECT c.id, l.id, l.email, 'sent', now() - interval '1 day'
    FROM leads l
    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM campaigns) AS c
      ON c.n = l.id %% %(campaigns)s
    """,
]


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """The server benchmarks run on: TEST_DATABASE_URL, else an embedded server configured as
    a user's is (durable commits), not the test suite's fsync-off one."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield libpq_url(url)
        return
    yield start_embedded("cc-bench-pg-", durable=True).admin_url


@pytest.fixture(scope="session")
def bench_db_url(pg_admin_url) -> Iterator[str]:
    """A migrated database holding RECIPIENTS sent recipients over CAMPAIGNS campaigns."""
    with migrated_database(pg_admin_url, "cc_bench") as url:
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            with plain_indexes_built_after(conn):
                for statement in _LOAD:
                    conn.execute(statement, {"recipients": RECIPIENTS, "campaigns": CAMPAIGNS})
            conn.commit()
            conn.autocommit = True
            # Fresh statistics and visibility map, as on a database that has been running.
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")
        print(f"\nbuilt {RECIPIENTS:,} recipients in {time.perf_counter() - started:.1f}s")
        yield url
