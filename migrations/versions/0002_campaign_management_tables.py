"""The seed's campaign tables: campaigns, campaign_recipients, email_tracking.

Every column, default, foreign key, the unique constraint and every index the seed names,
with the seed's names, plus CHECK constraints on the status and event-type values.

Revision ID: 0002_campaign_management_tables
Revises: 0001_users_and_leads
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_campaign_management_tables"
down_revision: str | None = "0001_users_and_leads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values the CHECK constraints allow, as this revision knows them (core.store.enums today).
# Restated, not imported: a migration imports nothing from core, so that it does the same however
# core changes later.
CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "paused", "completed", "failed")
RECIPIENT_STATUSES = ("pending", "queued", "sent", "failed", "bounced", "unsubscribed")
EVENT_TYPES = ("open", "click", "bounce", "reply", "forward", "unsubscribe", "complain")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _tz(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _now(name: str) -> sa.Column:
    return _tz(name, server_default=sa.func.now(), nullable=False)


def _counter(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.String(100), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("template_id", sa.Integer()),
        sa.Column("status", sa.String(50), server_default=sa.text("'draft'"), nullable=False),
        _tz("scheduled_at"),
        _tz("started_at"),
        _tz("completed_at"),
        _counter("total_recipients"),
        _counter("emails_sent"),
        _counter("emails_opened"),
        _counter("emails_clicked"),
        _counter("emails_replied"),
        _counter("emails_bounced"),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="ck_campaigns_status"),
    )
    op.create_index("ix_campaigns_campaign_id", "campaigns", ["campaign_id"], unique=True)
    for column in ("name", "status", "created_by", "scheduled_at", "started_at", "created_at"):
        op.create_index(f"ix_campaigns_{column}", "campaigns", [column])

    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "lead_id", sa.Integer(), sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("email_address", sa.String(255), nullable=False),
        sa.Column("status", sa.String(50), server_default=sa.text("'pending'"), nullable=False),
        _tz("sent_at"),
        _tz("opened_at"),
        _tz("clicked_at"),
        _tz("replied_at"),
        _tz("bounced_at"),
        sa.Column("error_message", sa.Text()),
        _now("created_at"),
        _now("updated_at"),
        sa.UniqueConstraint("campaign_id", "lead_id", name="uq_campaign_recipients_campaign_lead"),
        sa.CheckConstraint(_in("status", RECIPIENT_STATUSES), name="ck_campaign_recipients_status"),
    )
    for column in (
        "campaign_id",
        "lead_id",
        "email_address",
        "status",
        "sent_at",
        "opened_at",
        "clicked_at",
        "replied_at",
        "bounced_at",
    ):
        op.create_index(f"ix_campaign_recipients_{column}", "campaign_recipients", [column])
    op.create_index(
        "ix_campaign_recipients_campaign_status", "campaign_recipients", ["campaign_id", "status"]
    )

    op.create_table(
        "email_tracking",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "campaign_recipient_id",
            sa.Integer(),
            sa.ForeignKey("campaign_recipients.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("event_data", postgresql.JSONB()),
        sa.Column("user_agent", sa.Text()),
        sa.Column("ip_address", postgresql.INET()),
        _now("created_at"),
        sa.CheckConstraint(_in("event_type", EVENT_TYPES), name="ck_email_tracking_event_type"),
    )
    for column in ("campaign_recipient_id", "event_type", "ip_address", "created_at"):
        op.create_index(f"ix_email_tracking_{column}", "email_tracking", [column])
    op.create_index(
        "ix_email_tracking_recipient_event",
        "email_tracking",
        ["campaign_recipient_id", "event_type"],
    )


def downgrade() -> None:
    op.drop_table("email_tracking")
    op.drop_table("campaign_recipients")
    op.drop_table("campaigns")
