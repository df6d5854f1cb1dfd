"""A stand-in for the smsco.ge SMS gateway, served over real HTTP.

It answers the gateway's calls (send, balance, status; DESIGN §2) with the same plain-text
replies as the real gateway, keeps a credit balance, moves every message through its
delivery statuses on a clock, and misbehaves on request (slow, unavailable, HTTP 500,
dropped or hung connections, garbage replies) so a client's error handling can be tried.
``make run`` serves it when no gateway account is configured; tests and benchmarks use it
as the gateway. Standard library only (plus the ``smsco`` modules).

Usage::

    sim = Simulator(username="demo", password="demo", balance=Decimal("100"), seed=0)
    with sim.serve(host="127.0.0.1", port=0) as server:  # port 0: any free port
        server.url                    # "http://127.0.0.1:PORT", the base URL for a client
        sim.configure(drop_rate=1.0)  # from now on every gateway call is dropped
    # leaving the block (or server.shutdown()) stops serving and ends open connections

Shell: ``python -m smsco.simulator --port 5001 --username demo --password demo --balance 100``
(``--help`` lists every knob as a flag, e.g. ``--failure-rate 0.2 --latency 0.1``).

``Simulator(username, password, balance=Decimal("100"), *, seed=0, first_mes_id=1000,
clock=time.time, log_limit=100_000, **knobs)``:

- ``serve(host, port) -> SimulatorServer`` (``.url``, ``.port``, ``.simulator``,
  ``.connections_opened``, ``.shutdown()``, context manager).
- ``configure(**knobs)`` changes knobs at run time (thread-safe); ``knobs`` reads them.
  See ``Knobs`` for names and defaults. A rate of 1.0 means "always".
- ``balance`` (Decimal, lari) and ``set_balance(value)``.
- ``requests``: log of every request (``LoggedRequest``; never holds the password).
- ``messages`` (``mes_id -> Message``), ``status(mes_id)``, ``set_status(mes_id, code)``,
  ``sent_counts`` (recipient -> accepted messages).
- ``ManualClock``: a clock for tests that only moves when told.

The balance is kept in lari (GEL) with two decimals; a send costs
``smsco.text.cost(message, valid_recipients)`` tetri, and 100 tetri make 1 lari.

Control endpoint (JSON, no faults, no authentication; for demos and other processes):
``GET /_simulator/state``; ``GET|POST /_simulator/config`` with ``balance`` and/or knob
names as query, form or JSON parameters; ``GET|POST /_simulator/set-status`` with
``mes_id`` and ``status``; ``GET /_simulator/messages``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import ipaddress
import json
import math
import random
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from ..client import DeliveryStatus
from ..errors import ERROR_CODES, ValidationError
from ..phones import normalize
from ..text import cost, invalid_characters

SEND_PATH = "/components/com_smsreseller/smsapi2.php"
STATUS_PATH = "/components/com_smsreseller/getstatus.php"
CONTROL_PREFIX = "/_simulator/"

#: The gateway's own time zone: ``schedule`` is read in it.
GATEWAY_TIMEZONE = ZoneInfo("Asia/Tbilisi")

#: Final statuses of the messages that are not delivered (``failure_rate``).
FAILURE_OUTCOMES = (DeliveryStatus.FAILED, DeliveryStatus.REJECTED, DeliveryStatus.EXPIRED)

#: Faults in the order they are drawn; each has a ``<name>_rate`` knob.
FAULTS = ("drop", "hang", "http_500", "garbage", "unavailable")

_SENDER = re.compile(r"[A-Za-z0-9]{1,11}")
_SCHEDULE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_CENT = Decimal("0.01")
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


@dataclass(frozen=True)
class Reply:
    """One HTTP reply: status, body and content type."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


NOT_FOUND = Reply(404, "Not Found")
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


def _error(code: int) -> Reply:
    """A gateway error reply: the bare code, as the real gateway sends it."""
    assert code in ERROR_CODES, code
    return Reply(200, str(code))


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


def _parse_query(query: str) -> dict[str, str]:
    # The last of repeated parameters wins, as in PHP's $_GET.
    return dict(parse_qsl(query, keep_blank_values=True, errors="replace"))


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
        # Faults are drawn from one seeded generator, so a run is repeatable.
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()

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
        params = _parse_query(query)
        if path in (SEND_PATH, STATUS_PATH):
            reply, fault = self._answer_with_faults(path, params, wait)
        else:
            reply, fault = NOT_FOUND, None
        self._log_request(path, params, reply, fault)
        return reply

    def _answer_with_faults(
        self, path: str, params: dict[str, str], wait: Callable[[float], bool]
    ) -> tuple[Reply | None, str | None]:
        knobs = self._knobs
        if knobs.latency and wait(knobs.latency):
            return None, "stopped"
        fault = self._draw_fault(knobs)
        if fault == "drop":
            return None, fault
        if fault == "hang" and wait(knobs.hang_seconds):
            return None, fault
        if fault == "http_500":
            return HTTP_500, fault
        if fault == "garbage":
            return GARBAGE, fault
        if fault == "unavailable":
            return _error(2907), fault
        # A hang that ran its course is answered: the client has given up by now, which is
        # the "sent, but no answer came" case.
        return self._answer(path, params), fault

    def _draw_fault(self, knobs: Knobs) -> str | None:
        with self._rng_lock:
            for name in FAULTS:
                rate = getattr(knobs, f"{name}_rate")
                if rate and self._rng.random() < rate:
                    return name
        return None

    def _answer(self, path: str, params: dict[str, str]) -> Reply:
        if not params.get("username", "").strip():
            return _error(2910)
        if not params.get("password", "").strip():
            return _error(2911)
        if (params["username"], params["password"]) != (self.username, self._password):
            return _error(2905)
        if path == STATUS_PATH:
            return self._status_reply(params.get("mes_id", "").strip())
        if params.get("balance", "").strip().lower() == "true":
            return Reply(200, f"{self.balance:.2f}")
        return self._send_message(params, self.clock())

    def _status_reply(self, mes_id: str) -> Reply:
        if not mes_id:
            return _error(2915)
        with self._lock:
            message = self._messages.get(int(mes_id)) if mes_id.isdigit() else None
        if message is None:
            return _error(2904)
        return Reply(200, str(int(message.status_at(self.clock(), self._knobs))))

    def _send_message(self, params: dict[str, str], now: float) -> Reply:
        recipient_field = params.get("recipient", "")
        text = params.get("message", "")
        sender = params.get("sender", "")
        schedule = params.get("schedule", "")
        if not recipient_field.strip():
            return _error(2912)
        if not text.strip():
            return _error(2913)
        if invalid_characters(text):
            return _error(2904)
        if sender and not _SENDER.fullmatch(sender):
            return _error(2904)
        if not sender and self._knobs.require_sender:
            return _error(2914)
        starts_at = now
        if schedule:
            scheduled = _parse_schedule(schedule)
            if scheduled is None:
                return _error(2908)
            # Schedules have whole seconds: the current second is not yet the past.
            if scheduled < math.floor(now):
                return _error(2909)
            starts_at = scheduled
        pieces = [piece.strip() for piece in recipient_field.split(",") if piece.strip()]
        valid = tuple(piece for piece in pieces if _is_gateway_number(piece))
        if not valid:
            return _error(2904)
        rejected = tuple(piece for piece in pieces if not _is_gateway_number(piece))
        message = Message(
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
        return self._accept(message)

    def _accept(self, message: Message) -> Reply:
        """Charge the balance and record the message, or 2906 when the credit is short."""
        charge = Decimal(message.credits) / 100
        with self._lock:
            if self._balance < charge:
                return _error(2906)
            self._balance -= charge
            message.mes_id = self._next_mes_id
            self._next_mes_id += 1
            message.outcome = self._outcome(message.mes_id)
            self._messages[message.mes_id] = message
            self._sent_counts.update(message.recipients)
        return Reply(200, f"OK {message.credits} {message.mes_id}")

    def _outcome(self, mes_id: int) -> DeliveryStatus:
        """The final status, from the seed and mes_id alone (not from thread timing)."""
        digest = hashlib.blake2b(f"{self.seed}:{mes_id}".encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "big")
        if (value >> 11) / 2**53 >= self._knobs.failure_rate:
            return DeliveryStatus.DELIVERED
        return FAILURE_OUTCOMES[(value & 0x7FF) % len(FAILURE_OUTCOMES)]

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

    # -- the control endpoint -----------------------------------------------------------

    def control(self, path: str, params: dict[str, Any]) -> Reply:
        """Answer a ``/_simulator/`` call with JSON (400 with ``error`` when refused)."""
        action = path[len(CONTROL_PREFIX) :].strip("/")
        try:
            if action == "state":
                result: Any = self.state()
            elif action == "config":
                result = self._control_config(params)
            elif action == "set-status":
                self.set_status(int(params["mes_id"]), int(params["status"]))
                result = {"mes_id": int(params["mes_id"]), "status": int(params["status"])}
            elif action == "messages":
                result = [self._message_json(message) for message in self.messages.values()]
            else:
                return Reply(404, json.dumps({"error": "unknown control call"}), "application/json")
        except (KeyError, ValueError, TypeError, ArithmeticError) as error:
            return Reply(400, json.dumps({"error": str(error)}), "application/json")
        return Reply(200, json.dumps(result), "application/json")

    def _control_config(self, params: dict[str, Any]) -> dict[str, Any]:
        changes = {
            name: Knobs.parse(name, value) for name, value in params.items() if name != "balance"
        }
        if "balance" in params:
            Decimal(str(params["balance"]))  # refuse bad input before changing anything
        self.configure(**changes)
        if "balance" in params:
            self.set_balance(str(params["balance"]))
        return self.state()

    def _message_json(self, message: Message) -> dict[str, Any]:
        result = asdict(message)
        result["status"] = message.status_at(self.clock(), self._knobs)
        return result


class _GatewayHandler(BaseHTTPRequestHandler):
    """HTTP glue: the simulator decides, this class reads and writes."""

    protocol_version = "HTTP/1.1"  # keep-alive; every reply has a Content-Length
    server_version = "smsco-simulator"
    sys_version = ""
    # Headers and body leave in one buffered write, without Nagle delays.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: SimulatorServer

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path.startswith(CONTROL_PREFIX):
            self._write_reply(self.server.simulator.control(path, _parse_query(query)))
        else:
            self._write_reply(self.server.simulator.handle(path, query, self.server.stopping.wait))

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not path.startswith(CONTROL_PREFIX):
            self._write_reply(Reply(405, "Method Not Allowed"))
            return
        params: dict[str, Any] = _parse_query(query)
        if body and "json" in self.headers.get("Content-Type", ""):
            try:
                params.update(json.loads(body))
            except ValueError:
                self._write_reply(Reply(400, '{"error": "invalid JSON"}', "application/json"))
                return
        elif body:
            params.update(_parse_query(body.decode("utf-8", "replace")))
        self._write_reply(self.server.simulator.control(path, params))

    def _write_reply(self, reply: Reply | None) -> None:
        if reply is None:  # a dropped or aborted request: close without a byte
            self.close_connection = True
            return
        body = reply.body.encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: per-request logging would cost more than the answer."""


class SimulatorServer(ThreadingHTTPServer):
    """A threaded HTTP server for one ``Simulator``; stop it with ``shutdown()``."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        super().__init__(address, _GatewayHandler)
        self.simulator = simulator
        #: Set when shutting down: hung and slow requests stop waiting.
        self.stopping = threading.Event()
        #: Connections accepted so far (a keep-alive client opens few).
        self.connections_opened = 0
        self._open: set[socket.socket] = set()
        self._open_changed = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:5001``."""
        host = str(self.server_address[0])
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).is_unspecified:  # listening everywhere
                host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Serve from a daemon thread."""
        # A short poll interval makes shutdown quick, which keeps test teardown fast.
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"smsco-simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def shutdown(self) -> None:
        """Stop serving, end every open connection and close the listening socket."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        if self._thread is not None:
            super().shutdown()
            self._thread.join()
        self.server_close()
        with self._open_changed:
            for connection in self._open:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)  # wakes threads blocked on read
            self._open_changed.wait_for(lambda: not self._open, timeout=2.0)

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_changed:
            self._open.add(request)
            self.connections_opened += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._open_changed:
            self._open.discard(request)
            self._open_changed.notify_all()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m smsco.simulator", description="Serve a simulated smsco.ge gateway."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5001, help="port (0: any free port)")
    parser.add_argument("--username", default="demo", help="account username")
    parser.add_argument("--password", default="demo", help="account password")
    parser.add_argument("--balance", type=Decimal, default=Decimal("100"), help="credit in lari")
    parser.add_argument("--seed", type=int, default=0, help="seed for outcomes and faults")
    parser.add_argument("--first-mes-id", type=int, default=1000, help="first mes_id given")
    for knob in fields(Knobs):
        flag = "--" + knob.name.replace("_", "-")
        if isinstance(knob.default, bool):
            parser.add_argument(flag, action="store_true", help=knob.metadata["help"])
        else:
            help_text = f"{knob.metadata['help']} (default {knob.default})"
            parser.add_argument(flag, type=float, default=knob.default, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator in the foreground until Ctrl-C."""
    args = _build_parser().parse_args(argv)
    simulator = Simulator(
        args.username,
        args.password,
        args.balance,
        seed=args.seed,
        first_mes_id=args.first_mes_id,
        **{knob.name: getattr(args, knob.name) for knob in fields(Knobs)},
    )
    server = simulator.serve(args.host, args.port)
    print(
        f"smsco simulator serving {server.url} (username {args.username!r}); Ctrl-C stops it",
        flush=True,
    )
    try:
        while not server.stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
