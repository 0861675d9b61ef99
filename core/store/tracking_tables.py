"""Models of the tracking endpoint's tables (migration 0010): signing keys, each campaign's
links, providers' delivery reports, and settings. Their ORM classes are written by core with
plain statements; the class names say what a row is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.store.models import Base

MIN_SECRET_BYTES = 16


class TrackingSecret(Base):
    """A key tracking tokens are signed with: the newest one without expires_at signs, an
    older one verifies until its expires_at. `id` is the key id (kid) a token carries."""

    __tablename__ = "tracking_keys"
    __table_args__ = (
        CheckConstraint(
            f"octet_length(secret) >= {MIN_SECRET_BYTES}", name="ck_tracking_keys_secret"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime | None]

    def __repr__(self) -> str:  # never the secret
        return f"<TrackingSecret kid={self.id} expires_at={self.expires_at}>"


class CampaignLink(Base):
    """A link a campaign's messages carry: click URLs name it by position, and the redirect
    goes to this url, never to anything the request says."""

    __tablename__ = "campaign_links"
    __table_args__ = (
        CheckConstraint("position BETWEEN 1 AND 65535", name="ck_campaign_links_position"),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)


class Delivery(Base):
    """A provider's report that a message was delivered (no seed event type fits it)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("provider", "provider_event_id", name="uq_deliveries_provider_event"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_recipient_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_recipients.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(Text)
    provider_event_id: Mapped[str] = mapped_column(Text)
    delivered_at: Mapped[datetime]
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Setting(Base):
    """A named setting kept in the database (e.g. public_url, set by `campaigns serve`)."""

    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Template(Base):
    """What a campaign sends (migration 0011): a subject, an HTML body and an optional text
    body, Jinja2 templates rendered per recipient by core.messages."""

    __tablename__ = "templates"
    __table_args__ = (
        UniqueConstraint("name", name="uq_templates_name"),
        CheckConstraint("length(btrim(name)) > 0", name="ck_templates_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
