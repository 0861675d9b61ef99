"""The suppression list: addresses not to mail again, and why.

The database fills it (migration 0005's trigger on email_tracking): a hard bounce, a complaint
or an unsubscribe puts the recipient's address on the list, whoever recorded the event.
Operators add addresses by hand (`suppress`) and lift them (`lift`, after a confirmation in
the UI). core.recipients.manage skips listed addresses when adding leads or importing a CSV.

Addresses are compared by one key, address_key(): NFC, Python's casefold() (so a final sigma,
a dotted İ and a ß fold as Python folds them), punycode labels of the domain decoded to
Unicode. The key is computed in Python only, never in SQL (PostgreSQL's lower() folds
differently and knows no IDNA). It is stored in suppressions.email_key (unique, migration
0009); email_address keeps the address as it was given. Rows the database adds by itself
(0005's event trigger, or a plain-SQL writer) arrive without a key: key_pending() keys them,
folding a duplicate into the first row, in the transaction of every write that compares
(claim, import, add, duplicate, suppress, lift); reads key the few unkeyed rows on the fly.
Recipients are compared by the key of their address as typed, which is kept for sending.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.campaigns import campaign_key, check_limit, check_offset, like_pattern
from core.errors import InvalidInput
from core.recipients.csv import email_problem
from core.store import Campaign, CampaignRecipient, Suppression, SuppressionReason, rows_written

S = Suppression
R = CampaignRecipient
REASONS: tuple[str, ...] = tuple(r.value for r in SuppressionReason)
CHUNK = 10_000  # addresses looked up per statement


def _label(label: str) -> str:
    """A domain label in Unicode: an ACE label (xn--...) decoded, any other as it is."""
    if label[:4].lower() != "xn--":
        return label
    try:
        decoded = label[4:].lower().encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return label  # not valid punycode: compared as it is written
    return label if decoded.isascii() else decoded  # an A-label stands for non-ASCII only


def address_key(email: str) -> str:
    """The one normal form addresses are compared by (never used for sending): NFC, then
    Python's casefold() and NFC again; the domain's punycode labels decoded to Unicode.
    'ΣΟΦΙΑΣ@example.gr' and 'σοφιας@example.gr', 'e\u0301' and 'é', 'x@xn--bcher-kva.de' and
    'X@Bücher.de' have one key each pair. Computed in Python only: SQL never folds addresses."""
    address = unicodedata.normalize("NFC", email.strip())
    local, at, domain = address.rpartition("@")
    if at:
        address = local + at + ".".join(_label(p) for p in domain.split("."))
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", address).casefold())


_UNKEYED = text("SELECT EXISTS (SELECT 1 FROM suppressions WHERE email_key IS NULL)")


def key_pending(session: Session) -> int:
    """Key the rows that came without a key (the event trigger's, plain SQL's, rows listed
    before migration 0009), in this transaction; a row whose key is already listed is folded
    into that row (deleted). Returns how many were folded. Writes: call it from writes only.

    Rows another transaction is keying are skipped, not waited for (SKIP LOCKED: a sender
    never waits here, so never deadlocks here); comparisons still see them, as listed_keys
    keys every unkeyed row it can see. In a savepoint: should a concurrent suppress() commit
    one of these keys between our look and our update, the unique key refuses the update,
    and it is done again, seeing it."""
    for attempt in range(3):
        if not session.scalar(_UNKEYED):  # ix_suppressions_unkeyed: nothing to do, no scan
            return 0
        try:
            with session.begin_nested():
                return _key_unkeyed(session)
        except IntegrityError:
            if attempt == 2:
                raise
    return 0  # not reached


def _key_unkeyed(session: Session) -> int:
    rows = session.execute(
        text(
            "SELECT id, email_address FROM suppressions WHERE email_key IS NULL ORDER BY id"
            " FOR UPDATE SKIP LOCKED"
        )
    ).all()
    if not rows:
        return 0
    keys = {rid: address_key(address) for rid, address in rows}
    taken = set(
        session.scalars(
            text("SELECT email_key FROM suppressions WHERE email_key = ANY(:keys)"),
            {"keys": list(set(keys.values()))},
        )
    )
    keep: dict[int, str] = {}
    fold: list[int] = []
    for rid, key in keys.items():  # by id: the first row of a key is kept
        if key in taken:
            fold.append(rid)
        else:
            taken.add(key)
            keep[rid] = key
    if fold:
        session.execute(text("DELETE FROM suppressions WHERE id = ANY(:ids)"), {"ids": fold})
    if keep:
        session.execute(
            text(
                "UPDATE suppressions s SET email_key = k.key"
                " FROM unnest(CAST(:ids AS int[]), CAST(:keys AS text[])) AS k(id, key)"
                " WHERE s.id = k.id"
            ),
            {"ids": list(keep), "keys": list(keep.values())},
        )
    return len(fold)


def listed_keys(session: Session, keys: Iterable[str]) -> dict[str, str]:
    """Which of these keys (address_key values) are listed, with the reason: an index lookup
    per key, plus the few rows not keyed yet, keyed here without writing (reads may be
    read-only)."""
    wanted = list(set(keys))
    found: dict[str, str] = {}
    for i in range(0, len(wanted), CHUNK):
        found.update(
            session.execute(
                text("SELECT email_key, reason FROM suppressions WHERE email_key = ANY(:keys)"),
                {"keys": wanted[i : i + CHUNK]},
            ).all()
        )
    unkeyed = text("SELECT email_address, reason FROM suppressions WHERE email_key IS NULL")
    if wanted:
        want = set(wanted)
        for address, reason in session.execute(unkeyed):
            key = address_key(address)
            if key in want:
                found.setdefault(key, reason)
    return found


def suppressed_among(session: Session, rows: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Of these (id, email address) pairs, the ids whose address is listed, with the reason."""
    out: dict[int, str] = {}
    batch: list[tuple[int, str]] = []

    def check() -> None:
        keys = {rid: address_key(address) for rid, address in batch}
        listed = listed_keys(session, keys.values())
        out.update((rid, listed[k]) for rid, k in keys.items() if k in listed)
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            check()
    if batch:
        check()
    return out


@dataclass(frozen=True, slots=True)
class SuppressionRow:
    id: int
    email_address: str  # as given (rows listed before migration 0009: lower-cased)
    reason: SuppressionReason
    source_event_id: int | None  # the event that listed it; None when manual or deleted
    campaign_id: int | None  # campaigns.id of that event's campaign
    campaign: str | None  # its campaign_id string
    created_at: datetime


_ROW_COLUMNS = (
    S.id,
    S.email_address,
    S.reason,
    S.source_event_id,
    S.campaign_id,
    Campaign.campaign_id,
    S.created_at,
)


def _address(email: object) -> str:
    if not isinstance(email, str):
        raise InvalidInput(f"An email address is text, not {email!r}.")
    address = email.strip()
    problem = email_problem(address)
    if problem is not None:
        raise InvalidInput(f"Can't suppress {address!r}: {problem}.")
    return address


def _addresses(emails: Iterable[str]) -> list[str]:
    if isinstance(emails, str | bytes):
        raise InvalidInput(f"Give a list of email addresses, not the single string {emails!r}.")
    out: dict[str, None] = {}
    for e in emails:
        if not isinstance(e, str) or "\x00" in e:
            raise InvalidInput(f"An email address is text without NUL characters, not {e!r}.")
        out[e] = None
    return list(out)


def list_suppressions(
    session: Session,
    *,
    search: str | None = None,
    limit: int = 100,
    after_id: int | None = None,
    offset: int = 0,
) -> tuple[SuppressionRow, ...]:
    """Suppressed addresses in the order they were listed (by id); `search` is any part of an
    address, case-insensitive. Page on with after_id = the last row's id; offset skips that
    many rows first (an OFFSET on the primary key: for "last page" and "go to row N")."""
    check_limit(limit)
    check_offset(offset)
    stmt = select(*_ROW_COLUMNS).outerjoin(Campaign, Campaign.id == S.campaign_id)
    if search is not None and search.strip():
        stmt = stmt.where(S.email_address.ilike(like_pattern(search.strip()), escape="\\"))
    if after_id is not None:
        if isinstance(after_id, bool) or not isinstance(after_id, int):
            raise InvalidInput(f"after_id is a suppression id (a whole number), not {after_id!r}.")
        stmt = stmt.where(S.id > after_id)
    rows = session.execute(stmt.order_by(S.id).limit(limit).offset(offset or None))
    return tuple(SuppressionRow(*r) for r in rows)


def count_suppressions(session: Session, *, search: str | None = None) -> int:
    """How many addresses are listed (matching `search`, as in list_suppressions)."""
    stmt = select(func.count()).select_from(S)
    if search is not None and search.strip():
        stmt = stmt.where(S.email_address.ilike(like_pattern(search.strip()), escape="\\"))
    return int(session.scalar(stmt) or 0)


def is_suppressed(session: Session, emails: Iterable[str]) -> set[str]:
    """The addresses among `emails` (spelt as given) that are on the list, by address_key()."""
    given = _addresses(emails)
    keys = {e: address_key(e) for e in given}
    listed = listed_keys(session, keys.values())
    return {e for e, k in keys.items() if k in listed}


def suppress(session: Session, email: str, reason: str = "manual") -> bool:
    """Put an address on the list (spelt as given, compared by its key); False when it already
    was (its first reason is kept). InvalidInput for a malformed address or an unknown reason."""
    address = _address(email)
    if reason not in REASONS:
        allowed = ", ".join(REASONS)
        raise InvalidInput(f"Unknown suppression reason {reason!r}; use one of: {allowed}.")
    key_pending(session)
    stmt = text(
        "INSERT INTO suppressions (email_address, email_key, reason)"
        " VALUES (:email, :key, :reason) ON CONFLICT (email_key) DO NOTHING RETURNING id"
    )
    params = {"email": address, "key": address_key(address), "reason": reason}
    return session.execute(stmt, params).first() is not None


# Migration 0009's trigger runs this over each statement's new events; here over stored ones.
# The address as the recipient has it, without a key (SQL can't compute it): key_pending()
# keys it, and folds it into an earlier row of the same key, before anything compares.
_FROM_EVENTS = """
    INSERT INTO suppressions (email_address, reason, source_event_id, campaign_id)
    SELECT email_address, reason, event_id, campaign_id FROM (
        SELECT DISTINCT ON (r.email_address) r.email_address,
               CASE e.event_type WHEN 'bounce' THEN 'hard_bounce'
                                 WHEN 'complain' THEN 'complaint'
                                 ELSE 'unsubscribe' END AS reason,
               e.id AS event_id, r.campaign_id
        FROM email_tracking e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
        WHERE (e.event_type IN ('complain', 'unsubscribe')
               OR (e.event_type = 'bounce'
                   AND lower(e.event_data ->> 'bounce_type') IN ('hard', 'permanent')))
          AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email_address = r.email_address)
          /*campaign*/
        ORDER BY r.email_address, e.id
    ) first_events
    ORDER BY event_id
"""


def suppress_from_events(session: Session, campaign: int | str | None = None) -> int:
    """List the addresses of stored hard bounces, complaints and unsubscribes (of one campaign
    or all) that aren't listed yet; returns how many were added. The trigger does this for
    every new event; this is for events loaded with triggers off (a bulk COPY in replica
    mode, say). It also lists again addresses an operator lifted whose events are stored: run
    it after a bulk load, not routinely."""
    where, params = "", dict[str, int]()
    if campaign is not None:
        params["campaign_pk"], _ = campaign_key(session, campaign)
        where = "AND r.campaign_id = :campaign_pk"
    key_pending(session)
    inserted = rows_written(session, text(_FROM_EVENTS.replace("/*campaign*/", where)), params)
    return inserted - key_pending(session)


def lift(session: Session, email: str) -> bool:
    """Take an address off the list (the UI asks for confirmation first); False when it was
    not listed. Its next hard bounce, complaint or unsubscribe lists it again."""
    if not isinstance(email, str) or "\x00" in email:
        raise InvalidInput(f"An email address is text without NUL characters, not {email!r}.")
    key_pending(session)
    stmt = text("DELETE FROM suppressions WHERE email_key = :key RETURNING id")
    return session.execute(stmt, {"key": address_key(email)}).first() is not None


def suppressed_in_campaign(
    session: Session, campaign: int | str, recipient_ids: Iterable[int]
) -> set[int]:
    """Which of these recipients of the campaign have a suppressed address (for marking the
    rows of a page). Ids of other campaigns' recipients are ignored. Raises NotFound."""
    if isinstance(recipient_ids, str | bytes):
        raise InvalidInput("Recipient ids are a list of whole numbers.")
    ids = []
    for rid in recipient_ids:
        if isinstance(rid, bool) or not isinstance(rid, int):
            raise InvalidInput(f"Recipient ids are whole numbers; {rid!r} is not.")
        ids.append(rid)
    campaign_pk, _ = campaign_key(session, campaign)
    if not ids:
        return set()
    stmt = select(R.id, R.email_address).where(
        R.campaign_id == campaign_pk, R.id == func.any(bindparam("ids", ids, type_=ARRAY(Integer)))
    )
    return set(suppressed_among(session, session.execute(stmt)))
