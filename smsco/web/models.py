"""Database models: users, messages (the outbox), their events, balance, audit, API keys.

Times are stored as naive UTC (``utcnow()``) so SQLite and PostgreSQL compare
them the same way; they are shown in ``SMSCO_TIMEZONE``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, Numeric, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .database import TALLY_COUNTERS, drop_tally_trigger_ddl, tally_trigger_ddl
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
    # Shown, never stored: a queued message whose time is still in the future.
    SCHEDULED = "scheduled"
    ALL = (QUEUED, PAUSED, SENDING, SENT, DELIVERED, FAILED, UNKNOWN, CANCELED, SKIPPED)
    FINAL = (DELIVERED, FAILED, UNKNOWN, CANCELED, SKIPPED)
    # What the history filter offers: the stored states with "scheduled" beside "queued".
    FILTERS = (SCHEDULED, *ALL)
    # In the reader's language: smsco.web.ui.labels.state_label for one at a time.
    LABELS: ClassVar[dict[str, str]] = {
        QUEUED: _l("Queued"), SCHEDULED: _l("Scheduled"), PAUSED: _l("Paused"),
        SENDING: _l("Sending"), SENT: _l("Sent"), DELIVERED: _l("Delivered"),
        FAILED: _l("Failed"), UNKNOWN: _l("Unknown"), CANCELED: _l("Canceled"),
        SKIPPED: _l("Skipped"),
    }

    @staticmethod
    def shown(state: str, send_at: datetime | None, now: datetime | None = None) -> str:
        """The state as operators see it: ``scheduled`` for a queued message not yet due."""
        if state == State.QUEUED and send_at is not None and send_at > (now or utcnow()):
            return State.SCHEDULED
        return state


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
    # Stored in each session at login; bumped by logout, password reset and disable,
    # which ends every session made before (even a copied cookie).
    session_version: Mapped[int] = mapped_column(default=0)

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
    # The API key it was sent with (its webhook hears of every change), if any.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    priority: Mapped[int] = mapped_column(default=Priority.SINGLE)
    # Campaign messages that must not go out in quiet hours.
    quiet_hours: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    # Set just before a request for it leaves; a claim clears it. After a crash a
    # ``sending`` row without it goes back to the queue, one with it becomes unknown
    # unless ``journal`` holds its outcome (JSON, kept there until the state is written).
    request_started_at: Mapped[datetime | None]
    journal: Mapped[str | None] = mapped_column(Text)
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

    @property
    def shown_state(self) -> str:
        """``scheduled`` while a queued message's time is in the future, else its state."""
        return State.shown(self.state, self.send_at)

    @property
    def state_label(self) -> str:
        return State.LABELS.get(self.shown_state, self.state)

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.recipient} {self.state}>"


# How many messages of each outcome and cause were created on one local day (span
# "day") or in one month ("month", ``start`` its first day), per sender ID, operator
# and campaign, and their credits. Kept by folding ``MessageTallyDelta`` rows in
# (``sending/tallies.py``); 0 and "" stand for "none" so the key can be a primary
# key on any database. A Core table: its counters are generated from TALLY_COUNTERS.
message_tally = db.Table(
    "message_tally", db.metadata,
    db.Column("span", String(5), primary_key=True),
    db.Column("start", db.Date, primary_key=True),  # in SMSCO_TIMEZONE
    db.Column("sender", String(11), primary_key=True),
    db.Column("operator_id", db.Integer, primary_key=True, autoincrement=False),
    db.Column("campaign_id", db.Integer, primary_key=True, autoincrement=False),
    *(db.Column(name, db.Integer, nullable=False, default=0)
      for name in (*TALLY_COUNTERS, "credits")),
    Index("ix_message_tally_campaign", "campaign_id", "span", "start"),
    # Without rowid, SQLite stores the rows in key order: a range of days is one read.
    sqlite_with_rowid=False,
)


class MessageTallyDelta(db.Model):
    """A signed change to the tallies, written by database triggers with the change itself.

    ``created_at`` stays UTC here: the local day is worked out when the
    delta is folded into ``MessageTally``.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    sender: Mapped[str] = mapped_column(String(11))
    operator_id: Mapped[int]
    campaign_id: Mapped[int]
    state: Mapped[str] = mapped_column(String(10))
    final_status: Mapped[int]
    error_code: Mapped[int]
    accepted: Mapped[int]
    messages: Mapped[int]
    credits: Mapped[int]


@event.listens_for(db.metadata, "after_create")
def _create_tally_triggers(_metadata, connection, **_kw) -> None:
    """``create_all`` (tests, benchmarks) installs the triggers the migration installs."""
    dialect = connection.dialect.name
    for statement in drop_tally_trigger_ddl(dialect) + tally_trigger_ddl(dialect):
        connection.exec_driver_sql(statement)


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
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))

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


class ApiKey(db.Model):
    """A key another system sends with (``Authorization: Bearer``); only its hash is kept.

    What it sends is its owner's (history, audit log). Its webhook, if set,
    hears of every change of state of those messages, signed with
    ``webhook_secret`` (kept as is: signing needs it).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))  # shown, so people can tell keys apart
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the key
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(64))

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")

    def usable(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ApiIdempotency(db.Model):
    """The first answer to a request sent with an ``Idempotency-Key``, replayed to retries."""

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body
    status_code: Mapped[int | None]
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (Index("ix_api_idempotency_key", "api_key_id", "key", unique=True),)


class WebhookDelivery(db.Model):
    """One event to POST to a key's webhook, retried with backoff until it is taken."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the retry window

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)  # the receiver de-duplicates
    event_type: Mapped[str] = mapped_column(String(32))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"),
                                            index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    # The timeline entry it reports (one delivery per entry); orders one message's deliveries.
    source_event_id: Mapped[int | None] = mapped_column(unique=True)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(300))

    api_key: Mapped[ApiKey] = relationship(lazy="joined")
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.id", cascade="all, delete-orphan",
        lazy="select")

    __table_args__ = (
        Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
        Index("ix_webhook_delivery_message", "message_id", "state"),
        Index("ix_webhook_delivery_campaign", "campaign_id"),
    )


class WebhookAttempt(db.Model):
    """One POST of a delivery: when, the answer's status or the error, how long it took."""

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int] = mapped_column(default=0)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")


def audit(user: User | None, action: str, message: Message | None = None,
          detail: str | None = None) -> None:
    """Add an audit-log entry (caller commits)."""
    db.session.add(AuditEntry(user_id=user.id if user else None, action=action,
                              message_id=message.id if message else None, detail=detail))
