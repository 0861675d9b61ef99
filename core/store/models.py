"""SQLAlchemy 2.0 models of the seed schema (shared/seed/campaign-management-system.md), the
suppression list and the demo's bookkeeping. The value enums are core.store.enums; the event
rollup's tables (no ORM class: nothing reads them as objects) are core.store.rollup_tables."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    case,
    cast,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.store.enums import (
    CampaignStatus,
    EventSource,
    EventType,
    RecipientStatus,
    SuppressionReason,
)


def _in_list(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class StrEnumType(TypeDecorator[enum.StrEnum]):
    """The seed's VARCHAR(50) column, read back as a StrEnum member (which is still a str)."""

    impl: Any = String(50)
    cache_ok = True

    def __init__(self, enum_class: type[enum.StrEnum]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(self.enum_class(value))

    def process_result_value(self, value: Any | None, dialect: Dialect) -> enum.StrEnum | None:
        return None if value is None else self.enum_class(value)


class StrEnumText(StrEnumType):
    """The same, on a TEXT column (the columns added after the seed)."""

    impl = Text
    cache_ok = True


def percent(part: int | None, whole: int | None) -> float:
    """part as a percentage of whole; 0.0 when whole is 0 (nothing sent yet)."""
    return (part or 0) * 100.0 / whole if whole else 0.0


def _percent_sql(part: Mapped[int], whole: Mapped[int]) -> ColumnElement[float]:
    return case((whole > 0, cast(part, Float) * 100.0 / whole), else_=0.0)


# PostgreSQL's own default names, so autogenerate compares the migrations' unnamed constraints.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


# Migration 0011: the alarm settings' bounds.
ALARM_CHECKS = (
    ("alarm_error_percent", "alarm_error_percent BETWEEN 0 AND 100"),
    ("alarm_error_window", "alarm_error_window BETWEEN 1 AND 100000"),
    ("alarm_bounce_percent", "alarm_bounce_percent BETWEEN 0 AND 100"),
    ("alarm_complaint_percent", "alarm_complaint_percent BETWEEN 0 AND 100"),
    ("alarm_min_sends", "alarm_min_sends BETWEEN 1 AND 100000000"),
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}
    # Every model here is one Table (not a join or a select), so core statements take it.
    __table__: ClassVar[Table]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    campaigns: Mapped[list[Campaign]] = relationship(back_populates="creator")


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    company: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    campaign_recipients: Mapped[list[CampaignRecipient]] = relationship(
        back_populates="lead", passive_deletes=True
    )


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        # The seed declares campaign_id both UNIQUE and with a unique index; we keep both.
        UniqueConstraint("campaign_id"),
        CheckConstraint(_in_list("status", CampaignStatus), name="ck_campaigns_status"),
        *(CheckConstraint(check, name=f"ck_campaigns_{name}") for name, check in ALARM_CHECKS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    template_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[CampaignStatus] = mapped_column(
        StrEnumType(CampaignStatus), server_default=text("'draft'"), index=True
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(index=True)
    started_at: Mapped[datetime | None] = mapped_column(index=True)
    completed_at: Mapped[datetime | None]
    total_recipients: Mapped[int] = mapped_column(server_default=text("0"))
    emails_sent: Mapped[int] = mapped_column(server_default=text("0"))
    emails_opened: Mapped[int] = mapped_column(server_default=text("0"))
    emails_clicked: Mapped[int] = mapped_column(server_default=text("0"))
    emails_replied: Mapped[int] = mapped_column(server_default=text("0"))
    emails_bounced: Mapped[int] = mapped_column(server_default=text("0"))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # Migration 0011 (core.delivery): why an alarm paused it, and the alarms' thresholds.
    pause_reason: Mapped[str | None] = mapped_column(Text)
    alarm_since: Mapped[datetime | None]  # the error alarm counts attempts from then on
    alarm_error_percent: Mapped[float] = mapped_column(Float, server_default=text("50"))
    alarm_error_window: Mapped[int] = mapped_column(server_default=text("100"))
    alarm_bounce_percent: Mapped[float] = mapped_column(Float, server_default=text("5"))
    alarm_complaint_percent: Mapped[float] = mapped_column(Float, server_default=text("0.1"))
    alarm_min_sends: Mapped[int] = mapped_column(server_default=text("100"))

    creator: Mapped[User | None] = relationship(back_populates="campaigns")
    recipients: Mapped[list[CampaignRecipient]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )

    @hybrid_property
    def open_rate(self) -> float:
        return percent(self.emails_opened, self.emails_sent)

    @open_rate.inplace.expression
    @classmethod
    def _open_rate(cls) -> ColumnElement[float]:
        return _percent_sql(cls.emails_opened, cls.emails_sent)

    @hybrid_property
    def click_rate(self) -> float:
        return percent(self.emails_clicked, self.emails_sent)

    @click_rate.inplace.expression
    @classmethod
    def _click_rate(cls) -> ColumnElement[float]:
        return _percent_sql(cls.emails_clicked, cls.emails_sent)

    @hybrid_property
    def reply_rate(self) -> float:
        return percent(self.emails_replied, self.emails_sent)

    @reply_rate.inplace.expression
    @classmethod
    def _reply_rate(cls) -> ColumnElement[float]:
        return _percent_sql(cls.emails_replied, cls.emails_sent)

    @hybrid_property
    def bounce_rate(self) -> float:
        return percent(self.emails_bounced, self.emails_sent)

    @bounce_rate.inplace.expression
    @classmethod
    def _bounce_rate(cls) -> ColumnElement[float]:
        return _percent_sql(cls.emails_bounced, cls.emails_sent)

    def __repr__(self) -> str:
        return f"<Campaign {self.campaign_id!r} {self.status}>"


class CampaignRecipient(Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "lead_id", name="uq_campaign_recipients_campaign_lead"),
        Index("ix_campaign_recipients_campaign_status", "campaign_id", "status"),
        CheckConstraint(_in_list("status", RecipientStatus), name="ck_campaign_recipients_status"),
        # Beyond the seed (migration 0004): substring search of email addresses, and keyset
        # pages of one campaign by (status, sort key, id); see core/recipients/paging.py.
        Index(
            "ix_campaign_recipients_email_trgm",
            "email_address",
            postgresql_using="gin",
            postgresql_ops={"email_address": "gin_trgm_ops"},
        ),
        Index("ix_campaign_recipients_campaign_status_id", "campaign_id", "status", "id"),
        *(
            Index(
                f"ix_campaign_recipients_campaign_status_{key}", "campaign_id", "status", key, "id"
            )
            for key in ("sent_at", "opened_at", "clicked_at", "replied_at", "bounced_at")
        ),
        # Migration 0011: leases in force, for the sender that takes expired ones again.
        Index(
            "ix_campaign_recipients_leases",
            "campaign_id",
            "lease_expires_at",
            postgresql_where=text("status = 'queued' AND lease_expires_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    email_address: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[RecipientStatus] = mapped_column(
        StrEnumType(RecipientStatus), server_default=text("'pending'"), index=True
    )
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    opened_at: Mapped[datetime | None] = mapped_column(index=True)
    clicked_at: Mapped[datetime | None] = mapped_column(index=True)
    replied_at: Mapped[datetime | None] = mapped_column(index=True)
    bounced_at: Mapped[datetime | None] = mapped_column(index=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # Migration 0011 (core.delivery): the sender's lease while the message is in flight, the
    # attempts made, and when a recipient that failed for now may be tried again.
    lease_owner: Mapped[str | None] = mapped_column(Text)
    lease_expires_at: Mapped[datetime | None]
    send_attempts: Mapped[int] = mapped_column(server_default=text("0"))
    next_attempt_at: Mapped[datetime | None]

    campaign: Mapped[Campaign] = relationship(back_populates="recipients")
    lead: Mapped[Lead] = relationship(back_populates="campaign_recipients")
    events: Mapped[list[EmailTracking]] = relationship(
        back_populates="recipient",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EmailTracking.created_at",
    )

    def __repr__(self) -> str:
        return f"<CampaignRecipient {self.id} {self.email_address!r} {self.status}>"


class EmailTracking(Base):
    __tablename__ = "email_tracking"
    __table_args__ = (
        Index("ix_email_tracking_recipient_event", "campaign_recipient_id", "event_type"),
        CheckConstraint(_in_list("event_type", EventType), name="ck_email_tracking_event_type"),
        # Beyond the seed (migration 0006): the events core.events.machine judged machine.
        Index(
            "ix_email_tracking_machine",
            "campaign_recipient_id",
            "event_type",
            postgresql_where=text("""event_data @> '{"machine": true}'::jsonb"""),
        ),
        # Migration 0010: where the event came from, and the key that stores it once.
        CheckConstraint(_in_list("source", EventSource), name="ck_email_tracking_source"),
        Index(
            "uq_email_tracking_dedup_key",
            "dedup_key",
            unique=True,
            postgresql_where=text("dedup_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_recipient_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_recipients.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[EventType] = mapped_column(StrEnumType(EventType), index=True)
    event_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    user_agent: Mapped[str | None] = mapped_column(Text)
    ip_address: Mapped[str | None] = mapped_column(INET, index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    source: Mapped[EventSource | None] = mapped_column(StrEnumText(EventSource))
    dedup_key: Mapped[str | None] = mapped_column(Text)

    recipient: Mapped[CampaignRecipient] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<EmailTracking {self.id} {self.event_type} r={self.campaign_recipient_id}>"


class Suppression(Base):
    """An address not to mail again (migrations 0005, 0009). Rows come from the database's
    trigger on email_tracking (hard bounce, complaint, unsubscribe), without a key, or from
    core.recipients.suppression, which computes email_key (core.recipients.suppression.address_key)
    and keys the trigger's rows before comparing."""

    __tablename__ = "suppressions"
    __table_args__ = (
        CheckConstraint(_in_list("reason", SuppressionReason), name="ck_suppressions_reason"),
        Index("ix_suppressions_unkeyed", "id", postgresql_where=text("email_key IS NULL")),
        Index(
            "ix_suppressions_email_trgm",
            "email_address",
            postgresql_using="gin",
            postgresql_ops={"email_address": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_address: Mapped[str] = mapped_column(String(255), index=True)  # as given
    email_key: Mapped[str | None] = mapped_column(Text, unique=True)  # address_key(); None: not yet
    reason: Mapped[SuppressionReason] = mapped_column(StrEnumType(SuppressionReason))
    source_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_tracking.id", ondelete="SET NULL"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    def __repr__(self) -> str:
        return f"<Suppression {self.email_address!r} {self.reason}>"


class DemoCampaign(Base):
    """A campaign the demo seeder created (migration 0008): what `demo --reset` deletes and
    `simulate --demo-only` drives. A user can name a campaign `demo_...`; only the seeder
    writes here."""

    __tablename__ = "demo_campaigns"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
