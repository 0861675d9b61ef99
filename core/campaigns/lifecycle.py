"""The campaign lifecycle (DESIGN.md): which moves each status allows, and making them.

draft -> scheduled (needs a future scheduled_at) | running; scheduled -> draft | running;
running -> paused | completed | failed; paused -> running | completed | failed;
completed and failed are final. Everything here is re-exported by core.campaigns.manage.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from core.campaigns.lookup import resolve_campaign
from core.campaigns.summary import CampaignSummary, load_summary
from core.errors import InvalidInput, InvalidTransition
from core.store import Campaign, CampaignRecipient, CampaignStatus
from core.times import check_aware

S = CampaignStatus

ALLOWED_MOVES: Mapping[CampaignStatus, tuple[str, ...]] = MappingProxyType(
    {
        S.DRAFT: ("schedule", "start"),
        S.SCHEDULED: ("unschedule", "start"),
        S.RUNNING: ("pause", "complete", "fail"),
        S.PAUSED: ("resume", "complete", "fail"),
        S.COMPLETED: (),
        S.FAILED: (),
    }
)
"""The actions each status allows (what a UI should offer)."""

TARGET: Mapping[str, CampaignStatus] = MappingProxyType(
    {
        "schedule": S.SCHEDULED,
        "unschedule": S.DRAFT,
        "start": S.RUNNING,
        "pause": S.PAUSED,
        "resume": S.RUNNING,
        "complete": S.COMPLETED,
        "fail": S.FAILED,
    }
)
"""The status each action leads to."""

ACTIONS: tuple[str, ...] = tuple(TARGET)
_NEED_RECIPIENTS = ("schedule", "start")


def current_time(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else check_aware(now, "now")


def check_future(campaign_id: str, at: datetime, now: datetime) -> None:
    if at <= now:
        raise InvalidInput(
            f"Can't schedule {campaign_id} for {at.isoformat(timespec='minutes')}: that time"
            f" is not in the future (now is {now.isoformat(timespec='minutes')})."
        )


def _words(actions: tuple[str, ...]) -> str:
    return actions[0] if len(actions) == 1 else f"{', '.join(actions[:-1])} or {actions[-1]}"


def refusal(campaign_id: str, status: CampaignStatus, action: str) -> str:
    """Why `action` is not allowed from `status`, naming the moves that are."""
    allowed = ALLOWED_MOVES[status]
    if not allowed:
        return f"Campaign {campaign_id} is {status}: {status} is final; no moves are allowed."
    return f"Can't {action} {campaign_id}: it is {status}; from {status} you can {_words(allowed)}."


def _has_recipients(session: Session, campaign_pk: int) -> bool:
    # Counted from the rows, not the counter, so this holds whoever keeps the counters.
    return bool(
        session.scalar(select(exists().where(CampaignRecipient.campaign_id == campaign_pk)))
    )


def transition(
    session: Session,
    campaign: int | str,
    action: str,
    *,
    at: datetime | None = None,
    now: datetime | None = None,
) -> CampaignSummary:
    """Make a lifecycle move by name (one of ACTIONS); `at` is the time for "schedule".

    Raises InvalidTransition when the campaign's status doesn't allow it (or it has no
    recipients to schedule or start), InvalidInput for an unknown action or a bad time.
    """
    if action not in TARGET:
        raise InvalidInput(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.")
    if action == "schedule":
        if at is None:
            raise InvalidInput("Scheduling needs a time: give the date and time to start.")
        check_aware(at, "The scheduled time")
    now = current_time(now)
    c = resolve_campaign(session, campaign, for_update=True)
    if action not in ALLOWED_MOVES[c.status]:
        raise InvalidTransition(refusal(c.campaign_id, c.status, action))
    if action in _NEED_RECIPIENTS and not _has_recipients(session, c.id):
        raise InvalidTransition(
            f"Can't {action} {c.campaign_id}: it has no recipients; add recipients first."
        )
    if action == "schedule":
        assert at is not None
        check_future(c.campaign_id, at, now)
        c.scheduled_at = at
    elif action == "unschedule":
        c.scheduled_at = None
    target = TARGET[action]
    c.status = target
    if target == S.RUNNING and c.started_at is None:
        c.started_at = now
    if target in (S.COMPLETED, S.FAILED):
        c.completed_at = now
    if action in ("pause", "resume"):
        c.pause_reason = None  # a person moved it: no alarm's reason stands (core.delivery)
    if action == "resume":
        c.alarm_since = now  # the error alarm counts the attempts from here on
    return load_summary(session, c.id)


def schedule(
    session: Session, campaign: int | str, at: datetime, *, now: datetime | None = None
) -> CampaignSummary:
    return transition(session, campaign, "schedule", at=at, now=now)


def unschedule(
    session: Session, campaign: int | str, *, now: datetime | None = None
) -> CampaignSummary:
    return transition(session, campaign, "unschedule", now=now)


def start(session: Session, campaign: int | str, *, now: datetime | None = None) -> CampaignSummary:
    return transition(session, campaign, "start", now=now)


def pause(session: Session, campaign: int | str, *, now: datetime | None = None) -> CampaignSummary:
    return transition(session, campaign, "pause", now=now)


def resume(
    session: Session, campaign: int | str, *, now: datetime | None = None
) -> CampaignSummary:
    return transition(session, campaign, "resume", now=now)


def complete(
    session: Session, campaign: int | str, *, now: datetime | None = None
) -> CampaignSummary:
    return transition(session, campaign, "complete", now=now)


def fail(session: Session, campaign: int | str, *, now: datetime | None = None) -> CampaignSummary:
    return transition(session, campaign, "fail", now=now)


def start_due(session: Session, now: datetime) -> list[str]:
    """Start every scheduled campaign whose time has come (scheduled_at <= now), in one UPDATE.

    Returns their campaign_ids in schedule order. A scheduled campaign whose recipients were
    all removed since is left scheduled: an empty campaign can't start.
    """
    now = check_aware(now, "now")
    t = Campaign.__table__.c
    has_recipients = exists().where(CampaignRecipient.__table__.c.campaign_id == t.id)
    stmt = (
        update(Campaign.__table__)
        .where(t.status == S.SCHEDULED.value, t.scheduled_at <= now, has_recipients)
        .values(
            status=S.RUNNING.value,
            started_at=func.coalesce(t.started_at, now),
            updated_at=func.now(),
        )
        .returning(t.campaign_id, t.scheduled_at, t.id)
    )
    rows = session.execute(stmt).all()
    return [r.campaign_id for r in sorted(rows, key=lambda r: (r.scheduled_at, r.id))]
