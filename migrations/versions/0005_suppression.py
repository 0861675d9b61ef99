"""The suppression list, filled by the database from hard bounces, complaints, unsubscribes.

`suppressions` holds one row per address (lower-cased) that must not be mailed again, with
the reason, the event that put it there and that event's campaign. A statement-level trigger
on email_tracking (transition table, one INSERT ... ON CONFLICT DO NOTHING per statement) adds
the address of every hard bounce (event_data.bounce_type 'hard' or 'permanent', any case),
complaint and unsubscribe, whoever wrote the event: this app, another program, psql. The first
event wins; a lifted address comes back with its next such event. The upgrade fills the list
from the events already stored.

Indexes: source_event_id and campaign_id (their foreign keys' ON DELETE SET NULL looks rows up
by them when events or campaigns are deleted), and a pg_trgm index for searching addresses.

Revision ID: 0005_suppression
Revises: 0004_analytics_indexes
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_suppression"
down_revision: str | None = "0004_analytics_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The reasons (core.store.enums.SuppressionReason today) and the rule of which events list an
# address (0009 rewrites it; core.recipients.suppression runs it over stored events). Restated, not
# imported: a migration imports nothing from core, so that it does the same however core changes
# later.
REASONS = ("hard_bounce", "complaint", "unsubscribe", "manual")

_INSERT_FROM = """
    INSERT INTO suppressions (email_address, reason, source_event_id, campaign_id)
    SELECT lower(r.email_address),
           CASE e.event_type WHEN 'bounce' THEN 'hard_bounce'
                             WHEN 'complain' THEN 'complaint'
                             ELSE 'unsubscribe' END,
           e.id, r.campaign_id
    FROM {events} e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
    WHERE e.event_type IN ('complain', 'unsubscribe')
       OR (e.event_type = 'bounce'
           AND lower(e.event_data ->> 'bounce_type') IN ('hard', 'permanent'))
    ORDER BY e.id  -- the first event is the one kept
    ON CONFLICT (email_address) DO NOTHING"""

_SUPPRESS_FROM_EVENTS = f"""
CREATE FUNCTION cc_suppress_from_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_INSERT_FROM.format(events="new_rows")};
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email_address", sa.String(255), nullable=False, unique=True),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.Column(
            "source_event_id",
            sa.Integer(),
            sa.ForeignKey("email_tracking.id", ondelete="SET NULL"),
        ),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="SET NULL")),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            f"reason IN ({', '.join(repr(r) for r in REASONS)})", name="ck_suppressions_reason"
        ),
        sa.CheckConstraint(
            "email_address = lower(email_address)", name="ck_suppressions_email_lower"
        ),
    )
    op.create_index("ix_suppressions_source_event_id", "suppressions", ["source_event_id"])
    op.create_index("ix_suppressions_campaign_id", "suppressions", ["campaign_id"])
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # 0004 created it; be sure
    op.create_index(
        "ix_suppressions_email_trgm",
        "suppressions",
        ["email_address"],
        postgresql_using="gin",
        postgresql_ops={"email_address": "gin_trgm_ops"},
    )
    op.execute(_INSERT_FROM.format(events="email_tracking"))
    op.execute(_SUPPRESS_FROM_EVENTS)
    op.execute(
        "CREATE TRIGGER cc_suppress_from_events AFTER INSERT ON email_tracking "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION cc_suppress_from_events()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER cc_suppress_from_events ON email_tracking")
    op.execute("DROP FUNCTION cc_suppress_from_events()")
    op.drop_table("suppressions")
