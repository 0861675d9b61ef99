"""Provider payloads in the shapes the providers document, for the webhook tests."""

from __future__ import annotations

import time
import uuid
from typing import Any

from core.tracking.ids import HEADER_CAMPAIGN, METADATA_CAMPAIGN


def ses_mail(message_id: str | None = None, campaign: str | None = None) -> dict[str, Any]:
    headers = [{"name": "From", "value": "news@example.org"}]
    if message_id is not None:
        headers.append({"name": "Message-ID", "value": message_id})
    tags: dict[str, list[str]] = {"ses:configuration-set": ["campaigns"]}
    if campaign is not None:
        tags[METADATA_CAMPAIGN] = [campaign]
    return {
        "timestamp": "2026-12-01T09:59:58.000Z",
        "messageId": f"0102{uuid.uuid4().hex}-000000",
        "source": "news@example.org",
        "headersTruncated": False,
        "headers": headers,
        "commonHeaders": {"from": ["news@example.org"], "subject": "Hello"},
        "tags": tags,
    }


def ses_bounce(
    email: str,
    *,
    message_id: str | None = None,
    campaign: str | None = None,
    permanent: bool = True,
    feedback_id: str | None = None,
    event_publishing: bool = False,
) -> dict[str, Any]:
    kind_key = "eventType" if event_publishing else "notificationType"
    return {
        kind_key: "Bounce",
        "bounce": {
            "bounceType": "Permanent" if permanent else "Transient",
            "bounceSubType": "General" if permanent else "MailboxFull",
            "bouncedRecipients": [
                {
                    "emailAddress": email,
                    "action": "failed",
                    "status": "5.1.1" if permanent else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"
                    if permanent
                    else "smtp; 452 4.2.2 mailbox full",
                }
            ],
            "timestamp": "2026-12-01T10:00:00.000Z",
            "feedbackId": feedback_id or f"0102{uuid.uuid4().hex}-000000",
            "reportingMTA": "dsn; a8-1.smtp-out.amazonses.com",
        },
        "mail": ses_mail(message_id, campaign),
    }


def ses_complaint(email: str, *, message_id: str | None = None) -> dict[str, Any]:
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": email}],
            "timestamp": "2026-12-01T10:05:00.000Z",
            "feedbackId": f"0102{uuid.uuid4().hex}-000000",
            "complaintFeedbackType": "abuse",
        },
        "mail": ses_mail(message_id),
    }


def ses_delivery(email: str, *, message_id: str | None = None) -> dict[str, Any]:
    return {
        "notificationType": "Delivery",
        "delivery": {
            "timestamp": "2026-12-01T10:00:01.000Z",
            "processingTimeMillis": 546,
            "recipients": [email],
            "smtpResponse": "250 ok:  Message 64111812 accepted",
        },
        "mail": ses_mail(message_id),
    }


def sendgrid_event(event: str, email: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "email": email,
        "timestamp": int(time.time()) - 5,
        "event": event,
        "sg_event_id": uuid.uuid4().hex,
        "sg_message_id": f"{uuid.uuid4().hex}.filter0001",
        "category": ["newsletter"],
    }
    if event == "bounce":
        base.update(
            type="bounce", status="5.1.1", reason="550 5.1.1 The email account does not exist"
        )
    if event == "delivered":
        base.update(response="250 OK")
    base.update(fields)
    return base


def mailgun_event(
    event: str, email: str, *, message_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": uuid.uuid4().hex[:22],
        "event": event,
        "timestamp": time.time() - 5,
        "recipient": email,
        "message": {"headers": {"to": email, "subject": "Hello"}},
        "user-variables": {},
    }
    if message_id is not None:
        data["message"]["headers"]["message-id"] = message_id.strip("<>")
    if event == "failed":
        data.update(
            severity="permanent",
            reason="bounce",
            **{
                "delivery-status": {"code": 550, "message": "5.1.1 No such user", "description": ""}
            },
        )
    data.update(fields)
    return data


def postmark_bounce(
    email: str, campaign: str | None, *, type_: str = "HardBounce"
) -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "ID": int(time.time() * 1000) % 10**9 + uuid.uuid4().int % 1000,
        "Type": type_,
        "TypeCode": 1 if type_ == "HardBounce" else 4096,
        "Name": "Hard bounce",
        "MessageID": str(uuid.uuid4()),
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "BouncedAt": "2026-12-01T10:00:00.1234567Z",
        "Inactive": True,
        "Metadata": {} if campaign is None else {METADATA_CAMPAIGN: campaign},
        "MessageStream": "broadcast",
    }


def postmark_record(kind: str, email: str, campaign: str | None, **fields: Any) -> dict[str, Any]:
    metadata = {} if campaign is None else {METADATA_CAMPAIGN: campaign}
    records: dict[str, dict[str, Any]] = {
        "SpamComplaint": {
            "ID": uuid.uuid4().int % 10**9,
            "Type": "SpamComplaint",
            "Email": email,
            "BouncedAt": "2026-12-01T10:00:00Z",
        },
        "Delivery": {
            "Recipient": email,
            "DeliveredAt": "2026-12-01T10:00:00Z",
            "Details": "Test delivery webhook details",
        },
        "SubscriptionChange": {
            "Recipient": email,
            "ChangedAt": "2026-12-01T10:00:00Z",
            "Origin": "Recipient",
            "SuppressSending": True,
            "SuppressionReason": "ManualSuppression",
        },
    }
    return {
        "RecordType": kind,
        "MessageID": str(uuid.uuid4()),
        "Metadata": metadata,
        **records[kind],
        **fields,
    }


HEADER = HEADER_CAMPAIGN
