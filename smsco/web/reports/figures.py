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
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


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


# The tally counter behind each outcome (database.TALLY_COUNTERS).
OUTCOME_COUNTERS = {
    Outcome.DELIVERED: "is_delivered", Outcome.PENDING: "is_pending",
    Outcome.FAILED: "is_failed", Outcome.UNKNOWN: "is_unknown",
    Outcome.CANCELED: "is_canceled", Outcome.WAITING: "is_waiting",
}
# Final gateway statuses other than Delivered (DESIGN §2), as causes.
STATUS_CAUSES = {
    3: _l("Failed"), 4: _l("Deleted"), 5: _l("Expired"), 6: _l("Rejected"),
    7: _l("Canceled by the gateway"),
}
# Error codes a send can end on (2905 and 2906 send it back to the queue instead).
CODE_CAUSES = {
    2904: _l("SMS sending failed"), 2907: _l("gateway unavailable at every try"),
    2908: _l("invalid schedule date format"), 2909: _l("unable to schedule"),
}
CAUSE_COUNTERS = (
    *(f"failed_status_{code}" for code in STATUS_CAUSES),
    *(f"failed_code_{code}" for code in CODE_CAUSES),
    "failed_code_field", "failed_no_code", "failed_code_other",
)


def cause_label(cause: str) -> str:
    """A failure cause (its tally counter's name) in words."""
    kind, _sep, code = cause.removeprefix("failed_").partition("_")
    if kind == "status":
        return _("%(status)s (gateway status %(code)d)", status=STATUS_CAUSES[int(code)],
                 code=int(code))
    if code.isdigit():
        return _("Refused at send: %(reason)s (%(code)d)", reason=CODE_CAUSES[int(code)],
                 code=int(code))
    if code == "field":
        return _("Refused at send: a required field was empty (2910–2915)")
    if code == "other":
        return _("Refused at send: another gateway error")
    return _("Not sent: refused before sending, or the gateway could not be reached")


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

    def add(self, values: Mapping[str, int]) -> None:
        """Count one group's tally values (``queries.CountRow.values``)."""
        self.messages += values["messages"]
        self.sent += values["sent"]
        self.final += values["final"]
        self.delivered += values["delivered"]
        self.credits += values["credits"]
        for outcome, counter in OUTCOME_COUNTERS.items():
            self.outcomes[outcome] += values[counter]
        for cause in CAUSE_COUNTERS:
            if values[cause]:
                self.causes[cause] += values[cause]

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

    def ranked_causes(self) -> list[tuple[str, int]]:
        """Failure causes, the most frequent first."""
        return sorted(self.causes.items(), key=lambda item: (-item[1], item[0]))
