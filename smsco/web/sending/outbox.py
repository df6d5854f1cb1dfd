"""The outbox: creating, cancelling and resending messages, and their timeline.

Nothing here talks to the gateway; the dispatcher (``dispatch.py``) does.
Every change of state is written with an event, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    AuditEntry,
    Message,
    MessageEvent,
    Priority,
    ScheduleMode,
    State,
    User,
    audit,
    utcnow,
)


class OutboxError(Exception):
    """An action the message's state does not allow, in words for the operator.

    Raised only while serving a request, so the words are in the operator's language;
    what this module stores (timeline details) stays English and is translated where it
    is shown (``ui.labels.stored_text``).
    """


@dataclass(frozen=True)
class NewMessages:
    """What an operator asked to send."""

    recipients: list[str]
    body: str
    sender: str | None
    mode: str = ScheduleMode.NOW
    send_at: datetime | None = None  # naive UTC; required for held and gateway modes
    # Marketing messages sent through the API wait out quiet hours, as campaigns do
    # (the dispatcher holds campaign-priority rows that honour them).
    quiet_hours: bool = False
    # Numbers never to send to, with the reason (e.g. opted out): a ``skipped`` row each.
    skipped: Mapping[str, str] = field(default_factory=dict)
    api_key_id: int | None = None  # sent through this API key
    via: str | None = None  # how it came, for the audit log ("API key #3 'Booking'")


def N_(text: str) -> str:  # the name gettext's extractor looks for
    """Marks a timeline text for the translation catalogs. It is stored as written
    (a job has no reader whose language it could use) and translated where shown."""
    return text


def record_event(message: Message, state: str | None = None, gateway_status: int | None = None,
                 detail: str | None = None) -> MessageEvent:
    """Add one entry to a message's timeline (caller commits)."""
    event = MessageEvent(message=message, state=state, gateway_status=gateway_status,
                         detail=detail, at=utcnow())
    db.session.add(event)
    return event


# Built once (sending through the API is a hot path).
_INSERT_MESSAGES = insert(Message.__table__).returning(Message.__table__.c.id,
                                                       sort_by_parameter_order=True)
_INSERT_EVENTS = insert(MessageEvent.__table__)
_INSERT_AUDIT = insert(AuditEntry.__table__)


@dataclass(frozen=True)
class Queued:
    """A message row just created: its id, number and state."""

    id: int
    recipient: str
    state: str


def create_messages(request: NewMessages, user: User | None, *,
                    commit: bool = True) -> list[Queued]:
    """One queued row per recipient, all in one transaction (``commit=False``: the
    caller's, which commits it together with rows of its own).

    Core inserts, not ORM objects: the write transaction (on SQLite, the
    database's one write lock) stays a few statements long.
    """
    now = utcnow()
    send_at = request.send_at if request.mode == ScheduleMode.HELD else now
    gateway_schedule = request.send_at if request.mode == ScheduleMode.GATEWAY else None
    detail = _queued_detail(request)
    rows = [{"recipient": number, "body": request.body, "sender": request.sender,
             "state": State.SKIPPED if number in request.skipped else State.QUEUED,
             "error_text": request.skipped.get(number), "schedule_mode": request.mode,
             "send_at": send_at or now, "gateway_schedule": gateway_schedule,
             "created_at": now, "updated_at": now, "created_by_id": user.id if user else None,
             "api_key_id": request.api_key_id, "quiet_hours": request.quiet_hours,
             "priority": Priority.CAMPAIGN if request.quiet_hours else Priority.SINGLE}
            for number in request.recipients]
    ids = db.session.scalars(_INSERT_MESSAGES, rows).all()
    queued = [Queued(i, row["recipient"], row["state"]) for i, row in zip(ids, rows, strict=True)]
    db.session.execute(_INSERT_EVENTS, [
        {"message_id": m.id, "at": now, "state": m.state,
         "detail": request.skipped.get(m.recipient) if m.state == State.SKIPPED else detail}
        for m in queued])
    via = f"; via {request.via}" if request.via else ""
    db.session.execute(_INSERT_AUDIT, [{
        "at": now, "user_id": user.id if user else None, "action": "send",
        "message_id": queued[0].id if len(queued) == 1 else None,
        "detail": f"{len(queued)} message{'' if len(queued) == 1 else 's'} to "
                  f"{_summary(request.recipients)}; {detail}{via}"[:500]}])
    if commit:
        db.session.commit()
    return queued


def _queued_detail(request: NewMessages) -> str:
    if request.mode == ScheduleMode.HELD:
        return "Held here until its time"
    if request.mode == ScheduleMode.GATEWAY:
        return "To be scheduled at the gateway"
    return "Queued to send now"


def _summary(numbers: Iterable[str], limit: int = 5) -> str:
    numbers = list(numbers)
    shown = ", ".join(numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def _change_while_queued(message: Message, refusal: str, **values: object) -> None:
    """Update a message only if it is still queued here (the dispatcher may take it any
    moment); ``OutboxError(refusal)`` otherwise."""
    changed = db.session.execute(
        update(Message)
        .where(Message.id == message.id, Message.state == State.QUEUED)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        db.session.rollback()
        db.session.refresh(message)
        raise OutboxError(refusal)
    db.session.refresh(message)


def cancel_message(message: Message, user: User | None) -> None:
    """Cancel a message that is still waiting here; refused once it may have left."""
    _change_while_queued(message, _("This message can no longer be cancelled: it is no longer "
                                    "waiting here."), state=State.CANCELED)
    record_event(message, State.CANCELED, detail=f"Cancelled by {_name(user)}")
    audit(user, "cancel", message)
    db.session.commit()


def resend_message(message: Message, user: User | None) -> Message:
    """A new queued message linked to a failed or unknown one; never a silent duplicate."""
    if message.state not in (State.FAILED, State.UNKNOWN):
        raise OutboxError(_("Only failed messages and messages in an unknown state can be "
                            "resent."))
    earlier = db.session.scalar(
        db.select(Message).where(Message.resend_of_id == message.id).limit(1))
    if earlier is not None:
        raise OutboxError(_("This message was already resent as message #%(id)s.",
                            id=earlier.id))
    copy = Message(recipient=message.recipient, body=message.body, sender=message.sender,
                   state=State.QUEUED, schedule_mode=ScheduleMode.NOW, send_at=utcnow(),
                   created_by_id=user.id if user else None, resend_of_id=message.id)
    db.session.add(copy)
    try:
        db.session.flush()
    except IntegrityError:  # another operator resent it a moment ago
        db.session.rollback()
        raise OutboxError(_("This message was already resent.")) from None
    record_event(copy, State.QUEUED, detail=f"Resend of message #{message.id} by {_name(user)}")
    record_event(message, None, detail=f"Resent as message #{copy.id} by {_name(user)}")
    audit(user, "resend", copy, f"resend of message #{message.id}")
    db.session.commit()
    return copy


def _name(user: User | None) -> str:
    return user.username if user else "the system"


def edit_held_message(message: Message, change: NewMessages, user: User | None) -> None:
    """Change a message still held here (text, number, sender, time); refused once it left."""
    if message.schedule_mode != ScheduleMode.HELD:
        raise OutboxError(_("Only messages held here for a later time can be edited."))
    mode = ScheduleMode.HELD if change.send_at else ScheduleMode.NOW
    refusal = _("This message can no longer be edited: it is no longer waiting here.")
    _change_while_queued(message, refusal, recipient=change.recipients[0], body=change.body,
                         sender=change.sender, send_at=change.send_at or utcnow(),
                         schedule_mode=mode)
    when = "to send now" if mode == ScheduleMode.NOW else "for its new time"
    record_event(message, State.QUEUED, detail=f"Edited by {_name(user)}, held {when}")
    audit(user, "edit", message)
    db.session.commit()
