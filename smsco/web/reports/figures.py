"""What the reports count, defined once for every page (reports, overview, campaigns).

- *messages*: every message created in the period (as History counts them).
- *sent*: accepted by the gateway (an ``OK`` reply, so it has a ``mes_id``).
- *delivery rate*: delivered ÷ sent messages whose gateway status is final.
  A message refused at send (e.g. 2904) never reached a phone: it is a
  failure in the counts and causes, but not in the rate.
- *failed*: gateway statuses Failed, Deleted, Expired, Rejected and Canceled,
  and messages refused at send; each is also its own cause.
- *spend*: the credits (tetri) the gateway charged, shown in lari.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from smsco.errors import describe_code

from .queries import CountRow

DELIVERED_STATUS = 1


class Outcome:
    """Where a message ended up, as the stacked chart shows it."""

    DELIVERED = "delivered"
    PENDING = "pending"  # sent, no final status yet
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELED = "canceled"  # canceled or skipped: never sent on purpose
    WAITING = "waiting"  # queued, paused or sending
    ORDER = (DELIVERED, PENDING, FAILED, UNKNOWN, CANCELED, WAITING)
    LABELS: ClassVar[dict[str, str]] = {
        DELIVERED: _l("Delivered"), PENDING: _l("Sent, no final status"), FAILED: _l("Failed"),
        UNKNOWN: _l("Unknown"), CANCELED: _l("Canceled or skipped"), WAITING: _l("Not sent yet"),
    }
    # Fills with at least 3:1 contrast on white, told apart by hue.
    COLORS: ClassVar[dict[str, str]] = {
        DELIVERED: "#13795b", PENDING: "#175cd3", FAILED: "#b42318", UNKNOWN: "#dc6803",
        CANCELED: "#667085", WAITING: "#6938ef",
    }


_OUTCOME_OF_STATE = {
    "delivered": Outcome.DELIVERED, "sent": Outcome.PENDING, "failed": Outcome.FAILED,
    "unknown": Outcome.UNKNOWN, "canceled": Outcome.CANCELED, "skipped": Outcome.CANCELED,
    "waiting": Outcome.WAITING,
}

# Final gateway statuses other than Delivered (DESIGN §2), as causes.
STATUS_CAUSES = {
    3: _l("Failed"), 4: _l("Deleted"), 5: _l("Expired"), 6: _l("Rejected"),
    7: _l("Canceled by the gateway"),
}
# Error codes a send can end on (others send the message back to the queue).
CODE_CAUSES = {
    2904: _l("SMS sending failed"), 2907: _l("gateway unavailable at every try"),
    2908: _l("invalid schedule date format"), 2909: _l("unable to schedule"),
    2910: _l("username empty"), 2911: _l("password empty"), 2912: _l("recipient empty"),
    2913: _l("message empty"), 2914: _l("sender empty"),
    2915: _l("one or more required fields empty"),
}


def cause_of(row: CountRow) -> tuple[str, int]:
    """Why a failed message failed: its final gateway status, else its error code (0: none)."""
    if row.final_status:
        return ("status", row.final_status)
    return ("code", row.error_code)


def cause_label(cause: tuple[str, int]) -> str:
    """A failure cause in words."""
    kind, code = cause
    if kind == "status":
        status = STATUS_CAUSES.get(code)
        return _("%(status)s (gateway status %(code)d)",
                 status=status if status is not None else _("Status %(code)d", code=code),
                 code=code)
    if not code:
        return _("Not sent: refused before sending, or the gateway could not be reached")
    reason = CODE_CAUSES.get(code)
    return _("Refused at send: %(reason)s (%(code)d)",
             reason=reason if reason is not None else describe_code(code) or _("error"),
             code=code)


@dataclass
class Figures:
    """Everything the reports say about a set of messages."""

    messages: int = 0
    sent: int = 0  # accepted by the gateway
    final: int = 0  # sent, with a final gateway status: the rate's denominator
    delivered: int = 0
    credits: int = 0
    outcomes: Counter = field(default_factory=Counter)
    causes: Counter = field(default_factory=Counter)

    def add(self, row: CountRow) -> None:
        """Count one row of ``queries.count_rows``."""
        self.messages += row.messages
        self.credits += row.credits
        if row.accepted:
            self.sent += row.messages
        if row.final_status:
            self.final += row.messages
            if row.final_status == DELIVERED_STATUS:
                self.delivered += row.messages
        outcome = _OUTCOME_OF_STATE.get(row.state, Outcome.UNKNOWN)
        self.outcomes[outcome] += row.messages
        if outcome == Outcome.FAILED:
            self.causes[cause_of(row)] += row.messages

    def merge(self, other: Figures) -> None:
        """Add another set's figures to these."""
        for name in ("messages", "sent", "final", "delivered", "credits"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outcomes.update(other.outcomes)
        self.causes.update(other.causes)

    @property
    def rate(self) -> float | None:
        """Delivered ÷ sent with a final status; None when none has one yet."""
        return self.delivered / self.final if self.final else None

    @property
    def failed(self) -> int:
        return self.outcomes[Outcome.FAILED]

    @property
    def unknown(self) -> int:
        return self.outcomes[Outcome.UNKNOWN]

    @property
    def spend(self) -> Decimal:
        """What the gateway charged, in lari (100 tetri = 1 GEL)."""
        return Decimal(self.credits) / 100

    def ranked_causes(self) -> list[tuple[tuple[str, int], int]]:
        """Failure causes, the most frequent first."""
        return sorted(self.causes.items(), key=lambda item: (-item[1], item[0]))
