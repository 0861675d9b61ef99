"""Integrity: demo campaigns marked apart from their ids, counters that follow TRUNCATE.

demo_campaigns lists the campaigns the demo seeder created (one row per campaign, deleted
with it). `demo --reset` and the simulator's --demo-only go by this table, no longer by the
`demo_` prefix of campaign_id, which any user may type. Campaigns seeded before this revision
are listed when their id starts with `demo_` and every recipient's address ends in `.example`
(the demo's lead domains); a user's `demo_...` campaign with real addresses stays a user's.

TRUNCATE fires no row or statement triggers of INSERT/UPDATE/DELETE, so the counters of 0003
missed it: `TRUNCATE campaign_recipients` (CASCADE or not) left every campaign's counters at
their old values. An AFTER TRUNCATE statement trigger on campaign_recipients sets the counters
of every campaign to 0 (no recipient rows are left). TRUNCATE email_tracking leaves recipient
rows, and so the counters, as they are (0007's rollup follows it); TRUNCATE campaigns CASCADE
takes the recipients along and leaves no campaign to count.

Revision ID: 0008_integrity
Revises: 0007_event_rollup
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_integrity"
down_revision: str | None = "0007_event_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The counters as this revision knows them (core.figures.counters.COUNTERS today): a migration
# imports nothing from core, so that it runs the same however core changes later.
COUNTERS = (
    "total_recipients",
    "emails_sent",
    "emails_opened",
    "emails_clicked",
    "emails_replied",
    "emails_bounced",
)

_TRUNCATED = f"""
CREATE FUNCTION cc_counters_recipients_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaigns SET {", ".join(f"{c} = 0" for c in COUNTERS)}
    WHERE ({" OR ".join(f"{c} <> 0" for c in COUNTERS)});
    RETURN NULL;
END
$$
"""

_EXISTING_DEMO = """
INSERT INTO demo_campaigns (campaign_id)
SELECT c.id FROM campaigns c
WHERE starts_with(c.campaign_id, 'demo_')
  AND NOT EXISTS (
      SELECT 1 FROM campaign_recipients r
      WHERE r.campaign_id = c.id AND right(r.email_address, 8) <> '.example'
  )
"""


def upgrade() -> None:
    op.create_table(
        "demo_campaigns",
        sa.Column(
            "campaign_id",
            sa.Integer,
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.execute(_EXISTING_DEMO)
    op.execute(_TRUNCATED)
    op.execute(
        "CREATE TRIGGER cc_counters_recipients_truncated AFTER TRUNCATE ON campaign_recipients"
        " FOR EACH STATEMENT EXECUTE FUNCTION cc_counters_recipients_truncated()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER cc_counters_recipients_truncated ON campaign_recipients")
    op.execute("DROP FUNCTION cc_counters_recipients_truncated()")
    op.drop_table("demo_campaigns")
