"""What the sender writes after its messages' replies, one transaction a batch of them:

    every attempt           a send_attempts row (time, code, enhanced status, reply, outcome)
    sent                    core.recipients.mark_sent (sent_at, the lease ended)
    retry                   pending again, next_attempt_at = now + the backoff, the lease ended
                            (only while this sender still holds it)
    failed                  core.recipients.mark_failed, the reply as error_message
    bounced                 failed, and a hard bounce event (source smtp) through
                            core.events.record_events: status bounced, the address suppressed

The attempt itself was counted when the recipient was claimed (send_attempts, by
core.recipients.claim_batch); a bounce is stored once (the event's dedup key). Recipients a
sender claimed and did not try (a pause, a stop) are released: pending again, that attempt
uncounted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.delivery.replies import Outcome, Result, retry_delay
from core.events import EventInput, record_events
from core.recipients import mark_failed, mark_sent
from core.store import EventSource, EventType, rows_written

_ATTEMPTS = text(
    """
    INSERT INTO send_attempts (campaign_recipient_id, campaign_id, attempt, attempted_at, code,
                               enhanced_status, reply, outcome, sender_id)
    SELECT * FROM unnest(CAST(:rid AS int[]), CAST(:cid AS int[]), CAST(:attempt AS int[]),
                         CAST(:at AS timestamptz[]), CAST(:code AS int[]),
                         CAST(:status AS text[]), CAST(:reply AS text[]),
                         CAST(:outcome AS text[]), CAST(:sender AS text[]))
    """
)
_RETRY = text(
    "UPDATE campaign_recipients r SET status = 'pending', lease_owner = NULL,"
    " lease_expires_at = NULL, next_attempt_at = now() + x.delay * interval '1 second'"
    " FROM unnest(CAST(:rid AS int[]), CAST(:delay AS float8[])) AS x(id, delay)"
    " WHERE r.id = x.id AND r.status = 'queued' AND r.lease_owner = :owner"
)
_RELEASE = text(
    "UPDATE campaign_recipients SET status = 'pending', lease_owner = NULL,"
    " lease_expires_at = NULL, send_attempts = greatest(send_attempts - 1, 0)"
    " WHERE id = ANY(CAST(:ids AS int[])) AND status = 'queued' AND lease_owner = :owner"
)
_RENEW = text(
    "UPDATE campaign_recipients SET lease_expires_at = now() + CAST(:lease AS interval)"
    " WHERE id = ANY(CAST(:ids AS int[])) AND status = 'queued' AND lease_owner = :owner"
)


@dataclass(frozen=True, slots=True)
class Written:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    bounced: int = 0


def bounce_event(result: Result) -> EventInput:
    """The hard bounce a 5.1.x reply to RCPT is, in the event_data shape the figures and the
    suppression trigger read (bounce_type, error_code, error_message, enhanced_status)."""
    reply = result.reply
    data = {
        "bounce_type": "hard",
        "error_code": str(reply.code),
        "error_message": reply.describe(),
        "enhanced_status": reply.enhanced_status,
        "stage": reply.stage.value,
    }
    return EventInput(
        event_type=EventType.BOUNCE.value,
        recipient_id=result.recipient_id,
        event_data=data,
        created_at=result.at,
        source=EventSource.SMTP.value,
        dedup_key=f"smtp:{result.recipient_id}:{result.attempt}",
    )


def write_results(
    session: Session,
    results: Sequence[Result],
    *,
    owner: str,
    retry_base_s: float,
    retry_max_s: float,
) -> Written:
    """Store a batch of attempts and their effects in the caller's transaction."""
    if not results:
        return Written()
    params = {
        "rid": [r.recipient_id for r in results],
        "cid": [r.campaign_pk for r in results],
        "attempt": [r.attempt for r in results],
        "at": [r.at for r in results],
        "code": [r.reply.code for r in results],
        "status": [r.reply.enhanced_status for r in results],
        "reply": [r.reply.describe() for r in results],
        "outcome": [r.outcome.value for r in results],
        "sender": [owner] * len(results),
    }
    session.execute(_ATTEMPTS, params)
    by: dict[Outcome, list[Result]] = defaultdict(list)
    for r in results:
        by[r.outcome].append(r)
    sent = mark_sent(session, [r.recipient_id for r in by[Outcome.SENT]])
    retries = by[Outcome.RETRY]
    if retries:
        delays = [retry_delay(r.attempt, retry_base_s, retry_max_s) for r in retries]
        ids = [r.recipient_id for r in retries]
        session.execute(_RETRY, {"rid": ids, "delay": delays, "owner": owner})
    failed = 0
    for outcome in (Outcome.FAILED, Outcome.BOUNCED):  # a bounce: failed, then its event
        errors: dict[str, list[int]] = defaultdict(list)
        for r in by[outcome]:
            errors[r.reply.describe()].append(r.recipient_id)
        marked = sum(mark_failed(session, ids, error) for error, ids in errors.items())
        failed += marked if outcome == Outcome.FAILED else 0
    if by[Outcome.BOUNCED]:
        record_events(session, [bounce_event(r) for r in by[Outcome.BOUNCED]])
    return Written(sent, len(retries), failed, len(by[Outcome.BOUNCED]))


def release(session: Session, recipient_ids: Iterable[int], *, owner: str) -> int:
    """Recipients this sender claimed and never tried: pending again, for anyone."""
    ids = sorted(set(recipient_ids))
    if not ids:
        return 0
    return rows_written(session, _RELEASE, {"ids": ids, "owner": owner})


def renew(session: Session, recipient_ids: Iterable[int], *, owner: str, lease_s: float) -> int:
    """Extend this sender's leases of these recipients to lease_s from now."""
    ids = sorted(set(recipient_ids))
    if not ids:
        return 0
    params = {"ids": ids, "owner": owner, "lease": f"{lease_s} seconds"}
    return rows_written(session, _RENEW, params)
