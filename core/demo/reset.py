"""Removing the demo data: the campaigns listed in demo_campaigns, the seeder's (with their
recipients and events; a user's campaign named `demo_...` is not one of them), and demo
leads (addresses ending in `.example`) that no remaining campaign uses."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import figures
from core.demo import data as d
from core.demo.common import (
    Progress,
    ResetResult,
    demo_campaign_ids,
    lock,
    no_progress,
    raw_connection,
    row_count,
)
from core.demo.copy import is_superuser
from core.store import CHANNEL, Database

_EVENTS = """
DELETE FROM email_tracking e USING campaign_recipients r
WHERE r.id = e.campaign_recipient_id AND r.campaign_id = ANY(CAST(:pks AS int[]))
"""
_RECIPIENTS = "DELETE FROM campaign_recipients WHERE campaign_id = ANY(CAST(:pks AS int[]))"
_MARKS = "DELETE FROM demo_campaigns WHERE campaign_id = ANY(CAST(:pks AS int[]))"
_CAMPAIGNS = "DELETE FROM campaigns WHERE id = ANY(CAST(:pks AS int[]))"
_LEADS = """
DELETE FROM leads l
WHERE right(l.email, :n) = :suffix
  AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.lead_id = l.id)
"""


def delete_campaigns(session: Session, campaign_ids: list[str]) -> list[int]:
    """Delete these campaigns, their recipients and their events, a statement per table
    (children first, so the foreign keys' cascades find nothing left to do row by row).
    Returns the deleted campaigns' ids (campaigns.id)."""
    pks = list(
        session.scalars(
            text("SELECT id FROM campaigns WHERE campaign_id = ANY(CAST(:c AS text[]))"),
            {"c": campaign_ids},
        )
    )
    delete_campaign_rows(session, pks)
    return pks


def delete_campaign_rows(session: Session, pks: list[int]) -> None:
    """Delete the events, recipients and rows of these campaigns (campaigns.id)."""
    if pks:
        for statement in (_EVENTS, _RECIPIENTS, _MARKS, _CAMPAIGNS):
            session.execute(text(statement), {"pks": pks})


def reset_demo(db: Database, *, progress: Progress = no_progress) -> ResetResult:
    """Delete every demo campaign and the demo leads nothing else uses, in one transaction."""
    with db.transaction() as session:
        lock(session)
        ids = sorted(demo_campaign_ids(session))
        raw = raw_connection(session)
        fast = is_superuser(raw)
        if fast:
            # Skips the per-row cascade checks and triggers: children are deleted first and
            # the campaigns go too, so no counter is left to keep; listeners are told below.
            raw.execute("SET LOCAL session_replication_role = replica")
        if ids:
            progress(f"reset: deleting {len(ids):,} demo campaigns with their recipients")
        pks = delete_campaigns(session, ids)
        suffix = d.LEAD_DOMAIN_SUFFIX
        leads = row_count(session.execute(text(_LEADS), {"n": len(suffix), "suffix": suffix}))
        if fast:
            raw.execute("SET LOCAL session_replication_role = origin")
            figures.discard(session, pks)  # the skipped triggers would have deleted it
            session.execute(
                text("SELECT pg_notify(:ch, x::text) FROM unnest(CAST(:pks AS int[])) AS x"),
                {"ch": CHANNEL, "pks": pks},
            )
    progress(f"reset: deleted {len(pks):,} demo campaigns and {leads:,} demo leads")
    return ResetResult(len(pks), leads)
