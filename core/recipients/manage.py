"""Recipients of a campaign: add leads, import a CSV, remove, claim for sending, send outcomes.

Every write here is set-based (one statement for any number of rows) and runs in the caller's
transaction. Counters on campaigns are kept by the database's triggers, never from here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from sqlalchemy import Integer, bindparam, case, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from core.campaigns import resolve_campaign
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.recipients import suppression
from core.recipients.csv import LineError, read_recipients_csv
from core.store import Campaign, CampaignRecipient, CampaignStatus, Lead, RecipientStatus
from core.times import check_aware

R = CampaignRecipient.__table__.c
RS = RecipientStatus
_FINAL = (CampaignStatus.COMPLETED, CampaignStatus.FAILED)
CLAIM_MAX = 10_000


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


@dataclass(frozen=True, slots=True)
class ClaimedRecipient:
    id: int
    email_address: str
    lead_id: int


# --- helpers ------------------------------------------------------------------------------


def _ids(values: Iterable[int], what: str) -> list[int]:
    if isinstance(values, str | bytes):
        raise InvalidInput(f"{what} must be a list of ids, not {values!r}.")
    ids: dict[int, None] = {}
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidInput(f"{what} are whole numbers; {v!r} is not.")
        ids[v] = None
    return list(ids)


def _array(name: str, ids: list[int]):
    return bindparam(name, ids, type_=ARRAY(Integer))


def _error_text(error: str) -> str:
    if not isinstance(error, str) or not error.strip():
        raise InvalidInput("Give the error message (what the mail server said); it's empty.")
    if "\x00" in error:
        raise InvalidInput("The error message contains a NUL character; it can't be stored.")
    return error.strip()


def _open_campaign(session: Session, campaign: int | str, doing: str) -> Campaign:
    """The campaign, locked against concurrent lifecycle moves; refused when it has ended."""
    # FOR NO KEY UPDATE: the same lock the counter triggers take, so adding never deadlocks
    # with them, while a concurrent complete()/fail() (FOR UPDATE) waits for us.
    c = resolve_campaign(session, campaign, for_update=True, key_share=True)
    if c.status in _FINAL:
        raise InvalidTransition(
            f"Can't {doing} {c.campaign_id}: it is {c.status}, and a {c.status} campaign's"
            " recipients are its record. Duplicate the campaign to send again."
        )
    return c


# --- adding -------------------------------------------------------------------------------


def add_leads(
    session: Session, campaign: int | str, lead_ids: Iterable[int] | None = None
) -> AddResult:
    """Add leads as pending recipients (None = every lead). Leads already in the campaign, and
    leads whose address is suppressed (core.recipients.suppression), are skipped and counted, not an
    error. NotFound names lead ids that don't exist."""
    ids = None if lead_ids is None else _ids(lead_ids, "Lead ids")
    c = _open_campaign(session, campaign, "add recipients to")
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
            leads.id == func.any(_array("ids", ids))
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
        source = source.where(leads.id != func.all(_array("listed", sorted(listed))))
    stmt = (
        pg_insert(CampaignRecipient.__table__)
        .from_select(["campaign_id", "lead_id", "email_address"], source.order_by(leads.id))
        .on_conflict_do_nothing(index_elements=["campaign_id", "lead_id"])
    )
    # rowcount of an INSERT is only kept on request (SQLAlchemy keeps it for UPDATE/DELETE).
    added = session.execute(stmt.execution_options(preserve_rowcount=True)).rowcount
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
    c = _open_campaign(session, campaign, "import recipients into")
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
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(copy_in) as copy:
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


# --- removing, claiming, outcomes ---------------------------------------------------------


def remove_recipients(session: Session, campaign: int | str, recipient_ids: Iterable[int]) -> int:
    """Delete these recipients of the campaign (their events go with them); ids of other
    campaigns' recipients are ignored. Returns how many were removed."""
    ids = _ids(recipient_ids, "Recipient ids")
    c = _open_campaign(session, campaign, "remove recipients from")
    if not ids:
        return 0
    t = CampaignRecipient.__table__
    stmt = t.delete().where(R.campaign_id == c.id, R.id == func.any(_array("ids", ids)))
    return session.execute(stmt).rowcount


def claim_batch(session: Session, campaign: int | str, n: int) -> tuple[ClaimedRecipient, ...]:
    """Up to n pending recipients, now queued for this sender; () unless the campaign runs.

    Rows another sender holds are skipped (FOR UPDATE SKIP LOCKED), so concurrent senders
    never get the same recipient. Suppression holds here, at send time: a picked recipient
    whose address is on the list now (core.recipients.suppression, compared by address_key) is never
    queued; it becomes unsubscribed (listed for an unsubscribe or a complaint) or failed
    (a hard bounce, or listed by hand), with "suppressed: <reason>" as its error, and the
    next pending one is picked in its place.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= CLAIM_MAX:
        raise InvalidInput(f"A batch is 1 to {CLAIM_MAX} recipients, not {n!r}.")
    c = resolve_campaign(session, campaign)
    if c.status != CampaignStatus.RUNNING:
        return ()
    suppression.key_pending(session)
    claimed: list[ClaimedRecipient] = []
    while len(claimed) < n:
        wanted = n - len(claimed)
        pick = (
            select(R.id, R.email_address)
            .where(R.campaign_id == c.id, R.status == RS.PENDING.value)
            .order_by(R.id)
            .limit(wanted)
            .with_for_update(skip_locked=True)
        )
        picked = session.execute(pick).all()
        if not picked:
            break
        listed = suppression.suppressed_among(session, picked)
        claimed.extend(_queue(session, [rid for rid, _ in picked], listed))
        if len(picked) < wanted:
            break  # no pending recipient left that another sender doesn't hold
    return tuple(sorted(claimed, key=lambda r: r.id))


_SUPPRESSED_STATUS = {"unsubscribe": RS.UNSUBSCRIBED.value, "complaint": RS.UNSUBSCRIBED.value}
# One statement for the picked rows (locked by the caller): queued, or refused as suppressed.
_QUEUE = text(
    "UPDATE campaign_recipients r SET status = x.status,"
    " error_message = coalesce('suppressed: ' || x.reason, r.error_message)"
    " FROM unnest(CAST(:ids AS int[]), CAST(:statuses AS text[]), CAST(:reasons AS text[]))"
    " AS x(id, status, reason) WHERE r.id = x.id"
    " RETURNING r.id, r.email_address, r.lead_id, x.status"
)


def _queue(session: Session, ids: list[int], listed: dict[int, str]) -> list[ClaimedRecipient]:
    reasons = [listed.get(i) for i in ids]
    statuses = [
        RS.QUEUED.value if r is None else _SUPPRESSED_STATUS.get(r, RS.FAILED.value)
        for r in reasons
    ]
    rows = session.execute(_QUEUE, {"ids": ids, "statuses": statuses, "reasons": reasons})
    return [ClaimedRecipient(*r[:3]) for r in rows if r[3] == RS.QUEUED.value]


def _at(at: datetime | None):
    return func.now() if at is None else check_aware(at, "The time")


def mark_sent(session: Session, recipient_ids: Iterable[int], *, at: datetime | None = None) -> int:
    """Pending, queued or failed recipients become sent (sent_at: the first time wins; the
    transaction's time when `at` is None). Bounced/unsubscribed ones are left as they are.
    Returns how many rows were marked."""
    ids = _ids(recipient_ids, "Recipient ids")
    when = _at(at)
    if not ids:
        return 0
    stmt = (
        update(CampaignRecipient.__table__)
        .where(
            R.id == func.any(_array("ids", ids)),
            R.status.in_([RS.PENDING.value, RS.QUEUED.value, RS.FAILED.value, RS.SENT.value]),
        )
        .values(status=RS.SENT.value, sent_at=func.coalesce(R.sent_at, when), error_message=None)
    )
    return session.execute(stmt).rowcount


def mark_failed(session: Session, recipient_ids: Iterable[int], error: str) -> int:
    """Pending or queued recipients whose sending failed become failed, with the error.
    Recipients already sent, bounced or unsubscribed are left alone. Returns rows marked."""
    ids = _ids(recipient_ids, "Recipient ids")
    error = _error_text(error)
    if not ids:
        return 0
    stmt = (
        update(CampaignRecipient.__table__)
        .where(
            R.id == func.any(_array("ids", ids)),
            R.status.in_([RS.PENDING.value, RS.QUEUED.value, RS.FAILED.value]),
        )
        .values(status=RS.FAILED.value, error_message=error)
    )
    return session.execute(stmt).rowcount


def mark_bounced(
    session: Session, recipient_ids: Iterable[int], error: str, *, at: datetime | None = None
) -> int:
    """Recipients whose mail bounced: status bounced, bounced_at (first time wins), the error.
    Unsubscribed recipients keep that status (it says more) but get bounced_at and the error.
    Returns rows marked."""
    ids = _ids(recipient_ids, "Recipient ids")
    error = _error_text(error)
    when = _at(at)
    if not ids:
        return 0
    status = case((R.status == RS.UNSUBSCRIBED.value, R.status), else_=literal(RS.BOUNCED.value))
    stmt = (
        update(CampaignRecipient.__table__)
        .where(R.id == func.any(_array("ids", ids)))
        .values(status=status, bounced_at=func.coalesce(R.bounced_at, when), error_message=error)
    )
    return session.execute(stmt).rowcount


def retry_failed(session: Session, campaign: int | str) -> int:
    """Failed recipients of the campaign go back to pending (error cleared) to be claimed
    again. Refused once the campaign has ended. Returns how many."""
    c = _open_campaign(session, campaign, "retry recipients of")
    stmt = (
        update(CampaignRecipient.__table__)
        .where(R.campaign_id == c.id, R.status == RS.FAILED.value)
        .values(status=RS.PENDING.value, error_message=None)
    )
    return session.execute(stmt).rowcount
