"""Migrations on a database with data in it: from each earlier revision, with rows written as
that revision allowed (plain SQL), upgrade to head, downgrade one step, upgrade again; every
row and key value survives, and the counters agree with the rows at head."""

from __future__ import annotations

import psycopg
import pytest

from core import store
from tests.reliability.conftest import counter_drift

pytestmark = pytest.mark.slow


def _revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(store.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


REVISIONS = _revisions()
NAME = "Ünïcode [b]launch[/b] 🚀"

_PEOPLE = [
    "INSERT INTO users (id, email, name) VALUES (1, 'ops@example.com', 'Ops')",
    "INSERT INTO leads (id, email, name, company) VALUES"
    " (1, 'ana@example.com', 'Ana', 'Acme'), (2, 'josé@exämple.com', 'José', 'Ñ S.A.'),"
    " (3, 'bo@example.com', NULL, NULL)",
]
_CAMPAIGNS = [
    "INSERT INTO campaigns (id, campaign_id, name, template_id, status, scheduled_at,"
    " started_at, created_by) VALUES"
    f" (1, 'camp_one', '{NAME}', 7, 'running', NULL, '2026-11-01 09:00+00', 1),"
    " (2, 'camp_two', 'Later', NULL, 'scheduled', '2027-01-01 09:00+00', NULL, NULL)",
    "INSERT INTO campaign_recipients (id, campaign_id, lead_id, email_address, status, sent_at,"
    " opened_at, clicked_at, bounced_at, error_message) VALUES"
    " (1, 1, 1, 'ana@example.com', 'sent', '2026-11-01 09:01+00', '2026-11-01 10:00+00',"
    "  '2026-11-01 10:05+00', NULL, NULL),"
    " (2, 1, 2, 'josé@exämple.com', 'bounced', '2026-11-01 09:02+00', NULL, NULL,"
    "  '2026-11-01 09:03+00', '550 5.1.1 user unknown'),"
    " (3, 1, 3, 'bo@example.com', 'unsubscribed', '2026-11-01 09:02+00', NULL, NULL, NULL,"
    "  NULL),"
    " (4, 2, 1, 'ana@example.com', 'pending', NULL, NULL, NULL, NULL, NULL)",
    "INSERT INTO email_tracking (id, campaign_recipient_id, event_type, event_data, user_agent,"
    " ip_address, created_at) VALUES"
    " (1, 1, 'open', '{}', 'Mozilla/5.0 \x1b[31m', '203.0.113.7', '2026-11-01 10:00+00'),"
    " (2, 1, 'click', '{\"link_url\": \"https://example.com/?a=1&b=[2]\"}', NULL, '2001:db8::1',"
    "  '2026-11-01 10:05+00'),"
    ' (3, 2, \'bounce\', \'{"bounce_type": "permanent", "error_code": 550}\', NULL, NULL,'
    "  '2026-11-01 09:03+00'),"
    " (4, 3, 'unsubscribe', NULL, NULL, NULL, '2026-11-01 11:00+00')",
]
# The values that must survive, table by table (counters and updated_at are the database's).
_SNAPSHOT = {
    "users": "SELECT id, email, name, created_at FROM users ORDER BY id",
    "leads": "SELECT id, email, name, company, created_at FROM leads ORDER BY id",
    "campaigns": "SELECT id, campaign_id, name, template_id, status, scheduled_at, started_at,"
    " completed_at, created_by, created_at FROM campaigns ORDER BY id",
    "campaign_recipients": "SELECT id, campaign_id, lead_id, email_address, status, sent_at,"
    " opened_at, clicked_at, replied_at, bounced_at, error_message, created_at"
    " FROM campaign_recipients ORDER BY id",
    "email_tracking": "SELECT id, campaign_recipient_id, event_type, event_data, user_agent,"
    " host(ip_address), created_at FROM email_tracking ORDER BY id",
}


def _snapshot(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        present = {t for (t,) in conn.execute("SELECT tablename FROM pg_tables")}
        return {t: conn.execute(q).fetchall() for t, q in _SNAPSHOT.items() if t in present}


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_upgrade_downgrade_upgrade_keeps_the_data(empty_db_url, revision):
    url = empty_db_url
    store.upgrade(url, revision)
    with psycopg.connect(url) as conn:
        statements = _PEOPLE + (_CAMPAIGNS if revision != REVISIONS[0] else [])
        for statement in statements:
            conn.execute(statement)
    before = _snapshot(url)
    assert sum(map(len, before.values())) == (4 if revision == REVISIONS[0] else 14)

    store.upgrade(url)
    assert store.current(url) == REVISIONS[-1]
    at_head = _snapshot(url)
    assert {t: at_head[t] for t in before} == before
    assert counter_drift(url) == []

    store.downgrade(url, "-1")
    assert store.current(url) == REVISIONS[-2]
    assert {t: v for t, v in _snapshot(url).items() if t in before} == before

    store.upgrade(url)
    assert store.current(url) == REVISIONS[-1]
    assert {t: v for t, v in _snapshot(url).items() if t in before} == before
    assert counter_drift(url) == []
    if revision != REVISIONS[0]:
        with psycopg.connect(url) as conn:
            counters = conn.execute(
                "SELECT total_recipients, emails_sent, emails_opened, emails_clicked,"
                " emails_bounced FROM campaigns WHERE id = 1"
            ).fetchone()
        assert counters == (3, 3, 1, 1, 1)
        # Rows derived from the data are rebuilt too (0005 lists past bounces, unsubscribes).
        with psycopg.connect(url) as conn:
            listed = {e for (e,) in conn.execute("SELECT email_address FROM suppressions")}
        assert listed == {"josé@exämple.com", "bo@example.com"}
