"""Bounces read back: one message an MTA pipes to `campaigns bounces ingest`, read as

    a DSN (RFC 3464)        multipart/report; report-type=delivery-status, read with the
                            stdlib's email parser: each per-recipient block's Action, Status
                            (5.x.x hard, 4.x.x soft), Diagnostic-Code, Final-Recipient
    anything else           a provider's own bounce format, read by flufl.bounce (permanent:
                            hard, temporary: soft), the status and code found in its text

and recorded for the recipient its VERP address names (bounces+TOKEN@domain, the message's
Return-Path, core.tracking.bounce_address): the envelope recipient the MTA gives, else the
Delivered-To / X-Original-To / To headers, each verified with the key ring (a forged or altered
token names nobody). The event is a bounce through core.events.record_events with the keys
core.delivery.outcomes' SMTP bounce uses (bounce_type, error_code, error_message,
enhanced_status), source bounce-pipe, and a dedup key from the DSN's identity (its Message-ID,
else a hash of its report), so the same bounce piped twice is stored once. A hard bounce
suppresses the address (the database's trigger); a soft one sets bounced_at and the status.

A DSN that reports only delivery (Action delivered, relayed, expanded) is no failure: ignored.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from typing import Any

from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.events import EventInput, record_events
from core.store import EventSource, EventType
from core.tracking import load_keyring, parse_bounce_address
from core.tracking.tokens import Claim

MAX_BYTES = 10 * 1024 * 1024  # a bounce quotes the message at most; larger is no bounce
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?![\d.])")
_FAILED_ACTIONS = frozenset({"failed", "delayed"})
MAX_DIAGNOSTIC = 1000


class NotABounce(InvalidInput):
    """The message is no bounce, or names no recipient of ours: nothing written (EX_DATAERR)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """What one bounce says of the address it is about."""

    kind: str  # "hard" or "soft"
    status: str | None  # the enhanced status, 5.1.1
    code: str | None  # the SMTP reply code, 550
    diagnostic: str
    address: str | None  # the Final-Recipient / the address flufl.bounce found
    identity: str  # the DSN's own identity, for the dedup key
    ignored: str | None = None  # why nothing is recorded (a success DSN), else None


@dataclass(frozen=True, slots=True)
class Ingested:
    recorded: bool  # False: a duplicate, or ignored
    recipient_id: int
    failure: Failure


def parse(raw: bytes) -> Message:
    if len(raw) > MAX_BYTES:
        raise NotABounce(f"The message is over {MAX_BYTES // (1024 * 1024)} MiB: no bounce.")
    if not raw.strip():
        raise NotABounce("The message is empty: no bounce.")
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _one_line(value: object) -> str:
    text = " ".join(str(value or "").split())
    return text[:MAX_DIAGNOSTIC]


def _address(value: str | None) -> str | None:
    if not value:
        return None
    _, _, address = value.partition(";")  # rfc822; user@example.com
    address = (address or value).strip().strip("<>").strip()
    return address or None


def _identity(message: Message, report: bytes) -> str:
    message_id = _one_line(message.get("Message-ID"))
    if message_id:
        return "mid:" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
    return "sha:" + hashlib.sha256(report).hexdigest()[:32]


def _codes(text: str) -> tuple[str | None, str | None]:
    status = _STATUS.search(text)
    code = _CODE.search(text)
    return (status[0] if status else None, code[1] if code else None)


def _delivery_status(message: Message) -> Message | None:
    if message.get_content_type() != "multipart/report":
        return None
    if (message.get_param("report-type") or "").lower() != "delivery-status":  # type: ignore[union-attr]
        return None
    for part in message.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            return part
    return None


def _from_dsn(message: Message, part: Message) -> Failure | None:
    blocks = part.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        # Some MTAs leave the blank line out: the stdlib then reads one block; read it again.
        body = part.get_payload(decode=False)
        text = body if isinstance(body, str) else ""
        blocks = [email.message_from_string(b) for b in re.split(r"\r?\n\r?\n", text) if b]
    fields = [b for b in blocks if isinstance(b, Message)]
    recipients = [b for b in fields[1:] if b.get("Action") or b.get("Status")]
    if not recipients:
        return None
    failed = [b for b in recipients if (b.get("Action") or "").strip().lower() in _FAILED_ACTIONS]
    report = str(part).encode("utf-8", "replace")
    if not failed:
        action = (recipients[0].get("Action") or "").strip().lower() or "no action"
        return Failure("soft", None, None, "", None, _identity(message, report), ignored=action)
    # The first failed block whose status is permanent, else the first.
    block = next((b for b in failed if (b.get("Status") or "").strip().startswith("5")), failed[0])
    action = (block.get("Action") or "").strip().lower()
    status_text = _one_line(block.get("Status"))
    diagnostic = _one_line(block.get("Diagnostic-Code"))
    _, _, diagnostic_text = diagnostic.partition(";")  # smtp; 550 5.1.1 ...
    diagnostic_text = diagnostic_text.strip() or diagnostic
    status, _ = _codes(status_text)
    in_text, code = _codes(diagnostic_text)
    status = status or in_text
    if status is None:
        kind = "soft" if action == "delayed" else "hard"
    else:
        kind = "hard" if status.startswith("5") and action == "failed" else "soft"
    return Failure(
        kind,
        status,
        code,
        diagnostic_text or status_text or action,
        _address(block.get("Final-Recipient") or block.get("Original-Recipient")),
        _identity(message, report),
    )


def _text(message: Message) -> str:
    out = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                out.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(out)


def _line_with(text: str, *needles: str | None) -> str:
    for needle in needles:
        if needle:
            for line in text.splitlines():
                if needle in line:
                    return _one_line(line)
    return ""


def _from_flufl(message: Message, raw: bytes) -> Failure | None:
    from flufl.bounce import all_failures  # its detectors load as it is first imported

    temporary, permanent = all_failures(message)
    found = sorted(permanent) or sorted(temporary)
    if not found:
        return None
    kind = "hard" if permanent else "soft"
    first = found[0]
    address = first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)
    text = _text(message)
    status, code = _codes(_line_with(text, address) or text)
    if status is None:
        status, code = _codes(text)
    diagnostic = _line_with(text, status, code, address) or _one_line(message.get("Subject"))
    return Failure(kind, status, code, diagnostic, address, _identity(message, raw))


def read_failure(message: Message, raw: bytes) -> Failure:
    """What the bounce says (NotABounce when it is none)."""
    part = _delivery_status(message)
    failure = _from_dsn(message, part) if part is not None else None
    if failure is None:
        failure = _from_flufl(message, raw)
    if failure is None:
        raise NotABounce(
            "The message is no bounce: no delivery-status report and no failed address that "
            "flufl.bounce recognises. Nothing was written."
        )
    return failure


def envelope_candidates(message: Message, recipient: str | None) -> list[str]:
    if recipient:
        return [recipient]
    found: list[str] = []
    for name in ENVELOPE_HEADERS:
        for value in message.get_all(name) or []:
            for _, address in email.utils.getaddresses([str(value)]):
                if address:
                    found.append(address)
    return found


def find_claim(session: Session, candidates: list[str]) -> Claim:
    ring = load_keyring(session)
    for address in candidates:
        claim = parse_bounce_address(ring, address)
        if claim is not None:
            return claim
    named = ", ".join(candidates[:3]) or "none"
    raise NotABounce(
        f"The bounce names no recipient of ours (envelope recipient: {named}; a VERP address "
        "bounces+TOKEN@domain with a valid token is needed). Nothing was written."
    )


def bounce_event(recipient_id: int, failure: Failure) -> EventInput:
    data: dict[str, Any] = {
        "bounce_type": failure.kind,
        "error_code": failure.code or failure.status or "",
        "error_message": failure.diagnostic or f"{failure.kind} bounce",
        "enhanced_status": failure.status,
        "stage": "dsn",
    }
    if failure.address:
        data["reported_address"] = failure.address[:320]
    return EventInput(
        event_type=EventType.BOUNCE.value,
        recipient_id=recipient_id,
        event_data=data,
        source=EventSource.BOUNCE_PIPE.value,
        dedup_key=f"bounce-pipe:{recipient_id}:{failure.identity}",
    )


def ingest(
    session: Session, message: Message, failure: Failure, *, recipient: str | None = None
) -> Ingested:
    """Record the bounce `failure` (read_failure's) in the caller's transaction."""
    claim = find_claim(session, envelope_candidates(message, recipient))
    if failure.ignored is not None:
        return Ingested(False, claim.recipient_id, failure)
    result = record_events(session, [bounce_event(claim.recipient_id, failure)])
    return Ingested(result.recorded > 0, claim.recipient_id, failure)
