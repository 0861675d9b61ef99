"""Suppressions compared by one address key, computed in Python
(core.recipients.suppression.address_key).

0005 stored lower(address) and compared with lower(): PostgreSQL's lower() folds by the
database's locale (a final sigma, a dotted İ), Python's by Unicode, and neither knows NFC or
IDNA, so the same address could be listed by one and imported or mailed by the other. Now:

    email_address  the address as given (no longer lower-cased, no longer unique): shown
    email_key      address_key(email_address): NFC, casefold, punycode labels decoded; unique.
                   NULL for rows the database adds itself (this trigger, plain SQL) and for
                   the rows listed before this revision: core keys them, folding duplicates
                   into the first row, in the transaction of every write that compares
                   (ix_suppressions_unkeyed finds them), and reads key them on the fly.

The trigger now lists the recipient's address as it is, skipping an address listed with
exactly that spelling (ix_suppressions_email_address); a spelling that differs only in case
gets a row of its own until core keys it and folds it into the first. Upgrading restores
the spelling of rows listed from an event (their recipient's address); manual rows stay
lower-cased. Downgrade lower-cases again and keeps the first row of each lower() value.

Revision ID: 0009_address_keys
Revises: 0007_event_rollup
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_address_keys"
down_revision: str | None = "0008_integrity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Which events list an address, and with what reason: 0005's rule, which
# core.recipients.suppression._FROM_EVENTS runs over stored events. Restated, not imported: a
# migration imports nothing from core, so that it does the same however core changes later.
_REASON = """CASE e.event_type WHEN 'bounce' THEN 'hard_bounce'
                                 WHEN 'complain' THEN 'complaint'
                                 ELSE 'unsubscribe' END"""
_LISTED = """(e.event_type IN ('complain', 'unsubscribe')
               OR (e.event_type = 'bounce'
                   AND lower(e.event_data ->> 'bounce_type') IN ('hard', 'permanent')))"""

_KEYED_TRIGGER = f"""
CREATE OR REPLACE FUNCTION cc_suppress_from_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO suppressions (email_address, reason, source_event_id, campaign_id)
    SELECT email_address, reason, event_id, campaign_id FROM (
        SELECT DISTINCT ON (r.email_address) r.email_address, {_REASON} AS reason,
               e.id AS event_id, r.campaign_id
        FROM new_rows e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
        WHERE {_LISTED}
          AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email_address = r.email_address)
        ORDER BY r.email_address, e.id
    ) first_events
    ORDER BY event_id;
    RETURN NULL;
END $$;
"""

_LOWER_TRIGGER = f"""
CREATE OR REPLACE FUNCTION cc_suppress_from_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO suppressions (email_address, reason, source_event_id, campaign_id)
    SELECT lower(r.email_address), {_REASON}, e.id, r.campaign_id
    FROM new_rows e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
    WHERE {_LISTED}
    ORDER BY e.id
    ON CONFLICT (email_address) DO NOTHING;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.drop_constraint("ck_suppressions_email_lower", "suppressions", type_="check")
    op.drop_constraint("suppressions_email_address_key", "suppressions", type_="unique")
    op.add_column("suppressions", sa.Column("email_key", sa.Text(), nullable=True))
    op.create_unique_constraint("suppressions_email_key_key", "suppressions", ["email_key"])
    op.create_index("ix_suppressions_email_address", "suppressions", ["email_address"])
    op.create_index(
        "ix_suppressions_unkeyed", "suppressions", ["id"], postgresql_where="email_key IS NULL"
    )
    op.execute(
        "UPDATE suppressions s SET email_address = r.email_address"
        " FROM email_tracking e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id"
        " WHERE e.id = s.source_event_id AND lower(r.email_address) = s.email_address"
    )
    op.execute(_KEYED_TRIGGER)


def downgrade() -> None:
    op.execute(_LOWER_TRIGGER)
    op.execute(
        "DELETE FROM suppressions s USING suppressions f"
        " WHERE lower(f.email_address) = lower(s.email_address) AND f.id < s.id"
    )
    op.execute("UPDATE suppressions SET email_address = lower(email_address)")
    op.drop_index("ix_suppressions_unkeyed", "suppressions")
    op.drop_index("ix_suppressions_email_address", "suppressions")
    op.drop_constraint("suppressions_email_key_key", "suppressions", type_="unique")
    op.drop_column("suppressions", "email_key")
    op.create_unique_constraint("suppressions_email_address_key", "suppressions", ["email_address"])
    op.create_check_constraint(
        "ck_suppressions_email_lower", "suppressions", "email_address = lower(email_address)"
    )
