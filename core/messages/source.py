"""The sender's message source (core.delivery.MessageSource): a campaign's message for one
claimed recipient, with what every message of the campaign shares (CampaignMail: templates
compiled, keys, URL base, From) prepared once and kept a few seconds, so an edited template or
a rotated key reaches the messages that follow."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy.orm import Session

from core.messages.compose import CampaignMail, prepare, recipient_by_id

KEEP_S = 5.0  # a campaign's shared parts are prepared again after this


class Claimed(Protocol):
    """What the sender knows of a recipient it claimed (core.recipients.ClaimedRecipient)."""

    @property
    def id(self) -> int: ...


@dataclass
class MessageBuilder:
    """Called as source(session, campaign_pk, recipient) -> EmailMessage, in the claiming
    transaction (the links a message carries are saved in it)."""

    keep_s: float = KEEP_S
    _prepared: dict[int, tuple[float, CampaignMail]] = field(default_factory=dict)

    def mail(self, session: Session, campaign_pk: int) -> CampaignMail:
        now = time.monotonic()
        kept = self._prepared.get(campaign_pk)
        if kept is None or now - kept[0] > self.keep_s:
            kept = (now, prepare(session, campaign_pk))
            self._prepared[campaign_pk] = kept
        return kept[1]

    def __call__(self, session: Session, campaign_pk: int, recipient: Claimed) -> EmailMessage:
        mail = self.mail(session, campaign_pk)
        r = recipient_by_id(session, mail, recipient.id)
        return mail.message(session, r, date=datetime.now(UTC))
