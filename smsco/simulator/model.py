"""The gateway model: one account's credit, its messages and statuses, and the request log.

``Simulator`` holds the state behind one lock and answers gateway calls; the checks of a
send are in ``messages``, faults in ``faults``, HTTP in ``server``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from ..client import DeliveryStatus
from . import control
from .faults import FaultInjector, Knobs
from .messages import Message, draw_outcome, read_send
from .protocol import NOT_FOUND, SEND_PATH, STATUS_PATH, Reply, error, parse_query
from .server import SimulatorServer

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class LoggedRequest:
    """One request the simulator received and what it answered.

    ``params`` are the query parameters without the password. ``reply`` is the body sent,
    or None when the connection was closed without a reply; ``fault`` names the injected
    fault, if any.
    """

    time: float
    path: str
    params: dict[str, str]
    reply: str | None
    http_status: int | None
    fault: str | None

    @property
    def recipient(self) -> str | None:
        return self.params.get("recipient")

    @property
    def message(self) -> str | None:
        return self.params.get("message")

    @property
    def sender(self) -> str | None:
        return self.params.get("sender")

    @property
    def schedule(self) -> str | None:
        return self.params.get("schedule")


class ManualClock:
    """A clock for tests: time stands still until ``advance`` moves it."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01 UTC
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move time forward; returns the new time."""
        self.now += seconds
        return self.now


class Simulator:
    """The gateway's state and behaviour; ``serve`` puts it on HTTP."""

    def __init__(
        self,
        username: str = "demo",
        password: str = "demo",  # noqa: S107 (the demo account, documented as such)
        balance: Decimal | int | str = Decimal("100"),
        *,
        seed: int = 0,
        first_mes_id: int = 1000,
        clock: Callable[[], float] = time.time,
        log_limit: int | None = 100_000,
        **knobs: Any,
    ) -> None:
        self.username = username
        self._password = password
        self.seed = seed
        self.clock = clock
        self._knobs = Knobs(**knobs)
        self._lock = threading.Lock()
        self._balance = Decimal(balance).quantize(_CENT)
        self._next_mes_id = first_mes_id
        self._messages: dict[int, Message] = {}
        self._sent_counts: Counter[str] = Counter()
        self._log: deque[LoggedRequest] = deque(maxlen=log_limit)
        self._faults = FaultInjector(seed)

    def __repr__(self) -> str:
        return f"<Simulator username={self.username!r} balance={self.balance}>"

    # -- inspection and control -------------------------------------------------------

    @property
    def knobs(self) -> Knobs:
        """The current knobs (an immutable snapshot)."""
        return self._knobs

    def configure(self, **changes: Any) -> Knobs:
        """Change knobs, e.g. ``configure(drop_rate=1.0)``; returns the new knobs."""
        with self._lock:
            self._knobs = replace(self._knobs, **changes)
            return self._knobs

    @property
    def balance(self) -> Decimal:
        """The remaining credit in lari."""
        return self._balance

    def set_balance(self, value: Decimal | int | str) -> None:
        """Set the remaining credit in lari (rounded to tetri)."""
        with self._lock:
            self._balance = Decimal(value).quantize(_CENT)

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received, oldest first (the last ``log_limit`` of them)."""
        with self._lock:
            return list(self._log)

    @property
    def messages(self) -> dict[int, Message]:
        """Every accepted message by ``mes_id``."""
        with self._lock:
            return dict(self._messages)

    @property
    def sent_counts(self) -> dict[str, int]:
        """How many accepted messages went to each recipient."""
        with self._lock:
            return dict(self._sent_counts)

    def status(self, mes_id: int) -> DeliveryStatus:
        """The delivery status a status call would report now (``KeyError`` if unknown)."""
        with self._lock:
            message = self._messages[mes_id]
        return message.status_at(self.clock(), self._knobs)

    def set_status(self, mes_id: int, code: int | None) -> None:
        """Force a message's status (None returns it to the clock)."""
        forced = None if code is None else DeliveryStatus(code)  # ValueError outside 0-7
        with self._lock:
            self._messages[mes_id].forced_status = forced

    def state(self) -> dict[str, Any]:
        """A JSON-ready summary: balance, counts and knobs."""
        with self._lock:
            return {
                "balance": f"{self._balance:.2f}",
                "messages": len(self._messages),
                "requests": len(self._log),
                "next_mes_id": self._next_mes_id,
                "sent_counts": dict(self._sent_counts),
                "knobs": asdict(self._knobs),
            }

    def control(self, path: str, params: dict[str, Any]) -> Reply:
        """Answer a ``/_simulator/`` call with JSON (``smsco.simulator.control``)."""
        return control.answer(self, path, params)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
        """Serve on ``host:port`` from a background thread (port 0: any free port)."""
        server = SimulatorServer((host, port), self)
        server.start()
        return server

    # -- the gateway ------------------------------------------------------------------

    def handle(self, path: str, query: str, wait: Callable[[float], bool]) -> Reply | None:
        """Answer one gateway request, faults included; None: close without replying.

        ``wait(seconds)`` sleeps and returns True when the server is stopping.
        """
        params = parse_query(query)
        if path in (SEND_PATH, STATUS_PATH):
            answer = functools.partial(self._answer, path, params)
            reply, fault = self._faults.answer(self._knobs, wait, answer)
        else:
            reply, fault = NOT_FOUND, None
        self._log_request(path, params, reply, fault)
        return reply

    def _answer(self, path: str, params: dict[str, str]) -> Reply:
        if not params.get("username", "").strip():
            return error(2910)
        if not params.get("password", "").strip():
            return error(2911)
        if (params["username"], params["password"]) != (self.username, self._password):
            return error(2905)
        if path == STATUS_PATH:
            return self._status_reply(params.get("mes_id", "").strip())
        if params.get("balance", "").strip().lower() == "true":
            return Reply(200, f"{self.balance:.2f}")
        message = read_send(params, self.clock(), require_sender=self._knobs.require_sender)
        return message if isinstance(message, Reply) else self._accept(message)

    def _status_reply(self, mes_id: str) -> Reply:
        if not mes_id:
            return error(2915)
        with self._lock:
            message = self._messages.get(int(mes_id)) if mes_id.isdigit() else None
        if message is None:
            return error(2904)
        return Reply(200, str(int(message.status_at(self.clock(), self._knobs))))

    def _accept(self, message: Message) -> Reply:
        """Charge the balance and record the message, or 2906 when the credit is short."""
        charge = Decimal(message.credits) / 100
        with self._lock:
            if self._balance < charge:
                return error(2906)
            self._balance -= charge
            message.mes_id = self._next_mes_id
            self._next_mes_id += 1
            message.outcome = draw_outcome(self.seed, message.mes_id, self._knobs.failure_rate)
            self._messages[message.mes_id] = message
            self._sent_counts.update(message.recipients)
        return Reply(200, f"OK {message.credits} {message.mes_id}")

    def _log_request(
        self, path: str, params: dict[str, str], reply: Reply | None, fault: str | None
    ) -> None:
        safe_params = {key: value for key, value in params.items() if key != "password"}
        entry = LoggedRequest(
            time=self.clock(),
            path=path,
            params=safe_params,
            reply=reply.body if reply else None,
            http_status=reply.status if reply else None,
            fault=fault,
        )
        with self._lock:
            self._log.append(entry)
