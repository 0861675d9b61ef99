"""Recipients of a campaign: add leads, import a CSV, remove (claiming them for a send and
the send's outcomes are core.recipients.send).

Every write here is set-based (one statement for any number of rows) and runs in the caller's
transaction. Counters on campaigns are kept by the database's triggers, never from here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import psycopg
from sqlalchemy import func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

import core.recipients.suppression as suppression
from core.errors import NotFound
from core.recipients.checks import R, checked_ids, id_array, open_campaign
from core.recipients.csv import LineError, read_recipients_csv
from core.store import CampaignRecipient, Lead, rows_written


@dataclass(frozen=True, slots=True)
class AddResult:
    added: int
    skipped_duplicates: int  # leads that were already recipients of the campaign
    requested: int  # distinct leads asked for
    skipped_suppressed: int = 0  # leads whose address is on the suppression list


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int  # new recipients
    created_leads: int  # addresses that had no lead yet
    reused_leads: int  # addresses that matched an existing lead (case-insensitively)
    skipped_duplicates: int  # lines repeating an address, or already a recipient
    errors: tuple[LineError, ...]  # lines not imported, by line number: every one of them
    skipped_suppressed: int = 0  # addresses on the suppression list (no lead created either)
    # Lines repeating an earlier line's address, each "duplicate of line N in this file"
    # (counted in skipped_duplicates too).
    in_file_duplicates: tuple[LineError, ...] = ()
    delimiter: str = ","  # the file's: a comma, a semicolon or a tab

    @property
    def already_in_campaign(self) -> int:
        """Addresses skipped because they were recipients of the campaign already."""
        return self.skipped_duplicates - len(self.in_file_duplicates)


# --- adding -------------------------------------------------------------------------------


def add_leads(
    session: Session, campaign: int | str, lead_ids: Iterable[int] | None = None
) -> AddResult:
    """Add leads as pending recipients (None = every lead). Leads already in the campaign, and
    leads whose address is suppressed (core.recipients.suppression), are skipped and counted, not an
    error. NotFound names lead ids that don't exist."""
    ids = None if lead_ids is None else checked_ids(lead_ids, "Lead ids")
    c = open_campaign(session, campaign, "add recipients to")
    leads = Lead.__table__.c
    if ids is None:
        source = select(literal(c.id), leads.id, leads.email)
        requested = session.scalar(select(func.count()).select_from(Lead.__table__)) or 0
    else:
        if not ids:
            return AddResult(0, 0, 0)
        missing = session.scalars(text(_MISSING_LEADS), {"ids": ids}).all()
        if missing:
            shown = ", ".join(str(i) for i in sorted(missing)[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise NotFound(f"No lead with id {shown}{more}; nothing was added.")
        source = select(literal(c.id), leads.id, leads.email).where(
            leads.id == func.any(id_array("ids", ids))
        )
        requested = len(ids)
    suppression.key_pending(session)
    pairs = select(leads.id, leads.email)
    if source.whereclause is not None:
        pairs = pairs.where(source.whereclause)
    streamed = session.execute(pairs, execution_options={"yield_per": suppression.CHUNK})
    listed = suppression.suppressed_among(session, streamed)  # every lead: streamed
    skipped = len(listed)
    if skipped:
        source = source.where(leads.id != func.all(id_array("listed", sorted(listed))))
    stmt = (
        pg_insert(CampaignRecipient.__table__)
        .from_select(["campaign_id", "lead_id", "email_address"], source.order_by(leads.id))
        .on_conflict_do_nothing(index_elements=["campaign_id", "lead_id"])
    )
    # rowcount of an INSERT is only kept on request (SQLAlchemy keeps it for UPDATE/DELETE).
    added = rows_written(session, stmt.execution_options(preserve_rowcount=True))
    return AddResult(added, requested - added - skipped, requested, skipped)


# Suppressed addresses leave the import before any lead is looked up or created; keys are
# core.recipients.suppression.address_key() of each line's address, computed while copying the lines
# in.
_SKIP_SUPPRESSED = "DELETE FROM {t} t USING suppressions s WHERE s.email_key = t.key"
_MISSING_LEADS = """
SELECT x FROM unnest(CAST(:ids AS int[])) AS x
WHERE NOT EXISTS (SELECT 1 FROM leads WHERE leads.id = x)
"""
# Existing leads, matched case-insensitively (the lowest id wins if case alone tells two apart).
_REUSE = """
UPDATE {t} t SET lead_id = m.id
FROM (SELECT lower(l.email) AS email, min(l.id) AS id
      FROM leads l JOIN {t} s ON lower(l.email) = s.email
      GROUP BY 1) m
WHERE m.email = t.email
"""
_CREATE = """
WITH created AS (
    INSERT INTO leads (email, name, company)
    SELECT email, name, company FROM {t} WHERE lead_id IS NULL ORDER BY line
    ON CONFLICT (email) DO NOTHING
    RETURNING id, email
)
UPDATE {t} t SET lead_id = created.id FROM created WHERE created.email = t.email
"""
# Leads a concurrent import created between our lookup and our insert (ON CONFLICT waited
# for it to commit, so this statement sees them).
_LATE = "UPDATE {t} t SET lead_id = l.id FROM leads l WHERE t.lead_id IS NULL AND l.email = t.email"
_ADD = """
INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)
SELECT :campaign, t.lead_id, l.email FROM {t} t JOIN leads l ON l.id = t.lead_id ORDER BY t.line
ON CONFLICT (campaign_id, lead_id) DO NOTHING
"""


def import_csv(
    session: Session, campaign: int | str, source: str | os.PathLike | IO
) -> ImportResult:
    """Import a CSV of email[,name,company] (a path, or an open stream) as recipients.

    An optional header row, a UTF-8 BOM and blank lines are fine. Invalid lines are reported
    in `errors` by line number and the valid ones imported; leads are reused by address
    (case-insensitive) or created. InvalidInput when the file isn't UTF-8 CSV at all.
    """
    parsed = read_recipients_csv(source)
    c = open_campaign(session, campaign, "import recipients into")
    rows = parsed.rows
    if not rows:
        return ImportResult(
            0,
            0,
            0,
            parsed.repeated,
            parsed.errors,
            in_file_duplicates=parsed.repeats,
            delimiter=parsed.delimiter,
        )
    table = f"cc_import_{secrets.token_hex(6)}"
    conn = session.connection()
    conn.execute(
        text(
            f"CREATE TEMP TABLE {table} (line int NOT NULL, email text NOT NULL, name text,"
            " company text, lead_id int, key text NOT NULL) ON COMMIT DROP"
        )
    )
    # COPY on the session's own connection: same transaction, the fastest way in.
    copy_in = f"COPY {table} (line, email, name, company, key) FROM STDIN"
    key = suppression.address_key
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):  # the engine is always psycopg's
        raise TypeError(f"COPY needs a psycopg connection, not {type(driver).__name__}")
    with driver.cursor() as cursor, cursor.copy(copy_in) as copy:
        for row in rows:
            copy.write_row((*row, key(row.email)))
    conn.execute(text(f"ANALYZE {table}"))  # temp tables have no statistics otherwise
    suppression.key_pending(session)
    suppressed = conn.execute(text(_SKIP_SUPPRESSED.format(t=table))).rowcount
    found = conn.execute(text(_REUSE.format(t=table))).rowcount
    created = conn.execute(text(_CREATE.format(t=table))).rowcount
    if found + created + suppressed < len(rows):
        conn.execute(text(_LATE.format(t=table)))
    added = conn.execute(text(_ADD.format(t=table)), {"campaign": c.id}).rowcount
    conn.execute(text(f"DROP TABLE {table}"))
    return ImportResult(
        added=added,
        created_leads=created,
        reused_leads=len(rows) - suppressed - created,
        skipped_duplicates=parsed.repeated + len(rows) - suppressed - added,
        errors=parsed.errors,
        skipped_suppressed=suppressed,
        in_file_duplicates=parsed.repeats,
        delimiter=parsed.delimiter,
    )


# --- removing ------------------------------------------------------------------------------


def remove_recipients(session: Session, campaign: int | str, recipient_ids: Iterable[int]) -> int:
    """Delete these recipients of the campaign (their events go with them); ids of other
    campaigns' recipients are ignored. Returns how many were removed."""
    ids = checked_ids(recipient_ids, "Recipient ids")
    c = open_campaign(session, campaign, "remove recipients from")
    if not ids:
        return 0
    t = CampaignRecipient.__table__
    stmt = t.delete().where(R.campaign_id == c.id, R.id == func.any(id_array("ids", ids)))
    return rows_written(session, stmt)
