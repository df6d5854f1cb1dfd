"""Command line for scripts: ``python -m smsco send|balance|status``.

Credentials come from the environment (``SMSCO_USERNAME``, ``SMSCO_PASSWORD``,
optional ``SMSCO_BASE_URL`` and ``SMSCO_SENDER``), never from the command line,
where other users could read them in the process list.

Exit codes tell the failure classes apart, so a script can decide what to do:

====  =========================================================================
0     success
2     bad usage or input refused locally (nothing was sent)
3     the gateway rejected the account (2905) or credentials are missing
4     credit exhausted (2906)
5     the gateway refused the request (2904, 2908–2915, or an HTTP 4xx from its
      web server)
6     the gateway could not be reached or is unavailable (2907): safe to retry
7     a send may or may not have gone out (no answer, or an unreadable one):
      do not retry blindly
8     the gateway answered something that could not be understood (reads)
====  =========================================================================
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

from .client import DEFAULT_BASE_URL, Client
from .errors import (
    AmbiguousSend,
    AuthError,
    CreditExhausted,
    GatewayError,
    GatewayUnavailable,
    ProtocolError,
    RequestRefused,
    SmscoError,
    TransportError,
    ValidationError,
)

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_CREDIT, EXIT_REFUSED = 0, 2, 3, 4, 5
EXIT_UNREACHABLE, EXIT_AMBIGUOUS, EXIT_PROTOCOL = 6, 7, 8


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for the three sub-commands."""
    parser = argparse.ArgumentParser(
        prog="python -m smsco", description="Send SMS through smsco.ge and query it.",
        epilog="Credentials: SMSCO_USERNAME and SMSCO_PASSWORD in the environment.")
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("send", help="send a message")
    send.add_argument("recipients", nargs="+", help="phone numbers, e.g. 599445448")
    send.add_argument("-m", "--message", required=True, help="message text")
    send.add_argument("-s", "--sender", default=os.environ.get("SMSCO_SENDER"),
                      help="sender ID (default: $SMSCO_SENDER)")
    send.add_argument("--schedule", help='gateway-local time "YYYY-MM-DD HH:MM[:SS]"')
    commands.add_parser("balance", help="print the remaining credit")
    status = commands.add_parser("status", help="print a message's delivery status")
    status.add_argument("message_id", help="the mes_id returned by send")
    return parser


def exit_code_for(error: SmscoError) -> int:
    """The exit code for an error class (see the module docstring)."""
    if isinstance(error, ValidationError):
        return EXIT_USAGE
    if isinstance(error, AuthError):
        return EXIT_AUTH
    if isinstance(error, CreditExhausted):
        return EXIT_CREDIT
    if isinstance(error, (GatewayUnavailable, TransportError)):
        return EXIT_UNREACHABLE
    if isinstance(error, (GatewayError, RequestRefused)):
        return EXIT_REFUSED
    if isinstance(error, AmbiguousSend):
        return EXIT_AMBIGUOUS
    if isinstance(error, ProtocolError):
        return EXIT_PROTOCOL
    return EXIT_PROTOCOL


def run(args: argparse.Namespace, client: Client) -> str:
    """Carry out one command; returns what to print."""
    if args.command == "balance":
        return str(client.balance())
    if args.command == "status":
        status = client.status(args.message_id)
        return f"{int(status)} {status.label}"
    schedule = _parse_schedule(args.schedule) if args.schedule else None
    result = client.send(args.recipients, args.message, sender=args.sender, schedule=schedule)
    return f"OK credits={result.credits} mes_id={result.message_id}"


def _parse_schedule(value: str) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ValidationError(f"--schedule {value!r} is not YYYY-MM-DD HH:MM[:SS].")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    username, password = os.environ.get("SMSCO_USERNAME"), os.environ.get("SMSCO_PASSWORD")
    if not username or not password:
        print("error: set SMSCO_USERNAME and SMSCO_PASSWORD", file=sys.stderr)
        return EXIT_AUTH
    base_url = os.environ.get("SMSCO_BASE_URL") or DEFAULT_BASE_URL
    with Client(username, password, base_url=base_url) as client:
        try:
            print(run(args, client))
        except SmscoError as error:
            print(f"error: {error}", file=sys.stderr)
            return exit_code_for(error)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
