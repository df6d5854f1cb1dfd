"""The command line: ``python -m smsco.simulator`` serves a simulator until Ctrl-C."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import fields
from decimal import Decimal

from .faults import Knobs
from .model import Simulator


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
    # Every knob is a flag, so a new knob needs no change here.
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
