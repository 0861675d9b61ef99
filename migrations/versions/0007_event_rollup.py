"""The event rollup: a campaign's event figures kept by the database, exact at every commit.

The analytics screen's figures (events and distinct recipients per type, human vs machine,
opens and clicks per UTC hour, clicks per link, bounces per kind and SMTP code) used to be
aggregated from email_tracking on every reading: seconds on a campaign of millions of events.
Statement-level triggers on email_tracking (transition tables, set-based, one pass per
statement like 0003's counters) now keep them in these tables, whoever writes the events:

    rollup_campaigns       one row per campaign: events and distinct recipients per type,
                           machine opens/clicks, human openers/clickers, hard/soft bounces
    rollup_hours           events (and machine events) per (campaign, UTC hour, type)
    rollup_links           clicks and distinct clickers per (campaign, event_data.link_url)
    rollup_bounce_codes    bounces and distinct recipients per (campaign, kind, error_code)
    rollup_recipients      per recipient with events: its events per type, machine opens/clicks
    rollup_recipient_keys  per recipient: its clicks per link and bounces per (kind, code)

Distinct-recipient figures are not additive, so the rollup keeps each recipient's own counts
(the last two tables) and adds to a campaign's "recipients" figure exactly when a recipient's
count crosses zero: an upsert adds the statement's delta to the recipient's row and returns the
new value, old = new - delta. Every trigger first locks the rows of the campaigns it touches
(FOR NO KEY UPDATE, in id order, as 0003's counters do), so writers of one campaign's rollup
take turns: the second of two transactions recording the first open of the same recipient
waits, then (READ COMMITTED: a new snapshot per statement) sees the first one's row and adds
to it. Under REPEATABLE READ the upsert fails with a serialization error instead of counting
twice. Keys of links and codes are sha256 of the text (a btree can't hold a 16 KiB URL).

DELETE subtracts what the rollup counted, under the campaign its recipient row in the rollup
names (recipients deleted along with their events are gone from campaign_recipients); a
campaign deleted with its events loses its rollup rows whole. UPDATE (core.events.machine's
reclassify) subtracts the old rows and adds the new ones. A recipient moved to another
campaign takes its events' counts along (a row trigger, for moves only). Rows whose figures
all come back to zero are deleted, so a rollup equals one built from the events.

Loads that skip triggers (session_replication_role = replica) rebuild with
cc_rollup_rebuild(campaign ids, or NULL for all), one set-based pass per table
(core.figures.rollup.rebuild). No foreign keys: such loads and deletes would leave them dangling.

Revision ID: 0007_event_rollup
Revises: 0006_machine_events_index
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_event_rollup"
down_revision: str | None = "0006_machine_events_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The event types (core.store.enums.EventType), the rollup's tables (core.figures.rollup.TABLES) and
# below their columns (core.store.rollup_tables), the machine marker
# (core.figures.breakdowns.IS_MACHINE) and the bounce kinds (breakdowns.HARD_BOUNCES and
# SOFT_BOUNCES), as this revision knows them. Restated, not imported: a migration imports nothing
# from core, so that it does the same however core changes later.
TYPES = ("open", "click", "bounce", "reply", "forward", "unsubscribe", "complain")
TABLES = (
    "rollup_campaigns",
    "rollup_hours",
    "rollup_links",
    "rollup_bounce_codes",
    "rollup_recipients",
    "rollup_recipient_keys",
)

# --- what an event contributes (one definition, used by the triggers and the rebuild) -------

HOUR = "date_bin(interval '1 hour', {e}.created_at, timestamptz '2000-01-01 00:00+00')"
# core.figures.breakdowns.IS_MACHINE, on opens and clicks only (what campaign_stats counts).
MACHINE = (
    "({e}.event_type IN ('open', 'click')"
    """ AND COALESCE({e}.event_data @> '{{"machine": true}}'::jsonb, false))"""
)
URL = "CASE WHEN {e}.event_type = 'click' THEN {e}.event_data ->> 'link_url' END"
KIND = (
    "CASE WHEN {e}.event_type = 'bounce' THEN CASE"
    " WHEN lower({e}.event_data ->> 'bounce_type') IN ('hard', 'permanent') THEN 'hard'"
    " WHEN lower({e}.event_data ->> 'bounce_type') IN ('soft', 'transient') THEN 'soft'"
    " ELSE 'other' END END"
)
CODE = "CASE WHEN {e}.event_type = 'bounce' THEN nullif({e}.event_data ->> 'error_code', '') END"
# 'l' / 'l=<url>' for a link (no url / a url), 'b<kind>' / 'b<kind>=<code>' for a bounce.
KEY = (
    "sha256(convert_to(CASE {e}.event_type"
    " WHEN 'click' THEN 'l' || COALESCE('=' || ({url}), '')"
    " ELSE 'b' || ({kind}) || COALESCE('=' || ({code}), '') END, 'UTF8'))"
)


def _of(expr: str, e: str) -> str:
    return expr.format(e=e)


def _key(e: str) -> str:
    return KEY.format(e=e, url=_of(URL, e), kind=_of(KIND, e), code=_of(CODE, e))


# --- columns ----------------------------------------------------------------------------------

R_COLS = [f"{t}_events" for t in TYPES] + ["machine_open_events", "machine_click_events"]
C_EVENT_COLS = [*R_COLS, "hard_bounce_events", "soft_bounce_events"]
C_RECIPIENT_COLS = [f"{t}_recipients" for t in TYPES] + [
    "human_open_recipients",
    "human_click_recipients",
]
C_COLS = C_EVENT_COLS + C_RECIPIENT_COLS


def _flags(v) -> dict[str, str]:
    """A recipient's 0/1 per distinct-recipient figure, from its counts v(column)."""
    out = {f"{t}_recipients": f"({v(f'{t}_events')} > 0)" for t in TYPES}
    human_click = f"({v('click_events')} > {v('machine_click_events')})"
    out["human_open_recipients"] = (
        f"({v('open_events')} > {v('machine_open_events')} OR {human_click})"
    )
    out["human_click_recipients"] = human_click
    return out


def _zero(cols: list[str], prefix: str = "") -> str:
    return f"({', '.join(prefix + c for c in cols)}) = ({', '.join('0' for _ in cols)})"


def _sums(cols_filters: dict[str, str], agg: str = "sum(s)") -> str:
    return ",\n        ".join(
        f"COALESCE({agg} FILTER (WHERE {f}), 0) AS {c}" for c, f in cols_filters.items()
    )


def _type_filters(t: str, m: str) -> dict[str, str]:
    """Per-recipient count columns and which events they count (t: the type, m: machine)."""
    out = {f"{x}_events": f"{t} = '{x}'" for x in TYPES}
    out["machine_open_events"] = f"{m} AND {t} = 'open'"
    out["machine_click_events"] = f"{m} AND {t} = 'click'"
    return out


_R_FILTERS = _type_filters("t", "m")
_C_FILTERS = _R_FILTERS | {
    "hard_bounce_events": "kind = 'hard'",
    "soft_bounce_events": "kind = 'soft'",
}


def _added(cols: list[str]) -> str:
    return ", ".join(f"{c} = o.{c} + excluded.{c}" for c in cols)


# --- applying signed events -------------------------------------------------------------------


def _apply(source: str) -> str:
    """One statement adding `source`'s events to the rollup: rows (cid, rid, s, event_type,
    event_data, created_at) with s = +1 for an event to count, -1 for one to take away."""
    new, old = _flags(lambda c: f"u.{c}"), _flags(lambda c: f"(u.{c} - d.{c})")
    crossings = ",\n        ".join(f"sum({new[c]}::int - {old[c]}::int) AS {c}" for c in new)
    return f"""
WITH ev AS MATERIALIZED (
    SELECT x.cid, x.rid, x.s, x.event_type AS t, {_of(HOUR, "x")} AS hr,
           {_of(MACHINE, "x")} AS m, {_of(URL, "x")} AS url, {_of(KIND, "x")} AS kind,
           {_of(CODE, "x")} AS code,
           CASE WHEN x.event_type IN ('click', 'bounce') THEN {_key("x")} END AS k
    FROM ({source}) AS x
    WHERE x.cid IS NOT NULL
),
dr AS (
    SELECT rid, min(cid) AS cid,
        {_sums(_R_FILTERS)}
    FROM ev GROUP BY rid
),
ur AS (
    INSERT INTO rollup_recipients AS o (recipient_id, campaign_id, {", ".join(R_COLS)})
    SELECT rid, cid, {", ".join(R_COLS)} FROM dr WHERE NOT {_zero(R_COLS)}
    ON CONFLICT (recipient_id) DO UPDATE SET {_added(R_COLS)}
    RETURNING o.*
),
tr AS (
    SELECT u.campaign_id AS cid,
        {crossings}
    FROM ur u JOIN dr d ON d.rid = u.recipient_id
    GROUP BY u.campaign_id
),
dc AS (
    SELECT cid,
        {_sums(_C_FILTERS)}
    FROM ev GROUP BY cid
),
uc AS (
    INSERT INTO rollup_campaigns AS o (campaign_id, {", ".join(C_COLS)})
    SELECT * FROM (
        SELECT dc.cid, {", ".join("dc." + c for c in C_EVENT_COLS)},
               {", ".join(f"COALESCE(tr.{c}, 0) AS {c}" for c in C_RECIPIENT_COLS)}
        FROM dc LEFT JOIN tr ON tr.cid = dc.cid
    ) AS delta
    WHERE NOT {_zero(C_COLS)}
    ON CONFLICT (campaign_id) DO UPDATE SET {_added(C_COLS)}
),
uh AS (
    INSERT INTO rollup_hours AS o (campaign_id, hour, event_type, events, machine_events)
    SELECT cid, hr, t, sum(s), COALESCE(sum(s) FILTER (WHERE m), 0)
    FROM ev GROUP BY cid, hr, t
    HAVING (sum(s), COALESCE(sum(s) FILTER (WHERE m), 0)) <> (0, 0)
    ON CONFLICT (campaign_id, hour, event_type) DO UPDATE SET {_added(["events", "machine_events"])}
),
dk AS (
    SELECT rid, min(cid) AS cid, k, sum(s) AS n FROM ev WHERE k IS NOT NULL
    GROUP BY rid, k HAVING sum(s) <> 0
),
uk AS (
    INSERT INTO rollup_recipient_keys AS o (recipient_id, key, campaign_id, events)
    SELECT rid, k, cid, n FROM dk
    ON CONFLICT (recipient_id, key) DO UPDATE SET events = o.events + excluded.events
    RETURNING o.recipient_id, o.key, o.campaign_id, o.events
),
kt AS (
    SELECT u.campaign_id AS cid, u.key AS k,
           sum((u.events > 0)::int - (u.events - d.n > 0)::int) AS recipients
    FROM uk u JOIN dk d ON d.rid = u.recipient_id AND d.k = u.key
    GROUP BY u.campaign_id, u.key
),
dkc AS (
    SELECT x.cid, x.k, x.t, x.url, x.kind, x.code, x.events,
           COALESCE(kt.recipients, 0) AS recipients
    FROM (
        SELECT cid, k, min(t) AS t, min(url) AS url, min(kind) AS kind, min(code) AS code,
               sum(s) AS events
        FROM ev WHERE k IS NOT NULL GROUP BY cid, k
    ) AS x LEFT JOIN kt ON kt.cid = x.cid AND kt.k = x.k
    WHERE (x.events, COALESCE(kt.recipients, 0)) <> (0, 0)
),
ul AS (
    INSERT INTO rollup_links AS o (campaign_id, url_key, link_url, clicks, recipients)
    SELECT cid, k, url, events, recipients FROM dkc WHERE t = 'click'
    ON CONFLICT (campaign_id, url_key) DO UPDATE
    SET clicks = o.clicks + excluded.clicks, recipients = o.recipients + excluded.recipients
)
INSERT INTO rollup_bounce_codes AS o (campaign_id, code_key, kind, error_code, bounces, recipients)
SELECT cid, k, kind, code, events, recipients FROM dkc WHERE t = 'bounce'
ON CONFLICT (campaign_id, code_key) DO UPDATE
SET bounces = o.bounces + excluded.bounces, recipients = o.recipients + excluded.recipients"""


def _cleanup(recipients: str, campaigns: str) -> str:
    """Delete the rows left at zero: of these recipients and campaigns (arrays of ids)."""
    return f"""
    DELETE FROM rollup_recipients WHERE recipient_id = ANY({recipients}) AND {_zero(R_COLS)};
    DELETE FROM rollup_recipient_keys WHERE recipient_id = ANY({recipients}) AND events = 0;
    DELETE FROM rollup_campaigns WHERE campaign_id = ANY({campaigns}) AND {_zero(C_COLS)};
    DELETE FROM rollup_hours
    WHERE campaign_id = ANY({campaigns}) AND events = 0 AND machine_events = 0;
    DELETE FROM rollup_links WHERE campaign_id = ANY({campaigns}) AND clicks = 0 AND recipients = 0;
    DELETE FROM rollup_bounce_codes
    WHERE campaign_id = ANY({campaigns}) AND bounces = 0 AND recipients = 0;"""


def _lock(campaign_ids: str) -> str:
    """Lock these campaigns' rows in id order; `touched` gets their ids."""
    return f"""
    SELECT array_agg(id) INTO touched FROM (
        SELECT c.id FROM campaigns c WHERE c.id IN ({campaign_ids})
        ORDER BY c.id FOR NO KEY UPDATE OF c
    ) AS locked;"""


# An event's campaign: for new rows its recipient's; for old rows the one the rollup counted
# it under (its recipient may be gone: deleted with it). Looked up row by row by primary key,
# a scalar subquery the planner can't turn into a hash join: a trigger's plan is kept for the
# session, planned for the first statement's transition table, and a plan made for a COPY of
# a million events would read every recipient for each single event after it.
_CID = "(SELECT r.campaign_id FROM campaign_recipients r WHERE r.id = {rid})"
_COUNTED_CID = "(SELECT st.campaign_id FROM rollup_recipients st WHERE st.recipient_id = {rid})"
_ROWS = """SELECT {cid} AS cid, e.campaign_recipient_id AS rid, {s} AS s, e.event_type,
           e.event_data, e.created_at
    FROM {rows} e"""
_NEW = _ROWS.format(cid=_CID.format(rid="e.campaign_recipient_id"), s=1, rows="new_rows")
_OLD = _ROWS.format(cid=_COUNTED_CID.format(rid="e.campaign_recipient_id"), s=-1, rows="old_rows")
_DISTINCT = "(SELECT DISTINCT campaign_recipient_id AS rid FROM {rows}) AS x"
_NEW_CAMPAIGNS = f"SELECT {_CID.format(rid='x.rid')} FROM {_DISTINCT.format(rows='new_rows')}"
_OLD_CAMPAIGNS = (
    f"SELECT {_COUNTED_CID.format(rid='x.rid')} FROM {_DISTINCT.format(rows='old_rows')}"
)
_OLD_RECIPIENTS = "ARRAY(SELECT DISTINCT campaign_recipient_id FROM old_rows)"


def _function(name: str, body: str, declare: str = "touched int[]; gone int[];") -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE {declare}
BEGIN
{body}
    RETURN NULL;
END $$;
"""


def _drop_gone() -> str:
    """Campaigns deleted in this statement (a cascade from campaigns to recipients to events)
    lose their rollup rows whole, cheaper than subtracting every event."""
    deletes = "\n".join(f"        DELETE FROM {t} WHERE campaign_id = ANY(gone);" for t in TABLES)
    return f"""
    SELECT array_agg(cid) INTO gone FROM (SELECT DISTINCT cid FROM ({_OLD_CAMPAIGNS}) AS y(cid)) z
    WHERE cid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = z.cid);
    IF gone IS NOT NULL THEN
{deletes}
    END IF;"""


_INSERTED = _function(
    "cc_rollup_events_inserted",
    f"""{_lock(_NEW_CAMPAIGNS)}
{_apply(_NEW)};""",
)
_DELETED = _function(
    "cc_rollup_events_deleted",
    f"""{_drop_gone()}
{_lock(_OLD_CAMPAIGNS)}
{_apply(_OLD)};
{_cleanup(_OLD_RECIPIENTS, "touched")}""",
)
_UPDATED = _function(
    "cc_rollup_events_updated",
    f"""{_lock(_NEW_CAMPAIGNS + " UNION " + _OLD_CAMPAIGNS)}
{_apply(_NEW + " UNION ALL " + _OLD)};
{_cleanup(_OLD_RECIPIENTS, "touched")}""",
)
# A recipient moved to another campaign (rare: a row trigger, fired only for moves) takes
# its events' counts along: taken away under the old campaign, added under the new one.
_MOVED_OLD = """SELECT st.campaign_id AS cid, e.campaign_recipient_id AS rid, -1 AS s,
           e.event_type, e.event_data, e.created_at
    FROM email_tracking e JOIN rollup_recipients st ON st.recipient_id = e.campaign_recipient_id
    WHERE e.campaign_recipient_id = NEW.id"""
_MOVED_NEW = """SELECT NEW.campaign_id AS cid, e.campaign_recipient_id AS rid, 1 AS s,
           e.event_type, e.event_data, e.created_at
    FROM email_tracking e WHERE e.campaign_recipient_id = NEW.id"""
_MOVED = _function(
    "cc_rollup_recipient_moved",
    f"""{_lock("OLD.campaign_id, NEW.campaign_id")}
{_apply(_MOVED_OLD)};
{_cleanup("ARRAY[NEW.id]", "ARRAY[OLD.campaign_id]")}
{_apply(_MOVED_NEW)};""",
)
_TRUNCATED = _function(
    "cc_rollup_events_truncated", f"    TRUNCATE {', '.join(TABLES)};", declare=""
)

# --- the rebuild ------------------------------------------------------------------------------

_SCOPE = "FROM email_tracking e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id"
_R_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE {f})"
    for f in _type_filters("e.event_type", _of(MACHINE, "e")).values()
)
_REBUILD_STATEMENTS = [
    f"""INSERT INTO rollup_recipients (recipient_id, campaign_id, {", ".join(R_COLS)})
    SELECT e.campaign_recipient_id, min(r.campaign_id), {_R_COUNTS}
    {_SCOPE} WHERE r.campaign_id = ANY($1) GROUP BY e.campaign_recipient_id
    ON CONFLICT (recipient_id) DO UPDATE SET campaign_id = excluded.campaign_id,
    {", ".join(f"{c} = excluded.{c}" for c in R_COLS)}""",
    f"""INSERT INTO rollup_recipient_keys (recipient_id, key, campaign_id, events)
    SELECT e.campaign_recipient_id, {_key("e")}, min(r.campaign_id), count(*)
    {_SCOPE} WHERE r.campaign_id = ANY($1) AND e.event_type IN ('click', 'bounce')
    GROUP BY 1, 2
    ON CONFLICT (recipient_id, key) DO UPDATE
    SET campaign_id = excluded.campaign_id, events = excluded.events""",
    f"""INSERT INTO rollup_hours (campaign_id, hour, event_type, events, machine_events)
    SELECT r.campaign_id, {_of(HOUR, "e")}, e.event_type, count(*),
           count(*) FILTER (WHERE {_of(MACHINE, "e")})
    {_SCOPE} WHERE r.campaign_id = ANY($1) GROUP BY 1, 2, 3""",
    f"""INSERT INTO rollup_links (campaign_id, url_key, link_url, clicks, recipients)
    SELECT r.campaign_id, {_key("e")}, min({_of(URL, "e")}), count(*),
           count(DISTINCT e.campaign_recipient_id)
    {_SCOPE} WHERE r.campaign_id = ANY($1) AND e.event_type = 'click' GROUP BY 1, 2""",
    f"""INSERT INTO rollup_bounce_codes (campaign_id, code_key, kind, error_code, bounces,
                                     recipients)
    SELECT r.campaign_id, {_key("e")}, min({_of(KIND, "e")}), min({_of(CODE, "e")}), count(*),
           count(DISTINCT e.campaign_recipient_id)
    {_SCOPE} WHERE r.campaign_id = ANY($1) AND e.event_type = 'bounce' GROUP BY 1, 2""",
    f"""INSERT INTO rollup_campaigns (campaign_id, {", ".join(C_COLS)})
    SELECT s.campaign_id, {", ".join(f"sum(s.{c})" for c in R_COLS)},
           COALESCE(min(b.hard), 0), COALESCE(min(b.soft), 0),
           {", ".join(f"count(*) FILTER (WHERE {f})" for f in _flags(lambda c: "s." + c).values())}
    FROM rollup_recipients s
    LEFT JOIN (
        SELECT campaign_id, sum(bounces) FILTER (WHERE kind = 'hard') AS hard,
               sum(bounces) FILTER (WHERE kind = 'soft') AS soft
        FROM rollup_bounce_codes WHERE campaign_id = ANY($1) GROUP BY campaign_id
    ) AS b ON b.campaign_id = s.campaign_id
    WHERE s.campaign_id = ANY($1) GROUP BY s.campaign_id""",
]


def _rebuild_function() -> str:
    deletes_all = "\n".join(f"        DELETE FROM {t};" for t in TABLES)
    deletes_some = "\n".join(
        f"        DELETE FROM {t} WHERE campaign_id = ANY(campaign_ids);" for t in TABLES
    )
    statements = "\n".join(f"    EXECUTE $q${s}$q$ USING ids;" for s in _REBUILD_STATEMENTS)
    return f"""
CREATE FUNCTION cc_rollup_rebuild(campaign_ids int[]) RETURNS void LANGUAGE plpgsql
SET work_mem = '256MB' AS $$
DECLARE ids int[];
BEGIN
    -- Writers of these campaigns wait for us, then add their events on top (as in recount).
    SELECT array_agg(id) INTO ids FROM (
        SELECT c.id FROM campaigns c
        WHERE campaign_ids IS NULL OR c.id = ANY(campaign_ids)
        ORDER BY c.id FOR NO KEY UPDATE OF c
    ) AS locked;
    IF campaign_ids IS NULL THEN
{deletes_all}
    ELSE
        ids := COALESCE(ids, '{{}}');
{deletes_some}
    END IF;
    -- Planned for these campaigns each time (EXECUTE): one small campaign reads its events by
    -- index, the whole table is read in one pass.
{statements}
END $$;
"""


# --- tables -----------------------------------------------------------------------------------


def _counts(names: list[str], kind) -> list[sa.Column]:
    return [sa.Column(n, kind, nullable=False) for n in names]


def upgrade() -> None:
    op.create_table(
        "rollup_campaigns",
        sa.Column("campaign_id", sa.Integer(), primary_key=True, autoincrement=False),
        *_counts(C_COLS, sa.BigInteger()),
    )
    op.create_table(
        "rollup_hours",
        sa.Column("campaign_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("event_type", sa.String(50), primary_key=True),
        *_counts(["events", "machine_events"], sa.BigInteger()),
    )
    op.create_table(
        "rollup_links",
        sa.Column("campaign_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("url_key", sa.LargeBinary(), primary_key=True),
        sa.Column("link_url", sa.Text(), nullable=True),
        *_counts(["clicks", "recipients"], sa.BigInteger()),
    )
    op.create_table(
        "rollup_bounce_codes",
        sa.Column("campaign_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("code_key", sa.LargeBinary(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("error_code", sa.Text(), nullable=True),
        *_counts(["bounces", "recipients"], sa.BigInteger()),
    )
    op.create_table(
        "rollup_recipients",
        sa.Column("recipient_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        *_counts(R_COLS, sa.Integer()),
    )
    op.create_index("ix_rollup_recipients_campaign_id", "rollup_recipients", ["campaign_id"])
    op.create_table(
        "rollup_recipient_keys",
        sa.Column("recipient_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("key", sa.LargeBinary(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_rollup_recipient_keys_campaign_id", "rollup_recipient_keys", ["campaign_id"]
    )

    # Updated by every statement that records events: room on each page for new row versions
    # that stay on it (HOT updates, no index entries), the small tables most.
    for table in TABLES:
        fill = 80 if table.startswith("rollup_recipient") else 50
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {fill})")
    for sql in (_INSERTED, _DELETED, _UPDATED, _MOVED, _TRUNCATED, _rebuild_function()):
        op.execute(sql)
    for name, event, referencing in (
        ("cc_rollup_events_inserted", "INSERT", "NEW TABLE AS new_rows"),
        ("cc_rollup_events_deleted", "DELETE", "OLD TABLE AS old_rows"),
        ("cc_rollup_events_updated", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON email_tracking REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.execute(
        "CREATE TRIGGER cc_rollup_events_truncated AFTER TRUNCATE ON email_tracking"
        " FOR EACH STATEMENT EXECUTE FUNCTION cc_rollup_events_truncated()"
    )
    op.execute(
        "CREATE TRIGGER cc_rollup_recipient_moved AFTER UPDATE OF campaign_id"
        " ON campaign_recipients FOR EACH ROW"
        " WHEN (OLD.campaign_id IS DISTINCT FROM NEW.campaign_id)"
        " EXECUTE FUNCTION cc_rollup_recipient_moved()"
    )
    # Events stored before this revision.
    op.execute("SELECT cc_rollup_rebuild(NULL)")


def downgrade() -> None:
    op.execute("DROP TRIGGER cc_rollup_recipient_moved ON campaign_recipients")
    for name in ("inserted", "deleted", "updated", "truncated"):
        op.execute(f"DROP TRIGGER cc_rollup_events_{name} ON email_tracking")
        op.execute(f"DROP FUNCTION cc_rollup_events_{name}()")
    op.execute("DROP FUNCTION cc_rollup_recipient_moved()")
    op.execute("DROP FUNCTION cc_rollup_rebuild(int[])")
    for table in reversed(TABLES):
        op.drop_table(table)
