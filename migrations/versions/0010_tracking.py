"""The tracking endpoint's tables: event sources and dedup keys, signing keys, campaign links,
deliveries, settings.

    email_tracking.source     where an event came from (pixel, link, one-click, a provider's
                              webhook, import, simulator, ...); NULL for the rows before this
                              revision ("not recorded")
    email_tracking.dedup_key  stores an event once: an endpoint hit carries hit:<uuid>, a
                              provider event <provider>:<its id>; unique where not NULL
    tracking_keys             HMAC keys of the tracking tokens; id is the key id a token
                              names; the newest without expires_at signs, older ones verify
                              until their expires_at (rotation's grace)
    campaign_links            the links a campaign's messages carry, by position: a click's
                              redirect goes only to one of these
    deliveries                a provider's "delivered" report, once per (provider, event id)
    settings                  named values (public_url)

Inserted deliveries NOTIFY the change feed with their campaign, as events do.

Revision ID: 0010_tracking
Revises: 0009_address_keys
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_tracking"
down_revision: str | None = "0009_address_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# core.store.enums.EventSource as this revision knows it (a migration imports nothing from core).
SOURCES = (
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
CHANNEL = "campaign_changes"  # core.store.changes.CHANNEL

_NOTIFY_DELIVERIES = f"""
CREATE FUNCTION cc_deliveries_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', campaign_id::text)
    FROM (
        SELECT DISTINCT r.campaign_id
        FROM new_rows d JOIN campaign_recipients r ON r.id = d.campaign_recipient_id
    ) AS t;
    RETURN NULL;
END $$;
"""


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.add_column("email_tracking", sa.Column("source", sa.Text(), nullable=True))
    op.add_column("email_tracking", sa.Column("dedup_key", sa.Text(), nullable=True))
    op.create_check_constraint(
        "ck_email_tracking_source",
        "email_tracking",
        f"source IN ({', '.join(repr(s) for s in SOURCES)})",
    )
    op.create_index(
        "uq_email_tracking_dedup_key",
        "email_tracking",
        ["dedup_key"],
        unique=True,
        postgresql_where="dedup_key IS NOT NULL",
    )
    op.create_table(
        "tracking_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("octet_length(secret) >= 16", name="ck_tracking_keys_secret"),
    )
    op.create_table(
        "campaign_links",
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.CheckConstraint("position BETWEEN 1 AND 65535", name="ck_campaign_links_position"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "campaign_recipient_id",
            sa.Integer(),
            sa.ForeignKey("campaign_recipients.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("provider_event_id", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.UniqueConstraint("provider", "provider_event_id", name="uq_deliveries_provider_event"),
    )
    op.create_index("ix_deliveries_campaign_recipient_id", "deliveries", ["campaign_recipient_id"])
    op.create_table(
        "settings",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.execute(_NOTIFY_DELIVERIES)
    op.execute(
        "CREATE TRIGGER cc_deliveries_changed AFTER INSERT ON deliveries"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION cc_deliveries_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER cc_deliveries_changed ON deliveries")
    op.execute("DROP FUNCTION cc_deliveries_changed()")
    op.drop_table("settings")
    op.drop_table("deliveries")
    op.drop_table("campaign_links")
    op.drop_table("tracking_keys")
    op.drop_index("uq_email_tracking_dedup_key", "email_tracking")
    op.drop_constraint("ck_email_tracking_source", "email_tracking", type_="check")
    op.drop_column("email_tracking", "dedup_key")
    op.drop_column("email_tracking", "source")
