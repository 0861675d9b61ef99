"""What a sent message carries to name its recipient: a Message-ID we can read back (bounces
and provider webhooks quote it), and the header / provider metadata key for the campaign."""

from __future__ import annotations

import re

from core.errors import InvalidInput

METADATA_CAMPAIGN = "cc_campaign"  # provider metadata / custom args: the campaign's campaign_id
HEADER_CAMPAIGN = "X-Campaign-Console-Campaign"
_INT4 = 2**31 - 1
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_MESSAGE_ID = re.compile(r"\s*<?\s*cc\.(\d{1,10})\.(\d{1,10})@([^\s<>@]+)\s*>?\s*", re.I)


def message_id(campaign_pk: int, recipient_id: int, domain: str) -> str:
    """ "<cc.{campaign_pk}.{recipient_id}@{domain}>" (campaigns.id, campaign_recipients.id)."""
    for value, what in ((campaign_pk, "A campaign's key"), (recipient_id, "A recipient id")):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _INT4:
            raise InvalidInput(f"{what} must be a whole number from 1 to {_INT4}, not {value!r}.")
    if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain):
        raise InvalidInput(f"{domain!r} is not a domain for a Message-ID (like mail.example.com).")
    return f"<cc.{campaign_pk}.{recipient_id}@{domain}>"


def parse_message_id(value: str) -> tuple[int, int] | None:
    """(campaign_pk, recipient_id) from a Message-ID message_id() made, with or without the
    angle brackets and surrounding whitespace; None for any other value."""
    if not isinstance(value, str) or len(value) > 1000:
        return None
    match = _MESSAGE_ID.fullmatch(value)
    if match is None:
        return None
    campaign_pk, recipient_id = int(match[1]), int(match[2])
    if not (1 <= campaign_pk <= _INT4 and 1 <= recipient_id <= _INT4):
        return None
    return campaign_pk, recipient_id
