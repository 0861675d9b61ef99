"""SendGrid's Event Webhook: the ECDSA signature and the events.

SendGrid signs timestamp + raw body with ECDSA P-256 over SHA-256 (the signature base64 DER in
X-Twilio-Email-Event-Webhook-Signature, the timestamp in X-Twilio-Email-Event-Webhook-Timestamp);
we verify with the public key from its Mail Settings and accept a timestamp at most 300 s from
now (a replay later than that is refused; one within it is stored once by its sg_event_id).

A request is a JSON array of events. Recorded: bounce (type "bounce": hard; "blocked": soft),
dropped (SendGrid did not send it: a bounce of type "dropped", which suppresses nothing),
spamreport (complain), unsubscribe and group_unsubscribe, delivered (a delivery row).
deferred is a delivery attempt SendGrid retries (its outcome comes later as delivered or
bounce): skipped, as are processed, open, click and group_resubscribe. Custom args arrive as
top-level fields: cc_campaign names our campaign; smtp-id is the Message-ID.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from core.endpoint.webhooks.common import (
    MAX_EVENTS,
    Kind,
    Parsed,
    ProviderEvent,
    Refusal,
    Skipped,
    bounce_data,
    enhanced_status,
    first_text,
    smtp_code,
    text,
    unix_time,
)
from core.tracking.ids import METADATA_CAMPAIGN

PROVIDER = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_KINDS = {
    "bounce": Kind.BOUNCE,
    "dropped": Kind.BOUNCE,
    "blocked": Kind.BOUNCE,
    "spamreport": Kind.COMPLAIN,
    "unsubscribe": Kind.UNSUBSCRIBE,
    "group_unsubscribe": Kind.UNSUBSCRIBE,
    "delivered": Kind.DELIVERED,
}
_SKIP_REASONS = {
    "deferred": "a deferral: SendGrid tries again and reports the outcome later",
}


def verify(
    key: ec.EllipticCurvePublicKey,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float,
    max_age: float,
) -> None:
    """Refusal (401 unsigned or out of the time window, 403 a signature that doesn't match)
    unless SendGrid signed `body` at `timestamp`."""
    if not signature or not timestamp:
        raise Refusal(
            401, f"Unsigned: the {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} headers are required."
        )
    stamp = timestamp.strip()
    if not stamp.isascii() or not stamp.isdigit():
        raise Refusal(401, f"{TIMESTAMP_HEADER} is not a Unix time in seconds.")
    if abs(now - int(stamp)) > max_age:
        raise Refusal(
            401,
            f"The signed timestamp is more than {max_age:.0f} s from now: a stale or replayed "
            "request (or a clock that is off) is refused.",
        )
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
        key.verify(raw, stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        raise Refusal(
            403, "The SendGrid signature does not match: refused, nothing recorded."
        ) from None


def parse(payload: Any) -> Parsed:
    """ProviderEvents of a verified request (400 when its shape is not SendGrid's)."""
    if not isinstance(payload, list):
        raise Refusal(400, "SendGrid posts a JSON array of events; this is not one.")
    if len(payload) > MAX_EVENTS:
        raise Refusal(413, f"{len(payload):,} events in one request; the limit is {MAX_EVENTS:,}.")
    events: list[ProviderEvent] = []
    skipped: list[Skipped] = []
    for position, item in enumerate(payload, 1):
        if not isinstance(item, dict):
            raise Refusal(400, f"Event {position} is not a JSON object.")
        name = item.get("event")
        kind = _KINDS.get(name) if isinstance(name, str) else None
        if kind is None or not isinstance(name, str):
            reason = _SKIP_REASONS.get(str(name), f"SendGrid {name!r} events are not recorded")
            skipped.append(Skipped(position, reason))
            continue
        event_id = text(item.get("sg_event_id"), 200)
        if event_id is None:
            raise Refusal(400, f"Event {position} ({name}) has no sg_event_id.")
        events.append(
            ProviderEvent(
                PROVIDER,
                kind,
                event_id,
                email=text(item.get("email")),
                message_id=text(item.get("smtp-id")),
                campaign=first_text(item.get(METADATA_CAMPAIGN)),
                occurred_at=unix_time(item.get("timestamp")),
                data=_data(name, item),
                detail=text(item.get("response")) if kind is Kind.DELIVERED else None,
                position=position,
            )
        )
    return Parsed(tuple(events), tuple(skipped))


def _data(name: str, item: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {"provider_message_id": text(item.get("sg_message_id"))}
    if name in ("bounce", "blocked", "dropped"):
        subtype = text(item.get("type")) or name
        bounce_type = "dropped" if name == "dropped" else "soft" if subtype == "blocked" else "hard"
        reason = text(item.get("reason")) or text(item.get("response"))
        status = text(item.get("status"))
        return bounce_data(
            bounce_type,
            code=smtp_code(reason),
            message=reason or f"SendGrid {name}",
            status=enhanced_status(status, reason),
            provider_bounce_type=subtype,
            bounce_classification=text(item.get("bounce_classification")),
            **extra,
        )
    if name == "group_unsubscribe":
        extra["asm_group_id"] = text(item.get("asm_group_id"))
    if name == "delivered":
        return {}
    return {k: v for k, v in extra.items() if v is not None}
