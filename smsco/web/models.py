"""Database models: users, messages (the outbox), their events, balance, audit.

Times are stored as naive UTC (``utcnow()``) so SQLite and PostgreSQL compare
them the same way; they are shown in ``SMSCO_TIMEZONE``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


def utcnow() -> datetime:
    """The current time as naive UTC, the form every column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


class Role:
    """User roles."""

    ADMIN = "admin"
    OPERATOR = "operator"
    ALL = (ADMIN, OPERATOR)


class State:
    """Message states (DESIGN §3). ``sent`` means accepted by the gateway."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELED = "canceled"
    PAUSED = "paused"  # queued in a paused campaign
    SKIPPED = "skipped"  # never sent on purpose (e.g. the number opted out); reason kept
    ALL = (QUEUED, PAUSED, SENDING, SENT, DELIVERED, FAILED, UNKNOWN, CANCELED, SKIPPED)
    FINAL = (DELIVERED, FAILED, UNKNOWN, CANCELED, SKIPPED)
    # Their words, in the reader's language: smsco.web.ui.labels.state_label.


class Priority:
    """Dispatch order: single messages before campaign messages due at the same time."""

    SINGLE = 0
    CAMPAIGN = 1


class ScheduleMode:
    """How a message is scheduled: now, held here, or at the gateway."""

    NOW = "now"
    HELD = "held"
    GATEWAY = "gateway"


class User(UserMixin, db.Model):
    """An administrator or operator of the dashboard."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default=Role.OPERATOR)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # The interface language the user chose ("ka", "en", "ru"); None: cookie or browser decide.
    language: Mapped[str | None] = mapped_column(String(5))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class Message(db.Model):
    """One SMS to one recipient: a row of the outbox and of the history."""

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(11))
    state: Mapped[str] = mapped_column(String(10), default=State.QUEUED)
    schedule_mode: Mapped[str] = mapped_column(String(8), default=ScheduleMode.NOW)
    # When the dispatcher may send it (now, the held time, or a retry's backoff).
    send_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The time passed to the gateway's ``schedule`` parameter (gateway mode).
    gateway_schedule: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resend_of_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    priority: Mapped[int] = mapped_column(default=Priority.SINGLE)
    # Campaign messages that must not go out in quiet hours.
    quiet_hours: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    mes_id: Mapped[str | None] = mapped_column(String(32))
    credits: Mapped[int | None]
    gateway_status: Mapped[int | None]
    next_check_at: Mapped[datetime | None]
    checks: Mapped[int] = mapped_column(default=0)
    error_code: Mapped[int | None]
    error_text: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="joined")
    campaign: Mapped[Campaign | None] = relationship(back_populates="messages")
    resend_of: Mapped[Message | None] = relationship(remote_side=[id], foreign_keys=[resend_of_id])
    events: Mapped[list[MessageEvent]] = relationship(
        back_populates="message", order_by="MessageEvent.id", cascade="all, delete-orphan",
        lazy="select")

    __table_args__ = (
        Index("ix_message_due", "state", "priority", "send_at"),
        Index("ix_message_campaign_state", "campaign_id", "state"),
        Index("ix_message_check", "state", "next_check_at"),
        Index("ix_message_state_id", "state", "id"),
        Index("ix_message_recipient_id", "recipient", "id"),
        Index("ix_message_sender_id", "sender", "id"),
        Index("ix_message_created_by_id", "created_by_id", "id"),
        Index("ix_message_created_at", "created_at"),
        Index("ix_message_resend_of", "resend_of_id", unique=True),  # one resend per message
        Index("ix_message_claimed_by", "claimed_by"),
    )

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.recipient} {self.state}>"


class MessageEvent(db.Model):
    """One change in a message's life: its timeline."""

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"),
                                            index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str | None] = mapped_column(String(10))
    gateway_status: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(String(300))

    message: Mapped[Message] = relationship(back_populates="events")


class BalanceSnapshot(db.Model):
    """The gateway balance as read by the balance job."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class GatewayAlert(db.Model):
    """A condition that pauses dispatch and shows a banner (credit exhausted, bad account)."""

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[str | None] = mapped_column(String(300))


class Dispatcher(db.Model):
    """A process that sends messages; its heartbeat tells whether its claims are alive."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(db.Model):
    """Who sent, cancelled or resent what, and when; who changed which account."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    detail: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User | None] = relationship(lazy="joined")


class Campaign(db.Model):
    """A bulk send: one message text (with placeholders) to many recipients."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)  # as written, placeholders included
    sender: Mapped[str | None] = mapped_column(String(11))
    marketing: Mapped[bool] = mapped_column(default=True)
    quiet_hours: Mapped[bool] = mapped_column(default=True)
    schedule_mode: Mapped[str] = mapped_column(String(8), default=ScheduleMode.NOW)
    send_at: Mapped[datetime | None]
    paused: Mapped[bool] = mapped_column(default=False)
    canceled: Mapped[bool] = mapped_column(default=False)
    # The form's one-time token: submitting twice creates one campaign.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    recipient_count: Mapped[int] = mapped_column(default=0)
    invalid_count: Mapped[int] = mapped_column(default=0)
    duplicate_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship(lazy="joined")
    messages: Mapped[list[Message]] = relationship(back_populates="campaign", lazy="dynamic")


contact_group_member = db.Table(
    "contact_group_member",
    db.Column("contact_id", db.ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True),
    db.Column("group_id", db.ForeignKey("contact_group.id", ondelete="CASCADE"),
              primary_key=True),
)


class Contact(db.Model):
    """A person to send to: a number plus named fields (``{"name": "Nino"}``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    fields: Mapped[dict] = mapped_column(db.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    groups: Mapped[list[ContactGroup]] = relationship(
        secondary=contact_group_member, back_populates="contacts")


class ContactGroup(db.Model):
    """A named list of contacts to send a campaign to."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contacts: Mapped[list[Contact]] = relationship(
        secondary=contact_group_member, back_populates="groups", lazy="dynamic")


class OptOut(db.Model):
    """A number that never receives marketing messages."""

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class MessageTemplate(db.Model):
    """A saved message text; shared (no owner, managed by admins) or an operator's own."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                                 index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Setting(db.Model):
    """An installation-wide setting an administrator changes in the app (e.g. opt-out footer)."""

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def audit(user: User | None, action: str, message: Message | None = None,
          detail: str | None = None) -> None:
    """Add an audit-log entry (caller commits)."""
    db.session.add(AuditEntry(user_id=user.id if user else None, action=action,
                              message_id=message.id if message else None, detail=detail))
