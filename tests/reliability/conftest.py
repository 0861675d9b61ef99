"""Shared tools of the reliability tests: a database fingerprint, counter checks and a database
shared by a module. The server tests may stop, fill or lock down is tests/conftest.py's
own_server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql

from tests.scratch import scratch_database

# Every row of every table of the public schema, in a stable order. Sequences are left out:
# a refused INSERT may still have drawn an id (nextval is not transactional), which is not data.
_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """{table: (row count, md5 of all its rows)} for every table of the database."""
    with psycopg.connect(url) as conn:
        tables = [t for (t,) in conn.execute(_TABLES)]
        result = {}
        for table in tables:
            query = sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '')"
                " FROM {} AS t"
            ).format(sql.Identifier(table))
            count, digest = conn.execute(query).fetchone()
            result[table] = (count, digest)
        return result


@contextmanager
def unchanged(url: str) -> Iterator[None]:
    """Assert that the block leaves every table of the database exactly as it was."""
    before = fingerprint(url)
    yield
    after = fingerprint(url)
    changed = {t: (before.get(t), after.get(t)) for t in before.keys() | after.keys()}
    changed = {t: ba for t, ba in changed.items() if ba[0] != ba[1]}
    assert not changed, f"the database changed: {changed}"


_RECOUNT = """
SELECT c.campaign_id,
       (c.total_recipients, c.emails_sent, c.emails_opened, c.emails_clicked, c.emails_replied,
        c.emails_bounced)::text AS stored,
       (count(r.id), count(r.sent_at), count(r.opened_at), count(r.clicked_at),
        count(r.replied_at), count(r.bounced_at))::text AS actual
FROM campaigns c LEFT JOIN campaign_recipients r ON r.campaign_id = c.id
GROUP BY c.id
"""


def counter_drift(url: str) -> list[tuple[str, str, str]]:
    """(campaign_id, stored counters, recounted) for every campaign whose counters are off."""
    with psycopg.connect(url) as conn:
        return [row for row in conn.execute(_RECOUNT) if row[1] != row[2]]


@pytest.fixture(scope="module")
def module_db_url(pg_admin_url, template_url) -> Iterator[str]:
    """A migrated database shared by the tests of one module (they keep to their own rows)."""
    with scratch_database(pg_admin_url, "cc_rel", template_url=template_url) as url:
        yield url
