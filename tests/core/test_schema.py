"""The migrated schema is the seed's schema: columns, types, defaults, constraints, indexes."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from core import store

SEED_SQL = Path(__file__).with_name("seed_schema.sql")
SEED_DOC = Path(__file__).resolve().parents[3] / "shared" / "seed" / "campaign-management-system.md"
TABLES = ("users", "leads", "campaigns", "campaign_recipients", "email_tracking")

# Indexes later migrations add on purpose, beyond the seed's list.
EXTRA_INDEXES: set[str] = {
    # 0004_analytics_indexes: email substring search and recipients keyset pages.
    "ix_campaign_recipients_email_trgm",
    "ix_campaign_recipients_campaign_status_id",
    "ix_campaign_recipients_campaign_status_sent_at",
    "ix_campaign_recipients_campaign_status_opened_at",
    "ix_campaign_recipients_campaign_status_clicked_at",
    "ix_campaign_recipients_campaign_status_replied_at",
    "ix_campaign_recipients_campaign_status_bounced_at",
    # 0006_machine_events_index: machine opens and clicks (a partial index).
    "ix_email_tracking_machine",
    # 0010_tracking: an event stored once by its dedup key (a partial unique index).
    "uq_email_tracking_dedup_key",
    # 0012_delivery: the sender's leases in force (a partial index).
    "ix_campaign_recipients_leases",
}
# Columns and constraints later migrations add to the seed's tables on purpose.
EXTRA_COLUMNS: set[tuple[str, str]] = {
    # 0010_tracking: where an event came from, and its dedup key.
    ("email_tracking", "source"),
    ("email_tracking", "dedup_key"),
    # 0012_delivery: the sender's lease and attempts; alarms and their pause reason.
    ("campaign_recipients", "lease_owner"),
    ("campaign_recipients", "lease_expires_at"),
    ("campaign_recipients", "send_attempts"),
    ("campaign_recipients", "next_attempt_at"),
    ("campaigns", "pause_reason"),
    ("campaigns", "alarm_since"),
    ("campaigns", "alarm_error_percent"),
    ("campaigns", "alarm_error_window"),
    ("campaigns", "alarm_bounce_percent"),
    ("campaigns", "alarm_complaint_percent"),
    ("campaigns", "alarm_min_sends"),
}
EXTRA_CONSTRAINTS: set[str] = {
    "ck_email_tracking_source",  # 0010_tracking
    # 0012_delivery: the alarms' bounds.
    "ck_campaigns_alarm_error_percent",
    "ck_campaigns_alarm_error_window",
    "ck_campaigns_alarm_bounce_percent",
    "ck_campaigns_alarm_complaint_percent",
    "ck_campaigns_alarm_min_sends",
    # PostgreSQL 18 lists NOT NULL as constraints: those of the added columns.
    *(f"{table}_{column}_not_null" for table, column in EXTRA_COLUMNS),
}


def _catalog(url: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            """
            SELECT table_name, column_name, data_type, character_maximum_length,
                   column_default, is_nullable, ordinal_position
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = ANY(%s)
            ORDER BY table_name, ordinal_position
            """,
            (list(TABLES),),
        ).fetchall()
        constraints = conn.execute(
            """
            SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE conrelid::regclass::text = ANY(%s)
            ORDER BY 1, 2
            """,
            (list(TABLES),),
        ).fetchall()
        indexes = conn.execute(
            """
            SELECT tablename, indexname, indexdef FROM pg_indexes
            WHERE schemaname = 'public' AND tablename = ANY(%s)
            ORDER BY tablename, indexname
            """,
            (list(TABLES),),
        ).fetchall()
    return {
        "columns": [c for c in columns if (c[0], c[1]) not in EXTRA_COLUMNS],
        "constraints": [c for c in constraints if c[1] not in EXTRA_CONSTRAINTS],
        "indexes": [i for i in indexes if i[1] not in EXTRA_INDEXES],
    }


@pytest.fixture
def seed_url(empty_db_url) -> str:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(SEED_SQL.read_text())
    return empty_db_url


def test_migrated_schema_matches_the_seed(db_url, seed_url):
    migrated, seed = _catalog(db_url), _catalog(seed_url)
    for part in ("columns", "constraints", "indexes"):
        assert migrated[part] == seed[part], part


def test_the_seed_sql_copy_is_the_seed_verbatim():
    if not SEED_DOC.exists():
        pytest.skip("shared/seed is not beside this checkout")
    doc = SEED_DOC.read_text()
    ours = SEED_SQL.read_text()
    blocks = re.findall(r"```sql\n(CREATE TABLE .*?\);)\n```", doc, re.S)
    assert len(blocks) == 3
    for block in blocks:
        assert block in ours
    named = set(re.findall(r"^- `((?:ix|uq)_[a-z_]+)`", doc, re.M))
    for name in named - {"uq_campaign_recipients_campaign_lead"}:
        assert re.search(rf"INDEX {name} ON", ours), name


def test_key_indexes_are_there_with_their_definitions(db_url):
    with psycopg.connect(db_url) as conn:
        defs = dict(conn.execute("SELECT indexname, indexdef FROM pg_indexes").fetchall())
    assert defs["ix_campaign_recipients_campaign_status"].endswith("(campaign_id, status)")
    assert defs["ix_email_tracking_recipient_event"].endswith("(campaign_recipient_id, event_type)")
    assert "UNIQUE" in defs["ix_campaigns_campaign_id"]
    assert "UNIQUE" in defs["uq_campaign_recipients_campaign_lead"]


def test_models_and_migrations_agree(db_url):
    assert store.drift(db_url) == []


def test_upgrade_downgrade_upgrade(empty_db_url):
    assert store.current(empty_db_url) is None
    store.upgrade(empty_db_url)
    assert store.current(empty_db_url) == store.head()
    store.downgrade(empty_db_url, "base")
    assert store.current(empty_db_url) is None
    with psycopg.connect(empty_db_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).fetchone()[0]
    assert left == 0
    store.upgrade(empty_db_url)
    assert store.drift(empty_db_url) == []


def test_ensure_current_migrates_an_empty_database_once(empty_db_url):
    assert store.ensure_current(empty_db_url) is True
    assert store.ensure_current(empty_db_url) is False


def test_the_quick_head_is_alembics_head():
    assert store.head() == store.alembic_head()
