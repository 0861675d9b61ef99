"""A test message: a campaign's message rendered for one of its recipients (the first, or the
one given: the templates screen's sample) but addressed to someone else, the Subject with
"[test] " in front, sent through the relay at once. It records nothing on any recipient: no
attempt, no status, and the headers that would lead back to the recipient are taken off or
replaced (To, Message-ID, the VERP Return-Path, so a bounce of it names nobody; the
List-Unsubscribe headers, so a one-click unsubscribe of it can't unsubscribe them).

The body's tracking links and pixel stay as the recipient's, so that the message is the one
they get: opened or clicked, they count for that recipient."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.campaigns import campaign_key
from core.delivery.claims import serialized
from core.delivery.connection import Connection
from core.delivery.relay import Relay
from core.delivery.replies import Reply
from core.errors import InvalidInput
from core.messages import message_for
from core.tracking.ids import HEADER_RECIPIENT

SUBJECT_PREFIX = "[test] "
_TAKEN_OFF = ("Return-Path", "List-Unsubscribe", "List-Unsubscribe-Post", HEADER_RECIPIENT)
_FIRST = text(
    "SELECT email_address FROM campaign_recipients WHERE campaign_id = :pk ORDER BY id LIMIT 1"
)


def check_address(address: object) -> str:
    """One plain address, local@domain, on one line."""
    if not isinstance(address, str) or not address.strip():
        raise InvalidInput("Give the address to send the test message to, like you@example.com.")
    value = address.strip()
    found = getaddresses([value])
    if (
        len(found) != 1
        or found[0][1] != value
        or not value.isprintable()
        or value.count("@") != 1
        or value.startswith("@")
        or value.endswith("@")
        or len(value) > 320
    ):
        raise InvalidInput(f"{value!r} is not an email address (like you@example.com).")
    return value


def trial_message(
    session: Session,
    campaign: int | str,
    address: str,
    *,
    email: str | None = None,
    template: int | str | None = None,
) -> EmailMessage:
    """The campaign's message for `email` (default: its first recipient), to `address`."""
    to = check_address(address)
    pk, campaign_id = campaign_key(session, campaign)
    if email is None:
        email = session.execute(_FIRST, {"pk": pk}).scalar_one_or_none()
        if email is None:
            raise InvalidInput(
                f"Campaign {campaign_id} has no recipients: its message is rendered for the"
                " first one. Import some first."
            )
    message = message_for(session, pk, email, template=template)
    for name in _TAKEN_OFF:
        del message[name]
    subject = str(message.get("Subject", ""))
    del message["Subject"], message["To"], message["Message-ID"]
    message["Subject"] = SUBJECT_PREFIX + subject
    message["To"] = to
    from_address = getaddresses([str(message.get("From", ""))])
    domain = from_address[0][1].rpartition("@")[2] if from_address else ""
    message["Message-ID"] = make_msgid("cc-test", domain=domain or None)
    return message


def envelope_sender(message: EmailMessage) -> str:
    found = [a for _, a in getaddresses([str(v) for v in message.get_all("From") or []]) if a]
    return found[0] if found else ""


async def _send(relay: Relay, message: EmailMessage) -> Reply:
    connection = Connection(relay)
    try:
        return await connection.send(
            envelope_sender(message), str(message["To"]), serialized(message)
        )
    finally:
        await connection.close()


def send_test(relay: Relay, message: EmailMessage) -> Reply:
    """Deliver a trial_message() to its To through the relay; the relay's reply."""
    return asyncio.run(_send(relay, message))
