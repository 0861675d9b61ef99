"""Duplicating a campaign: a new draft with the same template and leads, suppressed addresses
left out (core.recipients.suppression) and counted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session

import core.recipients.suppression as suppression
from core.campaigns import (
    NAME_MAX,
    CampaignSummary,
    create_campaign,
    load_summary,
    resolve_campaign,
)
from core.recipients.checks import id_array
from core.store import CampaignRecipient, rows_written

_COPY_SUFFIX = " (copy)"


@dataclass(frozen=True, slots=True)
class DuplicateResult:
    campaign: CampaignSummary  # the new draft
    copied: int  # recipients copied, as pending
    skipped_suppressed: int  # recipients left out: their address is on the suppression list

    def describe(self) -> str:
        """One line for the app's notification and the CLI."""
        text = f"Copied to {self.campaign.campaign_id} with {self.copied:,} recipients"
        if self.skipped_suppressed:
            text += (
                f"; {self.skipped_suppressed:,} left out: suppressed"
                " (bounced, complained or unsubscribed)"
            )
        return text


def duplicate_campaign(
    session: Session, campaign: int | str, *, name: str | None = None
) -> DuplicateResult:
    """A new draft with the same template and leads; every recipient pending, no timestamps.
    Recipients whose address is suppressed (core.recipients.suppression) are left out and
    counted."""
    source = resolve_campaign(session, campaign)
    if name is None:
        base = source.name[: NAME_MAX - len(_COPY_SUFFIX)]
        name = base + _COPY_SUFFIX
    copy = create_campaign(
        session, name=name, template_id=source.template_id, created_by=source.created_by
    )
    r = CampaignRecipient.__table__.c
    suppression.key_pending(session)
    pairs = select(r.id, r.email_address).where(r.campaign_id == source.id)
    streamed = session.execute(pairs, execution_options={"yield_per": suppression.CHUNK})
    skipped = suppression.suppressed_among(session, streamed)  # a million rows: streamed
    rows = select(literal(copy.id), r.lead_id, r.email_address).where(r.campaign_id == source.id)
    if skipped:
        rows = rows.where(r.id != func.all(id_array("skip", sorted(skipped))))
    copied = rows_written(
        session,
        insert(CampaignRecipient.__table__)
        .from_select(["campaign_id", "lead_id", "email_address"], rows.order_by(r.id))
        .execution_options(preserve_rowcount=True),
    )
    return DuplicateResult(load_summary(session, copy.id), copied, len(skipped))
