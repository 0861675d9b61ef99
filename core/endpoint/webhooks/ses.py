"""Amazon SES notifications (the Message of a verified SNS Notification) as ProviderEvents.

Both SES forms are read: identity notifications ("notificationType") and event publishing
("eventType"). Bounce (bounceType Permanent: hard, Transient: soft, Undetermined as it is;
each of bouncedRecipients with its status and diagnosticCode), Complaint and Delivery are
recorded; other types (Send, Reject, Open, Click, DeliveryDelay, ...) are acknowledged and
skipped. The recipient: our Message-ID or campaign header in mail.headers (SES includes the
original headers when "include original headers" is on), else the campaign in mail.tags.

Event ids: a bounce's or complaint's feedbackId (the same whichever SES channel reported
it), a delivery's SES message id; with the recipient's place appended when there are several.
"""

from __future__ import annotations

import json
from typing import Any

from core.endpoint.webhooks.common import (
    Kind,
    Parsed,
    ProviderEvent,
    Skipped,
    bounce_data,
    enhanced_status,
    first_text,
    header_value,
    iso_time,
    obj,
    smtp_code,
    text,
)
from core.tracking.ids import HEADER_CAMPAIGN, METADATA_CAMPAIGN

PROVIDER = "ses"
BOUNCE_TYPES = {"permanent": "hard", "transient": "soft"}


def parse(message_text: str, sns_message_id: str) -> Parsed:
    """The SES notification in an SNS Notification's Message."""
    try:
        message = json.loads(message_text)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        # SES sends a plain-text test message when a topic is first set up.
        return Parsed(skipped=(Skipped(1, "not an SES notification (no JSON object)"),))
    kind = message.get("notificationType") or message.get("eventType")
    mail = obj(message.get("mail"))
    headers = mail.get("headers")
    common = obj(mail.get("commonHeaders"))
    tags = obj(mail.get("tags"))
    base: dict[str, Any] = {
        "message_id": header_value(headers, "Message-ID") or text(common.get("messageId")),
        "campaign": first_text(header_value(headers, HEADER_CAMPAIGN))
        or first_text(tags.get(METADATA_CAMPAIGN)),
    }
    ses_id = text(mail.get("messageId"))
    if kind == "Bounce":
        return _bounce(_section(message, "bounce"), base, ses_id, sns_message_id)
    if kind == "Complaint":
        return _complaint(_section(message, "complaint"), base, ses_id, sns_message_id)
    if kind == "Delivery":
        return _delivery(_section(message, "delivery"), base, ses_id, sns_message_id)
    return Parsed(skipped=(Skipped(1, f"SES {kind!r} notifications are not recorded"),))


def _section(message: dict[str, Any], name: str) -> dict[str, Any]:
    return obj(message.get(name))


def _recipients(section: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = section.get(key)
    if isinstance(value, list):
        return [r if isinstance(r, dict) else {"emailAddress": r} for r in value]
    return []


def _event_id(first: str | None, fallback: str, index: int, count: int) -> str:
    base = first or fallback
    return base if count == 1 else f"{base}/{index}"


def _bounce(
    bounce: dict[str, Any], base: dict[str, Any], ses_id: str | None, sns_id: str
) -> Parsed:
    raw_type = text(bounce.get("bounceType")) or "Undetermined"
    bounce_type = BOUNCE_TYPES.get(raw_type.lower(), raw_type.lower())
    at = iso_time(bounce.get("timestamp"))
    recipients = _recipients(bounce, "bouncedRecipients")
    events = []
    for i, r in enumerate(recipients, 1):
        diagnostic = text(r.get("diagnosticCode"))
        status = text(r.get("status"))
        data = bounce_data(
            bounce_type,
            code=smtp_code(diagnostic),
            message=diagnostic or f"{raw_type} bounce ({text(bounce.get('bounceSubType'))})",
            status=status or enhanced_status(diagnostic),
            provider_bounce_type=raw_type,
            bounce_subtype=text(bounce.get("bounceSubType")),
            action=text(r.get("action")),
            provider_message_id=ses_id,
        )
        events.append(
            ProviderEvent(
                PROVIDER,
                Kind.BOUNCE,
                _event_id(text(bounce.get("feedbackId")), sns_id, i, len(recipients)),
                email=text(r.get("emailAddress")),
                occurred_at=at,
                data=data,
                position=i,
                **base,
            )
        )
    return Parsed(tuple(events))


def _complaint(
    complaint: dict[str, Any], base: dict[str, Any], ses_id: str | None, sns_id: str
) -> Parsed:
    at = iso_time(complaint.get("timestamp"))
    recipients = _recipients(complaint, "complainedRecipients")
    data = {
        k: v
        for k, v in {
            "feedback_type": text(complaint.get("complaintFeedbackType")),
            "complaint_subtype": text(complaint.get("complaintSubType")),
            "provider_message_id": ses_id,
        }.items()
        if v is not None
    }
    events = tuple(
        ProviderEvent(
            PROVIDER,
            Kind.COMPLAIN,
            _event_id(text(complaint.get("feedbackId")), sns_id, i, len(recipients)),
            email=text(r.get("emailAddress")),
            occurred_at=at,
            data=data,
            position=i,
            **base,
        )
        for i, r in enumerate(recipients, 1)
    )
    return Parsed(events)


def _delivery(
    delivery: dict[str, Any], base: dict[str, Any], ses_id: str | None, sns_id: str
) -> Parsed:
    at = iso_time(delivery.get("timestamp"))
    raw = delivery.get("recipients")
    recipients = [r for r in raw if isinstance(r, str)] if isinstance(raw, list) else []
    first = f"{ses_id}/delivery" if ses_id else None
    events = tuple(
        ProviderEvent(
            PROVIDER,
            Kind.DELIVERED,
            _event_id(first, sns_id, i, len(recipients)),
            email=r,
            occurred_at=at,
            detail=text(delivery.get("smtpResponse")),
            position=i,
            **base,
        )
        for i, r in enumerate(recipients, 1)
    )
    return Parsed(events)
