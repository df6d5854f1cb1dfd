"""The sending engine: the outbox, the dispatcher and the jobs around them (no routes).

Sending is an outbox (DESIGN §3), so every message goes out at most once and
none is lost:

1. ``outbox`` — a form (or a campaign) creates one ``queued`` row per
   recipient in one transaction, with the time it may go. Nothing is sent
   inside a web request; cancelling, editing and resending are guarded
   updates of a row that is still queued (or a new row linked to the old one).
2. ``dispatch`` — the dispatcher claims due rows atomically (``queued`` →
   ``sending``, a conditional UPDATE; ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL), commits, and only then calls the gateway with bounded
   concurrency over one client. It records what happened: accepted → ``sent``;
   a definite gateway error → ``failed``; no connection or 2907 → back to
   ``queued`` with backoff, a bounded number of times; no answer after the
   request left → ``unknown``, never re-sent automatically. Just before a
   request leaves, its row's journal is marked (with the previous answer, one
   short commit), so after a crash only rows whose request may have left
   become ``unknown`` and the others go back to the queue.
3. ``jobs`` — the one scheduler (APScheduler 3) runs the dispatcher, polls the
   delivery status of ``sent`` rows with backoff until a final status (every
   change an event on the message's timeline) and stores balance snapshots.
4. ``gateway`` — the one place the app gets its ``smsco.Client``; in demo mode
   it starts the built-in simulator first.
5. ``quiet_hours`` — when marketing messages must wait (evenings and nights).
6. ``tallies`` — per-day counts of messages for the reports: database
   triggers record every change of a message as a signed delta in the same
   transaction; a job folds the deltas into day rows; a recount rebuilds them.
7. ``liveness`` — each dispatcher's heartbeat thread, and the rule by which
   another takes it as dead (its process gone, or a heartbeat that stood still
   for ``SMSCO_HEARTBEAT_TIMEOUT`` on another machine); a live one never is.
"""

from __future__ import annotations

from flask import Flask

from .gateway import init_gateway
from .quiet_hours import DEFAULT_QUIET_HOURS, parse_quiet_hours


def init_sending(app: Flask) -> None:
    """Parse the quiet-hours rule (unless a test set one) and create the gateway client."""
    hours = app.config.get("SMSCO_QUIET_HOURS") or DEFAULT_QUIET_HOURS
    app.config["SMSCO_QUIET_HOURS"] = hours
    if "SMSCO_QUIET_RULE" not in app.config:
        app.config["SMSCO_QUIET_RULE"] = parse_quiet_hours(hours)
    init_gateway(app)
