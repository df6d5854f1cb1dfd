"""The one place the web app gets its gateway client.

In demo mode (no ``SMSCO_USERNAME``) the built-in simulator is started on a
loopback port of its own and the app is pointed at it.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from flask import Flask, current_app

from smsco import Client
from smsco.simulator import Simulator

log = logging.getLogger(__name__)

DEMO_USERNAME = "demo"
DEMO_BALANCE = Decimal("100")


def init_gateway(app: Flask) -> None:
    """Create the app's client; start the simulator first in demo mode."""
    if app.config["SMSCO_DEMO"]:
        demo_password = "demo"  # noqa: S105 - the simulator's own throwaway account
        simulator = Simulator(username=DEMO_USERNAME, password=demo_password,
                              balance=DEMO_BALANCE)
        server = simulator.serve(host="127.0.0.1", port=app.config["SMSCO_SIMULATOR_PORT"])
        app.extensions["smsco_simulator"] = server
        app.config.update(SMSCO_USERNAME=DEMO_USERNAME, SMSCO_PASSWORD=demo_password,
                          SMSCO_BASE_URL=server.url)
        log.info("Demo mode: gateway simulator at %s", server.url)
    app.extensions["smsco_client"] = Client(
        app.config["SMSCO_USERNAME"], app.config["SMSCO_PASSWORD"] or "",
        base_url=app.config["SMSCO_BASE_URL"],
    )


def get_client() -> Client:
    """The gateway client of the current app."""
    return current_app.extensions["smsco_client"]
