"""What a sent message carries to name its recipient: a Message-ID we can read back (bounces
and provider webhooks quote it), the header / provider metadata key for the campaign, and the
VERP return path `bounces+TOKEN@domain` a bounce comes back to.

TOKEN is the recipient's signed tracking token (core.tracking.tokens, base64url, 50
characters: the local part stays under RFC 5321's 64), so a bounce names exactly one
recipient and nobody can make one up; parse_bounce_address() reads it back."""

from __future__ import annotations

import re

from core.errors import InvalidInput
from core.tracking.keys import KeyRing
from core.tracking.tokens import Claim, sign, verify

METADATA_CAMPAIGN = "cc_campaign"  # provider metadata / custom args: the campaign's campaign_id
HEADER_CAMPAIGN = "X-Campaign-Console-Campaign"
HEADER_RECIPIENT = "X-Campaign-Console-Recipient"  # campaign_recipients.id
BOUNCE_LOCAL = "bounces"
_BOUNCE = re.compile(r"\s*<?\s*bounces\+([A-Za-z0-9_-]{1,64})@([^\s<>@]+?)\s*>?\s*")
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


def check_domain(domain: object) -> str:
    if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain):
        raise InvalidInput(f"{domain!r} is not a mail domain (like mail.example.com).")
    return domain


def bounce_address(
    ring: KeyRing, campaign_pk: int, recipient_id: int, domain: str, token: str | None = None
) -> str:
    """The VERP return path of one recipient's message: bounces+TOKEN@domain (`token`: the
    recipient's token when the caller has signed it already)."""
    token = sign(ring, campaign_pk, recipient_id) if token is None else token
    return f"{BOUNCE_LOCAL}+{token}@{check_domain(domain)}"


def parse_bounce_address(ring: KeyRing, address: str) -> Claim | None:
    """The recipient a bounce_address() names (the token verified with the ring: a forged,
    altered or expired one gives None), with or without angle brackets; None for any other
    address. The domain is not checked: the mail that arrived there is ours to read."""
    if not isinstance(address, str) or len(address) > 1000:
        return None
    match = _BOUNCE.fullmatch(address)
    if match is None:
        return None
    return verify(ring, match[1])
