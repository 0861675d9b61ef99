"""The values the CHECK constraints allow: campaign and recipient statuses, event types,
suppression reasons (migrations 0002 and 0005 restate them as plain strings)."""

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
