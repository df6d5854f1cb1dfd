"""CSV export of the filtered history, streamed in keyset batches.

A million rows never sit in memory: each batch of rows is written to a small
buffer, yielded, and dropped. Cells that a spreadsheet would read as a
formula are neutralized, in the header as in the rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from ..ui.exports import safe_row
from ..ui.formatting import gateway_label, local_iso
from .queries import HistoryFilters, export_batches

COLUMNS = ("id", "created_at", "sent_at", "recipient", "sender", "operator", "state",
           "gateway_status", "credits", "mes_id", "message")


def csv_row(row) -> list[str]:
    """One export line from a row of ``export_batches``."""
    values = (row.id, local_iso(row.created_at), local_iso(row.sent_at), row.recipient,
              row.sender, row.username, row.state, gateway_label(row.gateway_status),
              row.credits, row.mes_id, row.body)
    return safe_row(values)


def generate_csv(filters: HistoryFilters, batch_size: int = 5000) -> Iterator[str]:
    """The header, then one chunk of text per batch of rows.

    The query is built before this returns (see ``export_batches``), so the
    route fails, if ever, before its 200 and the first byte.
    """
    return _chunks(export_batches(filters, batch_size))


def _chunks(batches: Iterator[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(COLUMNS))
    yield buffer.getvalue()
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(row) for row in rows)
        yield buffer.getvalue()
