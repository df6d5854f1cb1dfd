"""The filtered history as a spreadsheet (CSV or XLSX), read in keyset batches.

A million rows never sit in memory: each batch of rows is written out and
dropped. ``ui.exports`` keeps the cells safe and Excel-ready.
"""

from __future__ import annotations

from ..ui.exports import Table, phone_cell
from ..ui.formatting import local_iso
from ..ui.labels import gateway_label
from .queries import HistoryFilters, export_batches

COLUMNS = ("id", "created_at", "sent_at", "recipient", "sender", "operator", "state",
           "gateway_status", "credits", "mes_id", "message")


def cells(row) -> tuple[object, ...]:
    """One export line from a row of ``export_batches``."""
    return (row.id, local_iso(row.created_at), local_iso(row.sent_at), phone_cell(row.recipient),
            row.sender, row.username, row.state, gateway_label(row.gateway_status),
            row.credits, row.mes_id, row.body)


def history_table(filters: HistoryFilters, batch_size: int = 5000) -> Table:
    """The filtered history, newest first.

    The query is built before this returns (see ``export_batches``), so the
    route fails, if ever, before its 200 and the first byte.
    """
    batches = export_batches(filters, batch_size)
    return Table("history", COLUMNS, ([cells(row) for row in rows] for rows in batches))
