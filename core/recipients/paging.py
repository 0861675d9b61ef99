"""Keyset pages of one campaign's recipients, their counts, and the seed's unopened query.

Pages are keyed on (sort key, id), never OFFSET. Timestamp keys can be NULL; NULL rows come
last in both directions ("not opened yet" is never the top of "most recently opened"), so
display order is: rows with a key by (key, id), then rows without one by id.

Why the SQL looks the way it does. Migration 0004 gives each sort key an index on
(campaign_id, status, key, id). Each read is a union of one index range per status, each
LIMITed, merged by the outer ORDER BY: the page costs at most six short range scans whatever
the campaign's size. The status is written `status = ANY(ARRAY[s])` and ORDER BY starts with
it: as a plain `status = s` PostgreSQL would treat it as a constant and be free to walk the
primary key (or the seed's one-column timestamp index) and filter, which it prefers whenever
it believes the campaign's rows are spread evenly over the table; on a big campaign added
after many others that reads every row before it. With the status in the ORDER BY only the
composite index yields the order, so the planner has nothing else to pick. Before
PostgreSQL 17 that `= ANY` is a filter, not an index condition: see _branch for what those
servers get instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    SQLColumnExpression,
    String,
    UnaryExpression,
    any_,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.campaigns import R, campaign_key, check_limit, check_offset, like_pattern
from core.errors import InvalidInput
from core.recipients.find import ROW_COLUMNS, RecipientRow, check_status, recipient_row
from core.store import RecipientStatus

SORT_KEYS: dict[str, Any] = {
    "id": R.id,
    "sent_at": R.sent_at,
    "opened_at": R.opened_at,
    "clicked_at": R.clicked_at,
    "replied_at": R.replied_at,
    "bounced_at": R.bounced_at,
    "email_address": R.email_address,
}
NULLABLE_KEYS = frozenset({"sent_at", "opened_at", "clicked_at", "replied_at", "bounced_at"})
_STATUS = type_coerce(R.status, String)
_INFINITY = literal_column("'infinity'::timestamptz", DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class PageCursor:
    """A position in one ordering: the sort key's value (None for NULL) and the row id."""

    sort: str
    descending: bool
    key: datetime | str | int | None
    id: int


@dataclass(frozen=True, slots=True)
class RecipientPage:
    rows: tuple[RecipientRow, ...]
    first_cursor: PageCursor | None  # pass as `before` for the previous page
    last_cursor: PageCursor | None  # pass as `after` for the next page
    has_next: bool
    has_prev: bool


@dataclass(frozen=True, slots=True)
class _Query:
    """What a page reads: the campaign, the filters, the order."""

    campaign_id: int
    statuses: tuple[str, ...]  # one index range each; empty: nothing can match
    search: str | None
    unopened: bool
    sort: str
    descending: bool

    def where(self) -> list[ColumnElement[bool]]:
        cond: list[ColumnElement[bool]] = [R.campaign_id == self.campaign_id]
        if self.unopened:
            cond.append(R.opened_at.is_(None))
        if self.search:
            cond.append(R.email_address.ilike(like_pattern(self.search), escape="\\"))
        return cond


def _statuses(status: Any, unopened: bool) -> tuple[str, ...]:
    if status is not None:
        chosen = check_status(status)
        return (chosen.value,) if not unopened or chosen == RecipientStatus.SENT else ()
    if unopened:
        return (RecipientStatus.SENT.value,)
    return tuple(s.value for s in RecipientStatus)


def _read(
    session: Session,
    q: _Query,
    desc: bool,
    nulls: bool,
    cursor: PageCursor | None,
    n: int,
    skip: int = 0,
) -> list[RecipientRow]:
    """Up to n rows of one segment (key NULL or not) after `cursor`, scanning in `desc`,
    the first `skip` of them left out."""
    key = SORT_KEYS[q.sort]
    cond = q.where()
    if nulls:
        cond.append(key.is_(None))

    def ordered(*columns: SQLColumnExpression[Any]) -> list[UnaryExpression[Any]]:
        return [c.desc() if desc else c.asc() for c in columns]

    if q.sort == "email_address":
        # No composite for this one: the seed's email index gives the order, filtered.
        if cursor is not None:
            pos = tuple_(key, R.id)
            cond.append(pos < (cursor.key, cursor.id) if desc else pos > (cursor.key, cursor.id))
        if len(q.statuses) < len(RecipientStatus):
            cond.append(_STATUS.in_(q.statuses))
        by_email = select(*ROW_COLUMNS).where(*cond).order_by(*ordered(key, R.id))
        return [recipient_row(r) for r in session.execute(by_email.limit(n).offset(skip or None))]
    modern = (session.get_bind().dialect.server_version_info or (0,)) >= (17,)
    branches = [
        select(*ROW_COLUMNS)
        .where(*cond, *_branch(q, s, desc, nulls, cursor, modern))
        .order_by(*ordered(_STATUS, *_branch_keys(q, nulls)))
        .limit(n + skip)
        for s in q.statuses
    ]
    if len(branches) == 1:
        stmt = branches[0].offset(skip or None)
        return [recipient_row(r) for r in session.execute(stmt)]
    u = union_all(*branches).subquery()
    outer = [u.c.id] if q.sort == "id" else [u.c[q.sort], u.c.id]
    merged = select(*(u.c[c.key] for c in ROW_COLUMNS)).order_by(*ordered(*outer))
    return [recipient_row(r) for r in session.execute(merged.limit(n).offset(skip or None))]


def _branch_keys(q: _Query, nulls: bool) -> list:
    """The index columns after (campaign_id, status) that a branch reads in order."""
    if q.sort == "id":
        # Unopened rows in id order: opened_at (NULL throughout) leads to its index.
        return [R.opened_at, R.id] if q.unopened else [R.id]
    return [SORT_KEYS[q.sort], R.id]


def _branch(
    q: _Query, status: str, desc: bool, nulls: bool, cursor: PageCursor | None, modern: bool
) -> list[ColumnElement[bool]]:
    """One status's conditions, each an index condition of (campaign_id, status, key, id).

    `status = s` would let the planner drop the status from the order and walk another
    index, filtering. From PostgreSQL 17 (`modern`) `status = ANY(ARRAY[s])` is an index
    condition that enters the index at (status, cursor); before 17 it is a filter over every
    row of the status (45 ms a page of 1M recipients on 15). There the status is the range
    [s, s], which the planner does not take for a constant either, and the page starts at a
    row comparison that begins with the status, which enters the index at the cursor too.
    Where the key is NULL throughout (the NULL segment, unopened by id) no row comparison
    can start at a NULL key: there it stays `= ANY(...)`, a filter before 17.
    """
    col = _STATUS
    at: tuple[Any, ...] | None
    if modern or nulls or (q.sort == "id" and q.unopened):
        # From PostgreSQL 17 an index condition; before, a filter over the status's rows.
        cond = [any_(bindparam(None, [status], type_=ARRAY(String))) == col]
        if q.sort in NULLABLE_KEYS and not nulls:
            cond.append(SORT_KEYS[q.sort].is_not(None))
        if cursor is not None:
            if nulls or q.sort == "id":
                cond.append(R.id < cursor.id if desc else R.id > cursor.id)
            else:
                pos = tuple_(SORT_KEYS[q.sort], R.id)
                at = (cursor.key, cursor.id)
                cond.append(pos < at if desc else pos > at)
        return cond
    if q.sort == "id":
        pos, at = tuple_(col, R.id), None if cursor is None else (status, cursor.id)
        last = col <= status
    else:
        key = SORT_KEYS[q.sort]
        pos = tuple_(col, key, R.id)
        at = None if cursor is None else (status, cursor.key, cursor.id)
        # The status's last key: NULL keys, after it in the index, stay out of the range
        # (a status with none of the key still reads its rows' index entries).
        last = tuple_(col, key) <= tuple_(literal(status, String), _INFINITY)
    if desc:
        return [col >= status, (pos < at) if at is not None else last]
    return [(pos > at) if at is not None else col >= status, last]


def _scan(
    session: Session,
    q: _Query,
    cursor: PageCursor | None,
    backward: bool,
    n: int,
    skip: int = 0,
) -> list[RecipientRow]:
    """Up to n rows after `cursor` in display order (before it, nearest first, if backward),
    the first `skip` left out (only from the start: no cursor, forward)."""
    if not q.statuses:
        return []
    desc = q.descending != backward
    if q.sort not in NULLABLE_KEYS:
        return _read(session, q, desc, False, cursor, n, skip)
    rows: list[RecipientRow]
    if skip:
        # Keyed rows first, then the NULL rows: how many keyed rows there are is needed only
        # when the skip passes all of them.
        rows = _read(session, q, desc, False, None, n, skip)
        if not rows:
            keyed = _segment_count(session, q, nulls=False)
            return _read(session, q, desc, True, None, n, max(skip - keyed, 0))
        if len(rows) < n:
            rows += _read(session, q, desc, True, None, n - len(rows))
        return rows
    in_nulls = cursor is not None and cursor.key is None
    # Forward: keyed rows, then NULL rows. Backward: the reverse. The second segment is read
    # (by a second statement) only when the first runs out, i.e. on the page that crosses.
    if not backward:
        segments = [(True, cursor)] if in_nulls else [(False, cursor), (True, None)]
    elif cursor is None or in_nulls:
        segments = [(True, cursor), (False, None)]
    else:
        segments = [(False, cursor)]
    rows = []
    for nulls, cur in segments:
        rows += _read(session, q, desc, nulls, cur, n - len(rows))
        if len(rows) >= n:
            break
    return rows


def _segment_count(session: Session, q: _Query, *, nulls: bool) -> int:
    key = SORT_KEYS[q.sort]
    cond = [*q.where(), _STATUS.in_(q.statuses), key.is_(None) if nulls else key.is_not(None)]
    return int(session.scalar(select(func.count()).select_from(R).where(*cond)) or 0)


def _check_cursor(cursor: Any, sort: str, descending: bool) -> None:
    if cursor is None:
        return
    if not isinstance(cursor, PageCursor):
        raise InvalidInput(f"A page cursor comes from a previous page, not {cursor!r}.")
    if cursor.sort != sort or cursor.descending != descending:
        raise InvalidInput(
            "That page cursor belongs to another ordering; start again from the first page."
        )


def recipients_page(
    session: Session,
    campaign: int | str,
    *,
    status: RecipientStatus | str | None = None,
    search: str | None = None,
    unopened: bool = False,
    sort: str = "id",
    descending: bool = False,
    after: PageCursor | None = None,
    before: PageCursor | None = None,
    from_end: bool = False,
    skip: int = 0,
    limit: int = 100,
) -> RecipientPage:
    """One page of a campaign's recipients by keyset on (sort key, id).

    No cursor: the first page (the last with from_end). `after`: the page following that
    cursor; `before`: the page preceding it, in display order (when fewer than `limit` rows
    precede it, the first page instead). status: one RecipientStatus; unopened: status sent
    and never opened; search: case-insensitive substring of the email address, literally.
    has_prev after a forward move is True (the cursor came from a row before this page).
    skip (without a cursor or from_end): the page that starts after that many rows, for "go
    to row N"; an OFFSET, so it costs N index entries (see bench_tui.py for 1,000,000).
    Raises NotFound (campaign), InvalidInput (status, sort, limit, cursor).
    """
    if sort not in SORT_KEYS:
        keys = ", ".join(SORT_KEYS)
        raise InvalidInput(f"Can't sort recipients by {sort!r}; use one of: {keys}.")
    if after is not None and before is not None:
        raise InvalidInput("Give a page cursor to go forward or one to go back, not both.")
    check_limit(limit)
    check_offset(skip)
    if skip and (after is not None or before is not None or from_end):
        raise InvalidInput("Skip rows from the first page only, not from a cursor or the end.")
    _check_cursor(after, sort, descending)
    _check_cursor(before, sort, descending)
    if search is not None:
        like_pattern(search)
    statuses = _statuses(status, unopened)
    campaign_id, _total = campaign_key(session, campaign)
    q = _Query(campaign_id, statuses, search or None, unopened, sort, descending)
    backward = before is not None or (from_end and after is None)
    rows = _scan(session, q, before or after, backward, limit + 1, skip)
    more = len(rows) > limit
    rows = rows[:limit]
    if not backward:
        return _page(q, rows, has_next=more, has_prev=after is not None or skip > 0)
    rows.reverse()
    if before is not None and len(rows) < limit:
        rows = _scan(session, q, None, False, limit + 1)
        return _page(q, rows[:limit], has_next=len(rows) > limit, has_prev=False)
    return _page(q, rows, has_next=before is not None, has_prev=more)


def _page(q: _Query, rows: list[RecipientRow], *, has_next: bool, has_prev: bool) -> RecipientPage:
    def cursor(r: RecipientRow) -> PageCursor:
        return PageCursor(q.sort, q.descending, getattr(r, q.sort), r.id)

    return RecipientPage(
        rows=tuple(rows),
        first_cursor=cursor(rows[0]) if rows else None,
        last_cursor=cursor(rows[-1]) if rows else None,
        has_next=has_next,
        has_prev=has_prev,
    )


def count_recipients(
    session: Session,
    campaign: int | str,
    *,
    status: RecipientStatus | str | None = None,
    search: str | None = None,
    unopened: bool = False,
    cap: int | None = None,
) -> int:
    """How many recipients match: the campaign's counter when unfiltered, else one COUNT.

    cap: stop counting at cap (the result is then at most cap), for a "10,000+" display.
    """
    if cap is not None:
        check_limit(cap, 10**9)
    statuses = _statuses(status, unopened)
    campaign_id, total = campaign_key(session, campaign)
    if status is None and not search and not unopened:
        return total if cap is None else min(total, cap)
    if not statuses:
        return 0
    q = _Query(campaign_id, statuses, search or None, unopened, "id", False)
    inner = select(R.id).where(*q.where(), _STATUS.in_(statuses))
    if cap is not None:
        inner = inner.limit(cap)
    return int(session.scalar(select(func.count()).select_from(inner.subquery())) or 0)


def unopened_recipients(
    session: Session, campaign: int | str, *, limit: int = 100, after_id: int | None = None
) -> tuple[RecipientRow, ...]:
    """The seed's "Find Unopened Emails" (status sent, opened_at NULL), by id, a page at a time.

    Pass the last row's id as after_id for the next page.
    """
    check_limit(limit)
    campaign_id, _total = campaign_key(session, campaign)
    q = _Query(campaign_id, _statuses(None, True), None, True, "id", False)
    cursor = None if after_id is None else PageCursor("id", False, after_id, after_id)
    return tuple(_read(session, q, False, False, cursor, limit))
