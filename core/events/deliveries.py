"""Providers' "delivered" reports (deliveries, migration 0010): no seed event type fits them,
so they are rows of their own, stored once per (provider, provider event id), and shown on
the recipient's timeline beside the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.events.input import Rejected, check_text, unknown_recipient_id
from core.events.record import pair_problem, resolve_pairs
from core.times import time_problem

MAX_PROVIDER_CHARS = 100
MAX_PROVIDER_EVENT_ID_CHARS = 500
MAX_DETAIL_CHARS = 4000
_INT4 = 2**31 - 1

_KNOWN_IDS = text("SELECT id FROM campaign_recipients WHERE id = ANY(CAST(:ids AS int[]))")
_INSERT = text(
    """
    WITH ins AS (
        INSERT INTO deliveries
            (campaign_recipient_id, provider, provider_event_id, delivered_at, detail)
        SELECT rid, provider, event_id, COALESCE(delivered_at, now()), detail FROM unnest(
            CAST(:rid AS int[]), CAST(:provider AS text[]), CAST(:event_id AS text[]),
            CAST(:delivered_at AS timestamptz[]), CAST(:detail AS text[])
        ) AS d(rid, provider, event_id, delivered_at, detail)
        ORDER BY provider, event_id
        ON CONFLICT (provider, provider_event_id) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM ins
    """
)
_OF_RECIPIENT = text(
    "SELECT id, provider, provider_event_id, delivered_at, detail, created_at FROM deliveries"
    " WHERE campaign_recipient_id = :rid ORDER BY delivered_at, id"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryInput:
    """A provider's report that a message reached the recipient's server. Name the recipient
    by `recipient_id`, or by `campaign` (campaign_id) with `email_address`. `delivered_at`
    must carry a time zone; None means the transaction's time."""

    provider: str
    provider_event_id: str
    recipient_id: int | None = None
    campaign: str | None = None
    email_address: str | None = None
    delivered_at: datetime | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    provider: str
    provider_event_id: str
    delivered_at: datetime
    detail: str | None
    created_at: datetime


def _bounded(value: Any, name: str, limit: int) -> str:
    check_text(value, name)
    if not value:
        raise Rejected(f"{name} is empty")
    if len(value) > limit:
        raise Rejected(f"{name} is {len(value):,} characters; the limit is {limit:,}")
    return str(value)


def _check(item: DeliveryInput) -> None:
    if not isinstance(item, DeliveryInput):
        raise Rejected(f"expected a DeliveryInput, got {type(item).__name__}")
    _bounded(item.provider, "provider", MAX_PROVIDER_CHARS)
    _bounded(item.provider_event_id, "provider_event_id", MAX_PROVIDER_EVENT_ID_CHARS)
    if item.detail is not None:
        _bounded(item.detail, "detail", MAX_DETAIL_CHARS)
    at = item.delivered_at
    if at is not None:
        if not isinstance(at, datetime) or at.utcoffset() is None:
            raise Rejected("delivered_at must be a date and time with a time zone")
        problem = time_problem(at)
        if problem is not None:
            raise Rejected(f"delivered_at {at.isoformat()} {problem}")
    rid, campaign, email = item.recipient_id, item.campaign, item.email_address
    if rid is not None:
        if campaign is not None or email is not None:
            raise Rejected("name the recipient by recipient_id or by campaign with email_address")
        if isinstance(rid, bool) or not isinstance(rid, int) or not 1 <= rid <= _INT4:
            raise Rejected(
                unknown_recipient_id(rid) if isinstance(rid, int) else "bad recipient_id"
            )
    elif campaign is None or email is None:
        raise Rejected("no recipient: give recipient_id, or campaign and email_address")
    else:
        check_text(campaign, "campaign")
        check_text(email, "email_address")


def record_deliveries(
    session: Session, items: Sequence[DeliveryInput], *, skip_invalid: bool = False
) -> int:
    """Store the deliveries; returns how many rows are new (one already stored with the same
    provider and provider event id, or repeated in `items`, is skipped). A bad item or an
    unknown recipient raises InvalidInput naming it (1-based) and nothing is written, unless
    `skip_invalid`, which leaves such items out. Writes in the caller's transaction."""
    problems: list[str] = []
    good: list[tuple[int, DeliveryInput]] = []
    for n, item in enumerate(items, 1):
        try:
            _check(item)
            good.append((n, item))
        except Rejected as exc:
            problems.append(f"delivery {n}: {exc}")
    ids = sorted({i.recipient_id for _, i in good if i.recipient_id is not None})
    known = set(session.scalars(_KNOWN_IDS, {"ids": ids})) if ids else set()
    pairs = sorted(
        {(str(i.campaign), str(i.email_address)) for _, i in good if i.recipient_id is None}
    )
    by_pair = resolve_pairs(session, pairs) if pairs else {}
    rows: dict[tuple[str, str], tuple[int, DeliveryInput]] = {}
    for n, item in good:
        if item.recipient_id is not None:
            if item.recipient_id not in known:
                problems.append(f"delivery {n}: {unknown_recipient_id(item.recipient_id)}")
                continue
            rid = item.recipient_id
        else:
            key = (str(item.campaign), str(item.email_address))
            matches = by_pair.get(key, [])
            if len(matches) != 1:
                problems.append(f"delivery {n}: {pair_problem(session, *key, matches)}")
                continue
            rid = matches[0]
        rows.setdefault((item.provider, item.provider_event_id), (rid, item))
    if problems and not skip_invalid:
        raise InvalidInput(
            f"No delivery was recorded: {'; '.join(problems[:10])}"
            + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
            + "."
        )
    if not rows:
        return 0
    chosen = list(rows.values())
    params = {
        "rid": [rid for rid, _ in chosen],
        "provider": [i.provider for _, i in chosen],
        "event_id": [i.provider_event_id for _, i in chosen],
        "delivered_at": [i.delivered_at for _, i in chosen],
        "detail": [i.detail for _, i in chosen],
    }
    return int(session.execute(_INSERT, params).scalar_one())


def recipient_deliveries(session: Session, recipient_id: int) -> tuple[DeliveryRow, ...]:
    """A recipient's deliveries in time order."""
    return tuple(DeliveryRow(*row) for row in session.execute(_OF_RECIPIENT, {"rid": recipient_id}))
