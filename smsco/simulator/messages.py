"""A message's life: the checks a send request passes, then its statuses over time."""

from __future__ import annotations

import functools
import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..client import DeliveryStatus
from ..errors import ValidationError
from ..phones import normalize
from ..text import cost, invalid_characters
from .faults import Knobs
from .protocol import Reply, error

#: The gateway's own time zone: ``schedule`` is read in it.
GATEWAY_TIMEZONE = ZoneInfo("Asia/Tbilisi")

#: Final statuses of the messages that are not delivered (``failure_rate``).
FAILURE_OUTCOMES = (DeliveryStatus.FAILED, DeliveryStatus.REJECTED, DeliveryStatus.EXPIRED)

_SENDER = re.compile(r"[A-Za-z0-9]{1,11}")
_SCHEDULE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


@dataclass
class Message:
    """A message the gateway accepted (one per send request, i.e. per ``mes_id``)."""

    mes_id: int
    recipients: tuple[str, ...]
    rejected: tuple[str, ...]
    text: str
    sender: str | None
    schedule: str | None
    credits: int
    accepted_at: float
    starts_at: float
    outcome: DeliveryStatus
    forced_status: DeliveryStatus | None = None

    def status_at(self, now: float, knobs: Knobs) -> DeliveryStatus:
        """The delivery status at ``now``: In process, then Sent, then the outcome."""
        if self.forced_status is not None:
            return self.forced_status
        elapsed = now - self.starts_at
        if elapsed < knobs.sent_after:
            return DeliveryStatus.IN_PROCESS
        if elapsed < knobs.final_after:
            return DeliveryStatus.SENT
        return self.outcome


def read_send(params: dict[str, str], now: float, *, require_sender: bool) -> Message | Reply:
    """The message a send request asks for, or the gateway's error, checked in its order.

    The message has no ``mes_id`` (0) and no drawn outcome yet: both come on acceptance.
    """
    recipient_field = params.get("recipient", "")
    text = params.get("message", "")
    sender = params.get("sender", "")
    schedule = params.get("schedule", "")
    code = _field_error(recipient_field, text, sender, require_sender=require_sender)
    if code is not None:
        return error(code)
    starts_at = now
    if schedule:
        scheduled = _parse_schedule(schedule)
        if scheduled is None:
            return error(2908)
        # Schedules have whole seconds: the current second is not yet the past.
        if scheduled < math.floor(now):
            return error(2909)
        starts_at = scheduled
    pieces = [piece.strip() for piece in recipient_field.split(",") if piece.strip()]
    valid = tuple(piece for piece in pieces if _is_gateway_number(piece))
    if not valid:
        return error(2904)
    rejected = tuple(piece for piece in pieces if not _is_gateway_number(piece))
    return Message(
        mes_id=0,
        recipients=valid,
        rejected=rejected,
        text=text,
        sender=sender or None,
        schedule=schedule or None,
        credits=cost(text, len(valid)),
        accepted_at=now,
        starts_at=starts_at,
        outcome=DeliveryStatus.DELIVERED,
    )


def draw_outcome(seed: int, mes_id: int, failure_rate: float) -> DeliveryStatus:
    """The final status, from the seed and mes_id alone (not from thread timing)."""
    digest = hashlib.blake2b(f"{seed}:{mes_id}".encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    if (value >> 11) / 2**53 >= failure_rate:
        return DeliveryStatus.DELIVERED
    return FAILURE_OUTCOMES[(value & 0x7FF) % len(FAILURE_OUTCOMES)]


def _field_error(recipients: str, text: str, sender: str, *, require_sender: bool) -> int | None:
    """The code for an empty or malformed field, in the gateway's order; None if all fit."""
    if not recipients.strip():
        return 2912
    if not text.strip():
        return 2913
    if invalid_characters(text):
        return 2904
    if sender and not _SENDER.fullmatch(sender):
        return 2904
    if not sender and require_sender:
        return 2914
    return None


@functools.lru_cache(maxsize=65536)
def _is_gateway_number(recipient: str) -> bool:
    """Digits only, country code included, and a real number (``smsco.phones``)."""
    if not (recipient.isascii() and recipient.isdigit()):
        return False
    try:
        return normalize(recipient) == recipient
    except ValidationError:
        return False


def _parse_schedule(text: str) -> float | None:
    """Epoch seconds of a ``YYYY-MM-DD HH:MM:SS`` gateway time, None if malformed."""
    if not _SCHEDULE.fullmatch(text):
        return None
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=GATEWAY_TIMEZONE).timestamp()
