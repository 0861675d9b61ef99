"""A plain message builder for the sender's tests and benchmark (the real one is the
templates issue's, core.messages): a real EmailMessage with the Message-ID of
core.tracking.ids, a subject and a body that name the recipient, a Return-Path.

It is built on the compat32 policy, whose headers are stored as given: the default policy
parses every header as it is set, which made building cost about 1 ms a message here, more
than sending it (the benchmark measures the sender, not the email package)."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import compat32

from sqlalchemy.orm import Session

from core.recipients import ClaimedRecipient
from core.tracking.ids import message_id

DOMAIN = "mail.example.test"
BOUNCES = "bounces@example.test"


def build(session: Session, campaign_pk: int, recipient: ClaimedRecipient) -> EmailMessage:
    message = EmailMessage(policy=compat32)
    message["Message-ID"] = message_id(campaign_pk, recipient.id, DOMAIN)
    message["From"] = "Campaign Console tests <news@example.test>"
    message["To"] = recipient.email_address
    message["Subject"] = f"Hello {recipient.email_address}"
    message["Return-Path"] = f"<{BOUNCES}>"
    message["MIME-Version"] = "1.0"
    message["Content-Type"] = 'text/plain; charset="utf-8"'
    message["Content-Transfer-Encoding"] = "8bit"
    message.set_payload(
        f"Dear {recipient.email_address},\n\nthis is message {recipient.id} of campaign"
        f" {campaign_pk}.\n"
    )
    return message
