"""The JSON control endpoint under ``/_simulator/``.

It reads the state, changes knobs and the balance and forces statuses, with no faults and
no authentication: it is for demos and other processes, not for gateway clients.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .faults import Knobs
from .protocol import CONTROL_PREFIX, Reply

if TYPE_CHECKING:
    from .messages import Message
    from .model import Simulator


def answer(simulator: Simulator, path: str, params: dict[str, Any]) -> Reply:
    """Answer a ``/_simulator/`` call with JSON (400 with ``error`` when refused)."""
    action = path[len(CONTROL_PREFIX) :].strip("/")
    try:
        if action == "state":
            result: Any = simulator.state()
        elif action == "config":
            result = _configure(simulator, params)
        elif action == "set-status":
            simulator.set_status(int(params["mes_id"]), int(params["status"]))
            result = {"mes_id": int(params["mes_id"]), "status": int(params["status"])}
        elif action == "messages":
            result = [_message_json(simulator, m) for m in simulator.messages.values()]
        else:
            return Reply(404, json.dumps({"error": "unknown control call"}), "application/json")
    except (KeyError, ValueError, TypeError, ArithmeticError) as error:
        return Reply(400, json.dumps({"error": str(error)}), "application/json")
    return Reply(200, json.dumps(result), "application/json")


def _configure(simulator: Simulator, params: dict[str, Any]) -> dict[str, Any]:
    changes = {
        name: Knobs.parse(name, value) for name, value in params.items() if name != "balance"
    }
    if "balance" in params:
        Decimal(str(params["balance"]))  # refuse bad input before changing anything
    simulator.configure(**changes)
    if "balance" in params:
        simulator.set_balance(str(params["balance"]))
    return simulator.state()


def _message_json(simulator: Simulator, message: Message) -> dict[str, Any]:
    result = asdict(message)
    result["status"] = message.status_at(simulator.clock(), simulator.knobs)
    return result
