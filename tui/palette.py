"""Command palette: jump to any campaign by name (the screens' actions come from app.py)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import cast

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from core import campaigns
from core.campaigns import CampaignSummary
from tui import format as fmt
from tui.context import Console
from tui.messages import OpenRecipients

LIMIT = 30


class CampaignJump(Provider):
    """'Open <campaign>' for the campaigns whose name contains what was typed, or whose id
    starts with it."""

    def _fetch(self, query: str) -> list[CampaignSummary]:
        with cast(Console, self.app).database.reading() as session:
            if not query:
                return campaigns.list_campaigns(session, limit=LIMIT)
            # The palette's query is often a campaign id rather than a name.
            return campaigns.find_campaigns(session, query, limit=LIMIT)

    def _open(self, campaign: CampaignSummary) -> None:
        self.app.post_message(OpenRecipients(None, campaign.id, campaign.name))

    def _help(self, c: CampaignSummary) -> str:
        return fmt.clean(
            f"{c.campaign_id} · {c.status} · {fmt.plural(c.total_recipients, 'recipient')} · "
            f"open {c.open_rate:.1f}%"
        )

    async def discover(self) -> Hits:
        for c in await asyncio.to_thread(self._fetch, ""):
            yield DiscoveryHit(
                Text(f"Open {fmt.clean(c.name)}"), partial(self._open, c), help=self._help(c)
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for c in await asyncio.to_thread(self._fetch, query.strip()):
            candidate = f"Open {fmt.clean(c.name)}"
            score = max(matcher.match(candidate), matcher.match(c.campaign_id))
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(candidate),
                    partial(self._open, c),
                    help=self._help(c),
                )
