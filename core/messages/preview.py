"""A message as a person reads it before it is sent: its headers, its text part, and its HTML
part as readable text with the links listed (tracked URL and where it goes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import cast

from sqlalchemy.orm import Session

from core.messages.compose import message_for
from core.messages.markup import to_text
from core.tracking import campaign_links, parse_message_id

SHOWN_HEADERS = (
    "From", "To", "Subject", "Date", "Message-ID", "Return-Path", "List-Unsubscribe",
    "List-Unsubscribe-Post", "X-Campaign-Console-Campaign", "X-Campaign-Console-Recipient",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Preview:
    headers: tuple[tuple[str, str], ...]
    text: str  # the text part as sent
    html_text: str  # the HTML part as readable text, links marked [n]
    links: tuple[tuple[str, str], ...]  # (the URL in the message, where it leads)
    size: int  # bytes of the whole message


def parts(msg: EmailMessage) -> tuple[str, str]:
    """(text part, HTML part) of a message message_for() made."""
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    return (
        cast(EmailMessage, plain).get_content() if plain is not None else "",
        cast(EmailMessage, html).get_content() if html is not None else "",
    )


def preview(
    session: Session,
    campaign: int | str,
    email: str,
    *,
    template: int | str | None = None,
    now: datetime | None = None,
) -> Preview:
    """The message `campaign` sends to `email` (with another template if given), dated
    `now`, for reading. Saves its links: commit."""
    msg = message_for(session, campaign, email, template=template, now=now)
    plain, html = parts(msg)
    html_text, found = to_text(html)
    ids = parse_message_id(str(msg["Message-ID"]))
    targets = dict(campaign_links(session, ids[0])) if ids else {}
    links = tuple((url, _target(url, targets)) for url in found)
    headers = tuple((h, str(msg[h])) for h in SHOWN_HEADERS if msg[h] is not None)
    return Preview(headers, plain, html_text, links, len(msg.as_bytes()))


def _target(url: str, targets: dict[int, str]) -> str:
    _, sep, position = url.rpartition("/click/")
    if sep and position.isdigit() and int(position) in targets:
        return targets[int(position)]
    return url
