"""Indexes for the recipients screen: keyset pages by (status, sort key, id), email search.

- ix_campaign_recipients_email_trgm: a pg_trgm GIN index, so a case-insensitive substring
  search of email_address (ILIKE '%x%') doesn't read every row; the seed's btree can't.
- ix_campaign_recipients_campaign_status_<key>: (campaign_id, status, <key>, id) for key in
  id and the five timestamps. A page of recipients in any of those orders, filtered by a
  status or not, is then a few index range scans (one per status) of 100 rows each, on a
  campaign of any size. The seed's one-column timestamp indexes span all campaigns, and
  its (campaign_id, status) index doesn't order by id.

pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it. The
downgrade drops the indexes but leaves the extension, which something else may use.

Revision ID: 0004_analytics_indexes
Revises: 0003_counters_and_change_feed
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_analytics_indexes"
down_revision: str | None = "0003_counters_and_change_feed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The recipient orders the indexes serve (core.recipients.paging.SORT_KEYS has them, and
# core.store.models the indexes). Restated, not imported: a migration imports nothing from core, so
# that it does the same however core changes later.
SORT_KEYS = ("id", "sent_at", "opened_at", "clicked_at", "replied_at", "bounced_at")


def _name(key: str) -> str:
    return f"ix_campaign_recipients_campaign_status_{key}"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_campaign_recipients_email_trgm",
        "campaign_recipients",
        ["email_address"],
        postgresql_using="gin",
        postgresql_ops={"email_address": "gin_trgm_ops"},
    )
    for key in SORT_KEYS:
        columns = ["campaign_id", "status", key] + ([] if key == "id" else ["id"])
        op.create_index(_name(key), "campaign_recipients", columns)


def downgrade() -> None:
    for key in SORT_KEYS:
        op.drop_index(_name(key), table_name="campaign_recipients")
    op.drop_index("ix_campaign_recipients_email_trgm", table_name="campaign_recipients")
