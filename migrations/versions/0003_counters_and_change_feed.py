"""Counters kept by the database, and the change feed.

Statement-level triggers with transition tables keep campaigns.total_recipients and
emails_sent/opened/clicked/replied/bounced equal to counts of recipient rows, with one
UPDATE per campaign per statement, whoever writes the rows (this app, another program, psql).
Commits that touch campaigns, recipients or events NOTIFY `campaign_changes` with the
campaign's id as payload (PostgreSQL folds duplicates within a transaction).

Revision ID: 0003_counters_and_change_feed
Revises: 0002_campaign_management_tables
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_counters_and_change_feed"
down_revision: str | None = "0002_campaign_management_tables"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel core.store.changes.CHANNEL listens on, and below the counters
# core.figures.counters.COUNTERS names. Restated, not imported: a migration imports nothing from
# core, so that it does the same however core changes later.
CHANNEL = "campaign_changes"

# One signed row per transition-table row: +1 for rows that now exist, -1 for rows that no
# longer do, with a 0/1 per counted timestamp.
_SIGNED = """
        SELECT campaign_id, {s} AS n,
               {s} * (sent_at IS NOT NULL)::int AS sent,
               {s} * (opened_at IS NOT NULL)::int AS opened,
               {s} * (clicked_at IS NOT NULL)::int AS clicked,
               {s} * (replied_at IS NOT NULL)::int AS replied,
               {s} * (bounced_at IS NOT NULL)::int AS bounced
        FROM {table}"""

_COUNTER_FUNCTIONS = {
    # function name: (trigger event, transition tables, signed rows)
    "cc_recipients_inserted": (
        "INSERT",
        "NEW TABLE AS new_rows",
        _SIGNED.format(s=1, table="new_rows"),
    ),
    "cc_recipients_deleted": (
        "DELETE",
        "OLD TABLE AS old_rows",
        _SIGNED.format(s=-1, table="old_rows"),
    ),
    "cc_recipients_updated": (
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        _SIGNED.format(s=1, table="new_rows")
        + "\n        UNION ALL"
        + _SIGNED.format(s=-1, table="old_rows"),
    ),
}


def _counter_function(name: str, signed_rows: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH delta AS (
        SELECT campaign_id, sum(n) AS n, sum(sent) AS sent, sum(opened) AS opened,
               sum(clicked) AS clicked, sum(replied) AS replied, sum(bounced) AS bounced
        FROM ({signed_rows}
        ) AS signed
        GROUP BY campaign_id
    ),
    changed AS (
        SELECT * FROM delta
        WHERE (n, sent, opened, clicked, replied, bounced) <> (0, 0, 0, 0, 0, 0)
    ),
    -- Lock in id order so two writers touching the same campaigns can't deadlock.
    locked AS (
        SELECT c.id FROM campaigns c JOIN changed d ON d.campaign_id = c.id
        ORDER BY c.id FOR NO KEY UPDATE OF c
    )
    UPDATE campaigns c SET
        total_recipients = c.total_recipients + d.n,
        emails_sent = c.emails_sent + d.sent,
        emails_opened = c.emails_opened + d.opened,
        emails_clicked = c.emails_clicked + d.clicked,
        emails_replied = c.emails_replied + d.replied,
        emails_bounced = c.emails_bounced + d.bounced
    FROM changed d JOIN locked l ON l.id = d.campaign_id
    WHERE c.id = d.campaign_id;

    PERFORM pg_notify('{CHANNEL}', campaign_id::text)
    FROM (SELECT DISTINCT campaign_id FROM ({signed_rows}
    ) AS touched) AS t;
    RETURN NULL;
END $$;
"""


_NOTIFY_EVENTS = f"""
CREATE FUNCTION cc_events_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', campaign_id::text)
    FROM (
        SELECT DISTINCT r.campaign_id
        FROM new_rows e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
    ) AS t;
    RETURN NULL;
END $$;
"""

_NOTIFY_CAMPAIGN = f"""
CREATE FUNCTION cc_campaign_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    for name, (event, referencing, signed) in _COUNTER_FUNCTIONS.items():
        op.execute(_counter_function(name, signed))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON campaign_recipients "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.execute(_NOTIFY_EVENTS)
    op.execute(
        "CREATE TRIGGER cc_events_changed AFTER INSERT ON email_tracking "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cc_events_changed()"
    )
    op.execute(_NOTIFY_CAMPAIGN)
    op.execute(
        "CREATE TRIGGER cc_campaign_changed AFTER INSERT OR UPDATE OR DELETE ON campaigns "
        "FOR EACH ROW EXECUTE FUNCTION cc_campaign_changed()"
    )
    # Rows written before this revision: bring the counters in line once.
    op.execute(
        """
        UPDATE campaigns c SET
            total_recipients = a.n, emails_sent = a.sent, emails_opened = a.opened,
            emails_clicked = a.clicked, emails_replied = a.replied, emails_bounced = a.bounced
        FROM (
            SELECT c2.id, count(r.id) AS n, count(r.sent_at) AS sent, count(r.opened_at) AS opened,
                   count(r.clicked_at) AS clicked, count(r.replied_at) AS replied,
                   count(r.bounced_at) AS bounced
            FROM campaigns c2 LEFT JOIN campaign_recipients r ON r.campaign_id = c2.id
            GROUP BY c2.id
        ) AS a
        WHERE a.id = c.id
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER cc_campaign_changed ON campaigns")
    op.execute("DROP FUNCTION cc_campaign_changed()")
    op.execute("DROP TRIGGER cc_events_changed ON email_tracking")
    op.execute("DROP FUNCTION cc_events_changed()")
    for name in _COUNTER_FUNCTIONS:
        op.execute(f"DROP TRIGGER {name} ON campaign_recipients")
        op.execute(f"DROP FUNCTION {name}()")
