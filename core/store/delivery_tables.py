"""Models of the sender's tables (migration 0012): every delivery attempt, and one heartbeat
row per running sender. Written by core.delivery with plain statements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from core.store.models import Base

ATTEMPT_OUTCOMES = ("sent", "retry", "failed", "bounced")


class SendAttempt(Base):
    """One try at delivering a recipient's message: the relay's reply code (None: no reply,
    the connection was lost), its enhanced status and text, and what followed."""

    __tablename__ = "send_attempts"
    __table_args__ = (
        CheckConstraint(
            f"outcome IN ({', '.join(repr(o) for o in ATTEMPT_OUTCOMES)})",
            name="ck_send_attempts_outcome",
        ),
        Index("ix_send_attempts_recipient", "campaign_recipient_id", "id"),
        Index("ix_send_attempts_campaign", "campaign_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_recipient_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_recipients.id", ondelete="CASCADE")
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    attempt: Mapped[int]
    attempted_at: Mapped[datetime]
    code: Mapped[int | None]
    enhanced_status: Mapped[str | None] = mapped_column(Text)
    reply: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    sender_id: Mapped[str | None] = mapped_column(Text)


class DeliverySender(Base):
    """A running `campaigns send`: where it runs, what it works on, its last send, and its
    heartbeat (last_seen, every second or so)."""

    __tablename__ = "delivery_senders"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int]
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_sent_at: Mapped[datetime | None]
    last_seen: Mapped[datetime] = mapped_column(server_default=func.now())
