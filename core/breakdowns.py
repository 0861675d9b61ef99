"""Event figures beyond the counters: human vs machine opens and clicks, bounces by SMTP code.

"Human" and "machine" follow the verdict core.machine stored in event_data when the event was
recorded (or by reclassify). Like core.analytics, each function aggregates one campaign's
events through its recipients.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from core.models import CampaignRecipient, EmailTracking, EventType
from core.search import campaign_key

T, R = EmailTracking, CampaignRecipient
OPEN, CLICK = EventType.OPEN, EventType.CLICK
HARD_BOUNCES = ("hard", "permanent")
SOFT_BOUNCES = ("soft", "transient")
# The stored verdict: event_data @> '{"machine": true}' (a human event has no such key).
IS_MACHINE = T.event_data.op("@>")(cast(literal('{"machine": true}'), JSONB))


@dataclass(frozen=True, slots=True)
class HumanMachine:
    human_opens: int  # recipients with at least one human open or human click
    human_clicks: int  # recipients with at least one human click
    machine_opens: int  # open events judged machine
    machine_clicks: int  # click events judged machine


@dataclass(frozen=True, slots=True)
class BounceCode:
    kind: str  # "hard", "soft" or "other" (event_data.bounce_type, normalised)
    code: str | None  # event_data.error_code as text; None when the bounce gave none
    bounces: int  # bounce events
    recipients: int  # distinct recipients among them


def human_machine(session: Session, campaign_pk: int) -> HumanMachine:
    """Human and machine opens/clicks of the campaign with this campaigns.id.

    A human click counts as a human open too, as a click sets opened_at: someone who clicked
    has read the message even when only a proxy fetched its pixel."""
    is_open, is_click = T.event_type == OPEN, T.event_type == CLICK
    per_recipient = (
        select(
            func.count().filter(is_open).label("o"),
            func.count().filter(is_click).label("c"),
            func.count().filter(is_open, IS_MACHINE).label("mo"),
            func.count().filter(is_click, IS_MACHINE).label("mc"),
        )
        .join(R, R.id == T.campaign_recipient_id)
        .where(R.campaign_id == campaign_pk, T.event_type.in_((OPEN, CLICK)))
        .group_by(T.campaign_recipient_id)
        .subquery()
    )
    p = per_recipient.c
    stmt = select(
        func.count().filter(or_(p.o > p.mo, p.c > p.mc)),
        func.count().filter(p.c > p.mc),
        func.coalesce(func.sum(p.mo), 0),
        func.coalesce(func.sum(p.mc), 0),
    )
    return HumanMachine(*(int(v) for v in session.execute(stmt).one()))


def bounce_codes(session: Session, campaign: int | str) -> tuple[BounceCode, ...]:
    """A campaign's bounces by kind (hard/soft/other) and SMTP code, most frequent first."""
    campaign_pk, _ = campaign_key(session, campaign)
    kind_text = func.lower(T.event_data["bounce_type"].astext)
    kind = case(
        (kind_text.in_(HARD_BOUNCES), literal("hard")),
        (kind_text.in_(SOFT_BOUNCES), literal("soft")),
        else_=literal("other"),
    )
    code = func.nullif(T.event_data["error_code"].astext, "")
    stmt = (
        select(
            kind.label("kind"),
            code.label("code"),
            func.count(),
            func.count(T.campaign_recipient_id.distinct()),
        )
        .join(R, R.id == T.campaign_recipient_id)
        .where(R.campaign_id == campaign_pk, T.event_type == EventType.BOUNCE)
        .group_by(kind, code)
        .order_by(func.count().desc(), kind, code.asc().nulls_last())
    )
    return tuple(BounceCode(k, c, int(n), int(u)) for k, c, n, u in session.execute(stmt))


__all__ = ["IS_MACHINE", "BounceCode", "HumanMachine", "bounce_codes", "human_machine"]
