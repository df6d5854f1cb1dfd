"""A stand-in gateway whose outcome is set per recipient: what reports are checked against.

``plan[recipient] = Planned(...)`` says how the send of that number ends:
accepted with ``credits`` and then a delivery ``status`` (0 = no final status
yet), refused with an error ``code``, or answered with garbage (the message
becomes ``unknown``). Numbers without a plan are delivered. Independent of
the simulator, so a test's expected figures come from the plan alone.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SEND_PATH = "/components/com_smsreseller/smsapi2.php"
STATUS_PATH = "/components/com_smsreseller/getstatus.php"


@dataclass(frozen=True)
class Planned:
    """How one recipient's send ends."""

    credits: int = 5
    status: int = 1  # the delivery status once accepted (0: stays "Sent")
    code: int | None = None  # refuse the send with this error code
    garbage: bool = False  # answer something that is not a gateway reply

    @property
    def accepted(self) -> bool:
        return self.code is None and not self.garbage


class OutcomeGateway:
    """Serves send, status and balance on a free loopback port (``url``)."""

    def __init__(self, balance: Decimal = Decimal("100.00")) -> None:
        self.plan: dict[str, Planned] = {}
        self.balance = balance
        self.statuses: dict[str, int] = {}  # mes_id -> status
        self.sends: list[str] = []
        self._ids = itertools.count(5000)
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = outer.answer(url.path, params).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def answer(self, path: str, params: dict[str, str]) -> str:
        """The reply to one gateway call."""
        with self._lock:
            if path == STATUS_PATH:
                return str(self.statuses.get(params.get("mes_id", ""), 2904))
            if params.get("balance") == "true":
                return f"{self.balance:.2f}"
            recipient = params.get("recipient", "")
            self.sends.append(recipient)
            planned = self.plan.get(recipient, Planned())
            if planned.garbage:
                return "<html><body>Service temporarily unavailable</body></html>"
            if planned.code is not None:
                return str(planned.code)
            mes_id = str(next(self._ids))
            self.statuses[mes_id] = planned.status
            self.balance -= Decimal(planned.credits) / 100
            return f"OK {planned.credits} {mes_id}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
