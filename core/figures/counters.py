"""The campaign counters: kept by database triggers (migration 0003); recount repairs drift, in
them and in the event rollup (migration 0007, core.figures.rollup)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

import core.figures.rollup as rollup
from core.campaigns import resolve_campaign

COUNTERS = (
    "total_recipients",
    "emails_sent",
    "emails_opened",
    "emails_clicked",
    "emails_replied",
    "emails_bounced",
)


@dataclass(frozen=True, slots=True)
class Drift:
    """One counter that disagreed with the recipient rows, and what recount set it to."""

    campaign_id: str
    counter: str
    stored: int
    actual: int


# Campaign rows are locked first (in id order), so a concurrent writer's trigger waits for us
# and then adds its delta on top of the repaired value. The counting is a statement of its own,
# after the lock is taken: READ COMMITTED gives each statement a new snapshot, so it sees the
# rows of a writer that held a campaign's lock and committed while we waited for it (counted
# in the locking statement's older snapshot, they would be "repaired" away).
_LOCK = """
SELECT id FROM campaigns WHERE (CAST(:id AS int) IS NULL OR id = :id)
ORDER BY id FOR NO KEY UPDATE
"""
_ACTUAL = """
SELECT t.id, t.campaign_id, t.total_recipients, t.emails_sent, t.emails_opened,
       t.emails_clicked, t.emails_replied, t.emails_bounced,
       a.n, a.sent, a.opened, a.clicked, a.replied, a.bounced
FROM campaigns t
CROSS JOIN LATERAL (
    SELECT count(*) AS n, count(sent_at) AS sent, count(opened_at) AS opened,
           count(clicked_at) AS clicked, count(replied_at) AS replied,
           count(bounced_at) AS bounced
    FROM campaign_recipients r WHERE r.campaign_id = t.id
) a
WHERE t.id = ANY(CAST(:ids AS int[]))
  AND (t.total_recipients, t.emails_sent, t.emails_opened, t.emails_clicked,
       t.emails_replied, t.emails_bounced)
   <> (a.n, a.sent, a.opened, a.clicked, a.replied, a.bounced)
ORDER BY t.id
"""

_REPAIR = """
UPDATE campaigns SET total_recipients = :n, emails_sent = :sent, emails_opened = :opened,
    emails_clicked = :clicked, emails_replied = :replied, emails_bounced = :bounced
WHERE id = :id
"""


def recount(
    session: Session, campaign: int | str | None = None, *, events: bool = True
) -> tuple[Drift, ...]:
    """Recompute the counters from recipient rows (one campaign or all); report what was off.

    With `events`, the event rollup too (core.figures.rollup.rebuild: a pass over the campaign's
    events, seconds for millions), its drifts named "rollup <figure>" (e.g. "rollup open
    recipients", "rollup clicks by link")."""
    campaign_pk = resolve_campaign(session, campaign).id if campaign is not None else None
    locked = list(session.scalars(text(_LOCK), {"id": campaign_pk}))
    rows = session.execute(text(_ACTUAL), {"ids": locked}).mappings().all()
    drifts: list[Drift] = []
    for row in rows:
        actual = (
            row["n"],
            row["sent"],
            row["opened"],
            row["clicked"],
            row["replied"],
            row["bounced"],
        )
        for counter, value in zip(COUNTERS, actual, strict=True):
            if row[counter] != value:
                drifts.append(Drift(row["campaign_id"], counter, row[counter], value))
        session.execute(
            text(_REPAIR),
            dict(zip(("n", "sent", "opened", "clicked", "replied", "bounced"), actual, strict=True))
            | {"id": row["id"]},
        )
    if events:
        for d in rollup.rebuild(session, campaign_pk):
            drifts.append(Drift(d.campaign_id, f"rollup {d.figure}", d.stored, d.actual))
    return tuple(drifts)
