"""The simulator on real HTTP: a request handler and a threaded server that stops cleanly."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .protocol import CONTROL_PREFIX, Reply, parse_query

if TYPE_CHECKING:
    from .model import Simulator


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
            self._write_reply(self.server.simulator.control(path, parse_query(query)))
        else:
            self._write_reply(self.server.simulator.handle(path, query, self.server.stopping.wait))

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not path.startswith(CONTROL_PREFIX):
            self._write_reply(Reply(405, "Method Not Allowed"))
            return
        params: dict[str, Any] = parse_query(query)
        if body and "json" in self.headers.get("Content-Type", ""):
            try:
                params.update(json.loads(body))
            except ValueError:
                self._write_reply(Reply(400, '{"error": "invalid JSON"}', "application/json"))
                return
        elif body:
            params.update(parse_query(body.decode("utf-8", "replace")))
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
