"""The values the CHECK constraints allow: campaign and recipient statuses, event types,
suppression reasons, event sources (migrations 0002, 0005 and 0010 restate them as plain
strings)."""

from __future__ import annotations

import enum


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"


class RecipientStatus(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"


class EventType(enum.StrEnum):
    OPEN = "open"
    CLICK = "click"
    BOUNCE = "bounce"
    REPLY = "reply"
    FORWARD = "forward"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAIN = "complain"


class SuppressionReason(enum.StrEnum):
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    MANUAL = "manual"


class EventSource(enum.StrEnum):
    """Where an event came from (email_tracking.source; NULL: not recorded, older rows)."""

    PIXEL = "pixel"  # the open pixel of the tracking endpoint
    LINK = "link"  # a tracked click URL
    ONE_CLICK = "one-click"  # RFC 8058 List-Unsubscribe-Post
    UNSUBSCRIBE_PAGE = "unsubscribe-page"  # the endpoint's confirmation page
    SES = "ses"
    SENDGRID = "sendgrid"
    MAILGUN = "mailgun"
    POSTMARK = "postmark"
    IMPORT = "import"  # `campaigns track`
    SIMULATOR = "simulator"
    BOUNCE_PIPE = "bounce-pipe"
    SMTP = "smtp"  # the relay's reply in the SMTP dialogue (core.delivery; migration 0012)
