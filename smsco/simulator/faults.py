"""Knobs (behaviour that may change at run time) and the faults drawn from them.

Faults make a gateway call go wrong the ways a real one does: slow, dropped, hung,
HTTP 500, an HTML page instead of an answer, or 2907 "gateway unavailable".
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from .protocol import Reply, error

#: Faults in the order they are drawn; each has a ``<name>_rate`` knob.
FAULTS = ("drop", "hang", "http_500", "garbage", "unavailable")

HTTP_500 = Reply(
    500,
    "<html><head><title>500 Internal Server Error</title></head>"
    "<body><h1>Internal Server Error</h1></body></html>",
    "text/html; charset=utf-8",
)
GARBAGE = Reply(
    200,
    "<html><body>Service temporarily unavailable, please try again later.</body></html>",
    "text/html; charset=utf-8",
)

_TRUE_WORDS = {"1", "true", "yes", "on"}


def _knob(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Knobs:
    """Behaviour that may change while the simulator runs (``Simulator.configure``)."""

    sent_after: float = _knob(1.0, "seconds from acceptance (or schedule) to status 0 Sent")
    final_after: float = _knob(3.0, "seconds from acceptance (or schedule) to a final status")
    failure_rate: float = _knob(0.1, "share of messages ending Failed/Rejected/Expired")
    require_sender: bool = _knob(False, "refuse a send without a sender (2914)")
    latency: float = _knob(0.0, "seconds added before every gateway reply")
    unavailable_rate: float = _knob(0.0, "share of gateway replies that are 2907")
    http_500_rate: float = _knob(0.0, "share of gateway replies that are HTTP 500")
    drop_rate: float = _knob(0.0, "share of requests closed without any reply")
    hang_rate: float = _knob(0.0, "share of requests answered only after hang_seconds")
    hang_seconds: float = _knob(60.0, "how long a hung request waits before it is answered")
    garbage_rate: float = _knob(0.0, "share of replies that are an unparseable HTML page")

    def __post_init__(self) -> None:
        for knob in fields(self):
            value = getattr(self, knob.name)
            if isinstance(knob.default, bool):
                if not isinstance(value, bool):
                    raise TypeError(f"{knob.name} must be True or False")
                continue
            value = float(value)
            if knob.name.endswith("_rate") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{knob.name} must be between 0 and 1, not {value}")
            if not 0.0 <= value < math.inf:
                raise ValueError(f"{knob.name} must be a non-negative number, not {value}")
            object.__setattr__(self, knob.name, value)

    @classmethod
    def parse(cls, name: str, text: Any) -> float | bool:
        """A knob value from text (query, form, JSON); ``ValueError`` for unknown names."""
        defaults = {knob.name: knob.default for knob in fields(cls)}
        if name not in defaults:
            raise ValueError(f"unknown knob {name!r}")
        if isinstance(defaults[name], bool):
            return text if isinstance(text, bool) else str(text).strip().lower() in _TRUE_WORDS
        return float(text)


class FaultInjector:
    """Decides which fault, if any, spoils a gateway call."""

    def __init__(self, seed: int) -> None:
        # Faults are drawn from one seeded generator, so a run is repeatable.
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self, knobs: Knobs) -> str | None:
        """The name of the fault to inject (from ``FAULTS``), or None."""
        with self._lock:
            for name in FAULTS:
                rate = getattr(knobs, f"{name}_rate")
                if rate and self._rng.random() < rate:
                    return name
        return None

    def answer(
        self, knobs: Knobs, wait: Callable[[float], bool], answer: Callable[[], Reply]
    ) -> tuple[Reply | None, str | None]:
        """The reply (None: close without one) and the fault, calling ``answer`` if due.

        ``wait(seconds)`` sleeps and returns True when the server is stopping.
        """
        if knobs.latency and wait(knobs.latency):
            return None, "stopped"
        fault = self.draw(knobs)
        if fault == "drop":
            return None, fault
        if fault == "hang" and wait(knobs.hang_seconds):
            return None, fault
        if fault == "http_500":
            return HTTP_500, fault
        if fault == "garbage":
            return GARBAGE, fault
        if fault == "unavailable":
            return error(2907), fault
        # A hang that ran its course is answered: the client has given up by now, which is
        # the "sent, but no answer came" case.
        return answer(), fault
