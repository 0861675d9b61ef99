"""The sender's tables and columns (core.delivery):

    campaign_recipients.lease_owner, lease_expires_at
                              a queued recipient whose message is in flight is leased by one
                              sender until lease_expires_at; a lease that expired (its sender
                              died) is claimed again
    campaign_recipients.send_attempts, next_attempt_at
                              attempts made so far; a recipient waiting after a temporary
                              (4xx) failure is pending with next_attempt_at in the future
    campaigns.pause_reason    why a campaign's alarm paused it (NULL: not paused by an alarm)
    campaigns.alarm_*         the alarms' thresholds, per campaign; alarm_since: the error
                              alarm counts attempts from then on (set when it is resumed)
    send_attempts             every attempt to deliver a message: time, reply code, enhanced
                              status, reply text, what followed (sent, retry, failed, bounced)
    delivery_senders          one heartbeat row per running sender (host, pid, the campaign
                              it works on, its last send, when it was last seen)
    email_tracking.source     gains 'smtp': a bounce the relay gave in the SMTP dialogue

Revision ID: 0012_delivery
Revises: 0011_templates
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_delivery"
down_revision: str | None = "0011_templates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# core.store.enums.EventSource as 0010 knew it, and as this revision knows it.
OLD_SOURCES = (
    "pixel",
    "link",
    "one-click",
    "unsubscribe-page",
    "ses",
    "sendgrid",
    "mailgun",
    "postmark",
    "import",
    "simulator",
    "bounce-pipe",
)
SOURCES = (*OLD_SOURCES, "smtp")
OUTCOMES = ("sent", "retry", "failed", "bounced")
# Column, type, server default, CHECK (name, condition) of the campaigns' alarm settings.
ALARMS = (
    ("alarm_error_percent", sa.Float(), "50", "alarm_error_percent BETWEEN 0 AND 100"),
    ("alarm_error_window", sa.Integer(), "100", "alarm_error_window BETWEEN 1 AND 100000"),
    ("alarm_bounce_percent", sa.Float(), "5", "alarm_bounce_percent BETWEEN 0 AND 100"),
    ("alarm_complaint_percent", sa.Float(), "0.1", "alarm_complaint_percent BETWEEN 0 AND 100"),
    ("alarm_min_sends", sa.Integer(), "100", "alarm_min_sends BETWEEN 1 AND 100000000"),
)


def _now() -> sa.TextClause:
    return sa.text("now()")


def _sources(values: tuple[str, ...]) -> str:
    return f"source IN ({', '.join(repr(s) for s in values)})"


def upgrade() -> None:
    r = "campaign_recipients"
    op.add_column(r, sa.Column("lease_owner", sa.Text(), nullable=True))
    op.add_column(r, sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        r, sa.Column("send_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(r, sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_campaign_recipients_leases",
        r,
        ["campaign_id", "lease_expires_at"],
        postgresql_where="status = 'queued' AND lease_expires_at IS NOT NULL",
    )
    op.add_column("campaigns", sa.Column("pause_reason", sa.Text(), nullable=True))
    op.add_column("campaigns", sa.Column("alarm_since", sa.DateTime(timezone=True), nullable=True))
    for name, kind, default, check in ALARMS:
        op.add_column(
            "campaigns", sa.Column(name, kind, server_default=sa.text(default), nullable=False)
        )
        op.create_check_constraint(f"ck_campaigns_{name}", "campaigns", check)
    op.create_table(
        "send_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "campaign_recipient_id",
            sa.Integer(),
            sa.ForeignKey("campaign_recipients.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("enhanced_status", sa.Text(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            f"outcome IN ({', '.join(repr(o) for o in OUTCOMES)})", name="ck_send_attempts_outcome"
        ),
    )
    op.create_index("ix_send_attempts_recipient", "send_attempts", ["campaign_recipient_id", "id"])
    op.create_index("ix_send_attempts_campaign", "send_attempts", ["campaign_id", "id"])
    op.create_table(
        "delivery_senders",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index("ix_delivery_senders_campaign_id", "delivery_senders", ["campaign_id"])
    op.drop_constraint("ck_email_tracking_source", "email_tracking", type_="check")
    op.create_check_constraint("ck_email_tracking_source", "email_tracking", _sources(SOURCES))


def downgrade() -> None:
    op.execute("DELETE FROM email_tracking WHERE source = 'smtp'")
    op.drop_constraint("ck_email_tracking_source", "email_tracking", type_="check")
    op.create_check_constraint("ck_email_tracking_source", "email_tracking", _sources(OLD_SOURCES))
    op.drop_table("delivery_senders")
    op.drop_table("send_attempts")
    for name, _, _, _ in reversed(ALARMS):
        op.drop_constraint(f"ck_campaigns_{name}", "campaigns", type_="check")
        op.drop_column("campaigns", name)
    op.drop_column("campaigns", "alarm_since")
    op.drop_column("campaigns", "pause_reason")
    r = "campaign_recipients"
    op.drop_index("ix_campaign_recipients_leases", r)
    for column in ("next_attempt_at", "send_attempts", "lease_expires_at", "lease_owner"):
        op.drop_column(r, column)
