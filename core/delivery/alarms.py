"""Alarms that pause a campaign by themselves, the reason kept on its row (pause_reason):

    errors      more than error_percent % of the last error_window attempts since the campaign
                last started or resumed were not delivered for now or for good (4xx, 5xx other
                than a bounce, no reply); listmonk pauses after an absolute 1,000 errors
    bounces     emails_bounced at or over bounce_percent % of emails_sent (SES warns at 5 %)
    complaints  complaining recipients at or over complaint_percent % of emails_sent (SES:
                0.1 %)

The two rates wait for min_sends sends, so that the first bounce of a campaign is not 100 %.
Each threshold is a column of the campaign (migration 0012) with those defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.campaigns import resolve_campaign, transition
from core.errors import InvalidInput
from core.store import CampaignStatus, percent

BOUNDS: dict[str, tuple[float, float]] = {
    "error_percent": (0, 100),
    "error_window": (1, 100_000),
    "bounce_percent": (0, 100),
    "complaint_percent": (0, 100),
    "min_sends": (1, 100_000_000),
}
_WHOLE = frozenset({"error_window", "min_sends"})


@dataclass(frozen=True, slots=True)
class AlarmSettings:
    error_percent: float = 50.0
    error_window: int = 100
    bounce_percent: float = 5.0
    complaint_percent: float = 0.1
    min_sends: int = 100


def alarm_settings(session: Session, campaign: int | str) -> AlarmSettings:
    c = resolve_campaign(session, campaign)
    return AlarmSettings(**{f.name: getattr(c, f"alarm_{f.name}") for f in fields(AlarmSettings)})


def _checked(name: str, value: Any) -> float | int:
    low, high = BOUNDS[name]
    whole = name in _WHOLE
    number = isinstance(value, int) or (not whole and isinstance(value, float))
    if isinstance(value, bool) or not number or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise InvalidInput(f"{name} is {kind} from {low:g} to {high:g}, not {value!r}.")
    return int(value) if whole else float(value)


def set_alarms(session: Session, campaign: int | str, **changes: Any) -> AlarmSettings:
    """Change some thresholds of a campaign (names of AlarmSettings); every value is checked
    before any is written. Returns the settings in force."""
    unknown = sorted(set(changes) - set(BOUNDS))
    if unknown:
        raise InvalidInput(f"No alarm setting {', '.join(unknown)}; known: {', '.join(BOUNDS)}.")
    checked = {name: _checked(name, value) for name, value in changes.items()}
    c = resolve_campaign(session, campaign, for_update=True)
    for name, value in checked.items():
        setattr(c, f"alarm_{name}", value)
    session.flush()
    return alarm_settings(session, c.id)


_FIGURES = text(
    """
    SELECT c.status, c.emails_sent, c.emails_bounced,
           COALESCE((SELECT complain_recipients FROM rollup_campaigns WHERE campaign_id = c.id), 0),
           c.alarm_error_percent, c.alarm_error_window, c.alarm_bounce_percent,
           c.alarm_complaint_percent, c.alarm_min_sends,
           w.n, w.errors
    FROM campaigns c
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, count(*) FILTER (WHERE outcome IN ('retry', 'failed')) AS errors
        FROM (
            SELECT outcome FROM send_attempts a
            WHERE a.campaign_id = c.id
              AND a.attempted_at >= COALESCE(c.alarm_since, '-infinity')
            ORDER BY a.id DESC LIMIT c.alarm_error_window
        ) last
    ) w
    WHERE c.id = :c
    """
)


def alarm_reason(session: Session, campaign_pk: int) -> str | None:
    """Why the campaign should be paused now, or None (one row and one index range read)."""
    row = session.execute(_FIGURES, {"c": campaign_pk}).one_or_none()
    if row is None:
        return None
    _, sent, bounced, complained, err_pct, window, bounce_pct, complaint_pct, min_sends = row[:9]
    n, errors = row[9], row[10]
    if n >= window and errors * 100.0 > err_pct * n:
        return (
            f"errors: {errors} of the last {n} attempts failed"
            f" ({percent(errors, n):.0f} %, over the {err_pct:g} % alarm)"
        )
    if sent >= min_sends:
        if percent(bounced, sent) >= bounce_pct:
            return (
                f"bounces: {bounced:,} of {sent:,} sent bounced ({percent(bounced, sent):.1f} %,"
                f" the alarm is {bounce_pct:g} %)"
            )
        if percent(complained, sent) >= complaint_pct:
            return (
                f"complaints: {complained:,} of {sent:,} sent complained"
                f" ({percent(complained, sent):.2f} %, the alarm is {complaint_pct:g} %)"
            )
    return None


def pause_for_alarm(session: Session, campaign_pk: int, reason: str) -> bool:
    """Pause a running campaign with the alarm's reason on its row; False if it isn't
    running (a person paused or ended it first)."""
    c = resolve_campaign(session, campaign_pk, for_update=True)
    if c.status != CampaignStatus.RUNNING:
        return False
    transition(session, c.id, "pause")
    c.pause_reason = reason
    session.flush()
    return True


def check_and_pause(session: Session, campaign_pk: int) -> str | None:
    """Pause the campaign if an alarm fires; the reason when it did."""
    reason = alarm_reason(session, campaign_pk)
    if reason is not None and pause_for_alarm(session, campaign_pk, reason):
        return reason
    return None
