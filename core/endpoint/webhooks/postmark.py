"""Postmark's webhooks: HTTP Basic auth (the credentials set in the webhook's URL) and the
records, one per request.

Recorded: Bounce (HardBounce and BadEmailAddress hard; SoftBounce, Transient, DnsError,
Blocked, DMARCPolicy, ... soft; Unsubscribe an unsubscribe, SpamNotification a complaint; the
informational types, like AutoResponder or AddressChange, skipped), SpamComplaint, Delivery,
and SubscriptionChange that suppresses sending for a reason of its own (a manual suppression
or an unsubscribe; the hard bounce or complaint behind one is recorded from its own record).
Postmark's MessageID is its own, so the recipient is found by the campaign in Metadata
(cc_campaign) and the address.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from core.endpoint.webhooks.common import (
    Kind,
    Parsed,
    ProviderEvent,
    Refusal,
    Skipped,
    bounce_data,
    enhanced_status,
    first_text,
    iso_time,
    need_object,
    obj,
    smtp_code,
    text,
)
from core.tracking.ids import METADATA_CAMPAIGN

PROVIDER = "postmark"
HARD = frozenset({"HardBounce", "BadEmailAddress"})
SOFT = frozenset(
    {
        "SoftBounce",
        "Transient",
        "DnsError",
        "Blocked",
        "DMARCPolicy",
        "Unknown",
        "VirusNotification",
        "SMTPApiError",
    }
)
_BOUNCE_AS = {"Unsubscribe": Kind.UNSUBSCRIBE, "SpamNotification": Kind.COMPLAIN}
_RECORDED_ELSEWHERE = frozenset({"HardBounce", "SpamComplaint"})
CHALLENGE = {"WWW-Authenticate": 'Basic realm="campaign-console webhooks"'}


def verify(expected: bytes, authorization: str | None) -> None:
    """Refusal 401 unless the Authorization header carries Basic `expected` (user:password)."""
    given = b""
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "basic":
            try:
                given = base64.b64decode(value.strip(), validate=True)
            except (binascii.Error, ValueError):
                given = b""
    if not given:
        raise Refusal(401, "Unauthorized: HTTP Basic credentials are required.")
    if not hmac.compare_digest(given, expected):
        raise Refusal(401, "Unauthorized: the credentials do not match; nothing recorded.")


def parse(payload: Any) -> Parsed:
    """The ProviderEvent in a verified record (400 when it isn't a Postmark record)."""
    record = need_object(payload, "A Postmark webhook body")
    kind = record.get("RecordType")
    if kind == "Bounce":
        return _bounce(record)
    if kind == "SpamComplaint":
        return _one(record, Kind.COMPLAIN, f"complaint:{text(record.get('ID'))}", "Email")
    if kind == "Delivery":
        event_id = f"delivery:{text(record.get('MessageID'))}:{text(record.get('Recipient'))}"
        return _one(record, Kind.DELIVERED, event_id, "Recipient", at="DeliveredAt")
    if kind == "SubscriptionChange":
        reason = text(record.get("SuppressionReason"))
        if record.get("SuppressSending") is not True:
            return _skip("a reactivation: nothing to record")
        if reason in _RECORDED_ELSEWHERE:
            return _skip(f"a suppression for {reason}, recorded from its own record")
        event_id = ":".join(
            str(text(record.get(k))) for k in ("MessageID", "Recipient", "ChangedAt")
        )
        data = {"suppression_reason": reason, "origin": text(record.get("Origin"))}
        return _one(
            record, Kind.UNSUBSCRIBE, f"subscription:{event_id}", "Recipient", "ChangedAt", data
        )
    if isinstance(kind, str):
        return _skip(f"Postmark {kind!r} records are not recorded")
    raise Refusal(400, "A Postmark webhook body has a RecordType; this one has none.")


def _skip(reason: str) -> Parsed:
    return Parsed(skipped=(Skipped(1, reason),))


def _one(
    record: dict[str, Any],
    kind: Kind,
    event_id: str,
    address: str,
    at: str = "BouncedAt",
    data: dict[str, Any] | None = None,
) -> Parsed:
    if record.get("ID") is None and event_id.startswith(("complaint:", "bounce:")):
        raise Refusal(400, "The Postmark record has no ID.")
    metadata = obj(record.get("Metadata"))
    extra = {"provider_message_id": text(record.get("MessageID")), "tag": text(record.get("Tag"))}
    event = ProviderEvent(
        PROVIDER,
        kind,
        event_id,
        email=text(record.get(address)),
        campaign=first_text(metadata.get(METADATA_CAMPAIGN)),
        occurred_at=iso_time(record.get(at)),
        data={k: v for k, v in {**(data or {}), **extra}.items() if v is not None}
        if kind is not Kind.DELIVERED
        else {},
        detail=text(record.get("Details")) if kind is Kind.DELIVERED else None,
    )
    return Parsed((event,))


def _bounce(record: dict[str, Any]) -> Parsed:
    bounce_type = text(record.get("Type")) or "Unknown"
    event_id = f"bounce:{text(record.get('ID'))}"
    other = _BOUNCE_AS.get(bounce_type)
    if other is not None:
        return _one(record, other, event_id, "Email", data={"postmark_type": bounce_type})
    if bounce_type not in HARD and bounce_type not in SOFT:
        return _skip(f"a Postmark {bounce_type} notice, not a bounce")
    details = text(record.get("Details"))
    description = text(record.get("Description"))
    data = bounce_data(
        "hard" if bounce_type in HARD else "soft",
        code=smtp_code(details),
        message=details or description or f"Postmark {bounce_type}",
        status=enhanced_status(details),
        postmark_type=bounce_type,
        type_code=record.get("TypeCode") if isinstance(record.get("TypeCode"), int) else None,
        description=description,
    )
    return _one(record, Kind.BOUNCE, event_id, "Email", data=data)
