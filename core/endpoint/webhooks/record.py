"""Provider events into the database: each matched to a recipient, all of a request written
in one transaction (core.events.record_events for bounces, complaints and unsubscribes,
core.events.record_deliveries for deliveries), or none of them.

Matching: our Message-ID (core.tracking.parse_message_id gives campaign and recipient; the
recipient must exist and belong to that campaign), else our campaign_id from the provider's
metadata or our header, with the address. An event carrying neither is not a message of ours
(the provider account may send other mail too): it is acknowledged and skipped, so that the
provider does not retry it for days, nor refuse the batch it came in. An event that names one
of ours that is not in the database refuses the whole request with 422 and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from core.endpoint.webhooks.common import (
    Kind,
    Parsed,
    ProviderEvent,
    Refusal,
    Skipped,
    bounded_id,
    ok,
)
from core.errors import DatabaseFailed, DatabaseUnavailable, InvalidInput
from core.events import DeliveryInput, EventInput, InvalidEvents, record_deliveries, record_events
from core.events.deliveries import MAX_PROVIDER_EVENT_ID_CHARS
from core.store import CampaignRecipient, Database, explain
from core.tracking.ids import parse_message_id

log = logging.getLogger("core.endpoint.webhooks")

NOT_OURS = (
    "not a message of ours: no Campaign Console Message-ID and no campaign in its metadata "
    "or headers"
)
_MAX_LISTED = 10


@dataclass(frozen=True)
class Recorded:
    recorded: int  # new events
    deliveries: int  # new delivery rows
    duplicates: int  # events and deliveries already stored (same provider event id)
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class _Target:
    event: ProviderEvent
    recipient_id: int | None = None
    campaign: str | None = None
    email: str | None = None


def _targets(
    session: Session, events: Sequence[ProviderEvent]
) -> tuple[list[_Target], list[Skipped], list[str]]:
    """Each event's recipient, the events that are not ours, and the problems of those whose
    Message-ID names a recipient that isn't in the database."""
    targets: list[_Target] = []
    skipped: list[Skipped] = []
    by_message: list[tuple[ProviderEvent, int, int]] = []
    problems: list[str] = []
    for event in events:
        ids = parse_message_id(event.message_id) if event.message_id else None
        if ids is not None:
            by_message.append((event, *ids))
        elif event.campaign and event.email:
            targets.append(_Target(event, campaign=event.campaign, email=event.email))
        else:
            skipped.append(Skipped(event.position, NOT_OURS))
    if by_message:
        rids = sorted({rid for _, _, rid in by_message})
        campaign_of = dict(
            session.execute(
                select(CampaignRecipient.id, CampaignRecipient.campaign_id).where(
                    CampaignRecipient.id.in_(rids)
                )
            ).all()
        )
        for event, campaign_pk, rid in by_message:
            if campaign_of.get(rid) != campaign_pk:
                problems.append(
                    f"{_name(event)}: its Message-ID {event.message_id!r} names recipient {rid} "
                    f"of campaign #{campaign_pk}, and there is no such recipient"
                )
            else:
                targets.append(_Target(event, recipient_id=rid))
    targets.sort(key=lambda t: t.event.position)
    return targets, skipped, problems


def _name(event: ProviderEvent) -> str:
    return f"event {event.position} ({event.provider} id {event.event_id})"


def _unknown(problems: list[str], total: int) -> Refusal:
    listed = "; ".join(problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    if more > 0:
        listed += f"; and {more} more"
    return Refusal(
        422,
        f"Nothing was recorded: {len(problems)} of {total} events can't be matched to a "
        f"recipient or stored ({listed}).",
        problems,
    )


def record(session: Session, events: Sequence[ProviderEvent]) -> Recorded:
    """Match and write the events of one request in the caller's transaction; Refusal(422)
    when any of ours can't be matched or stored (the caller rolls back: nothing written)."""
    targets, skipped, problems = _targets(session, events)
    tracked = [t for t in targets if t.event.kind is not Kind.DELIVERED]
    delivered = [t for t in targets if t.event.kind is Kind.DELIVERED]
    recorded = duplicates = deliveries = 0
    if tracked:
        inputs = [
            EventInput(
                event_type=t.event.kind.value,
                recipient_id=t.recipient_id,
                campaign=t.campaign,
                email_address=t.email,
                event_data=t.event.data or None,
                created_at=t.event.occurred_at,
                source=t.event.provider,
                dedup_key=t.event.dedup_key,
            )
            for t in tracked
        ]
        try:
            result = record_events(session, inputs, skip_invalid=False)
        except InvalidEvents as exc:
            problems += [f"{_name(tracked[e.line - 1].event)}: {e.reason}" for e in exc.rejected]
            raise _unknown(problems, len(events)) from None
        recorded, duplicates = result.recorded, result.duplicates
    if problems:  # the caller's transaction rolls back what was written above
        raise _unknown(problems, len(events))
    if delivered:
        items = [
            DeliveryInput(
                recipient_id=t.recipient_id,
                campaign=t.campaign,
                email_address=t.email,
                provider=t.event.provider,
                provider_event_id=bounded_id(t.event.event_id, MAX_PROVIDER_EVENT_ID_CHARS),
                delivered_at=t.event.occurred_at,
                detail=t.event.detail,
            )
            for t in delivered
        ]
        try:
            deliveries = record_deliveries(session, items)
        except InvalidInput as exc:  # its message names the address (and the campaign)
            raise _unknown([str(exc)], len(events)) from None
        duplicates += len(items) - deliveries
    return Recorded(recorded, deliveries, duplicates, tuple(skipped))


async def store(db: Database, parsed: Parsed) -> JSONResponse:
    """Write a verified request's events (in a worker thread, one transaction) and answer:
    200 with counts, 422 when one of ours names an unknown recipient, 503 when the database
    can't be reached (so the provider sends it again later)."""
    body: dict[str, Any] = {"recorded": 0, "deliveries": 0, "duplicates": 0}
    skipped = list(parsed.skipped)
    if parsed.events:
        try:
            done = await run_in_threadpool(db.run, partial(record, events=parsed.events))
        except Refusal:
            raise
        except InvalidInput as exc:
            raise Refusal(422, str(exc)) from None
        except (DatabaseUnavailable, DatabaseFailed) as exc:
            raise _away(exc) from None
        except DBAPIError as exc:
            explained = explain(exc, db.url)
            if isinstance(explained, InvalidInput):
                raise Refusal(422, str(explained)) from None
            if explained is None:
                raise
            raise _away(explained) from None
        body.update(recorded=done.recorded, deliveries=done.deliveries, duplicates=done.duplicates)
        skipped.extend(done.skipped)
    if skipped:
        skipped.sort(key=lambda s: s.position)
        body["skipped"] = [{"event": s.position, "reason": s.reason} for s in skipped]
    if parsed.note:
        body["note"] = parsed.note
    return ok(body)


def _away(exc: Exception) -> Refusal:
    log.warning("webhook not recorded, database unavailable: %s", exc)
    # The database's own words stay in the log: the answer goes to the internet.
    return Refusal(503, "The database is unavailable; nothing was recorded. Send it again later.")
