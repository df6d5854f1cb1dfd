"""A stand-in for the smsco.ge SMS gateway, served over real HTTP.

It answers the gateway's calls (send, balance, status; DESIGN §2) with the same plain-text
replies as the real gateway, keeps a credit balance, moves every message through its
delivery statuses on a clock, and misbehaves on request (slow, unavailable, HTTP 500,
dropped or hung connections, garbage replies) so a client's error handling can be tried.
``make run`` serves it when no gateway account is configured; tests and benchmarks use it
as the gateway. Standard library only (plus the ``smsco`` modules).

How the pieces fit:

- ``model``: ``Simulator``, the state behind one lock (credit, messages, request log) and
  the answer to each gateway call; also ``ManualClock`` and ``LoggedRequest``.
- ``messages``: the checks a send passes, ``Message`` and its statuses over time.
- ``faults``: ``Knobs`` and the fault, if any, that spoils a gateway call.
- ``protocol``: the gateway's paths, ``Reply``, error replies, query parsing.
- ``control``: the JSON control endpoint; ``server``: the HTTP server; ``cli``: the
  command line (``__main__``).

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

from .cli import main
from .faults import FAULTS, GARBAGE, HTTP_500, Knobs
from .messages import FAILURE_OUTCOMES, GATEWAY_TIMEZONE, Message
from .model import LoggedRequest, ManualClock, Simulator
from .protocol import CONTROL_PREFIX, NOT_FOUND, SEND_PATH, STATUS_PATH, Reply
from .server import SimulatorServer

__all__ = [
    "CONTROL_PREFIX",
    "FAILURE_OUTCOMES",
    "FAULTS",
    "GARBAGE",
    "GATEWAY_TIMEZONE",
    "HTTP_500",
    "NOT_FOUND",
    "SEND_PATH",
    "STATUS_PATH",
    "Knobs",
    "LoggedRequest",
    "ManualClock",
    "Message",
    "Reply",
    "Simulator",
    "SimulatorServer",
    "main",
]
