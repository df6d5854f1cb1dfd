"""CSV export of the filtered history, streamed in keyset batches.

A million rows never sit in memory: each batch of rows is written to a small
buffer, yielded, and dropped. Cells that a spreadsheet would read as a
formula are neutralized. Headers, states and gateway statuses are in the
operator's language; times are ISO 8601 with the zone's offset and costs
plain lari (``0.05``), so a spreadsheet reads them as times and numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask_babel import gettext as _

from ..ui.exports import lari_cell, neutralize
from ..ui.formatting import local_iso
from ..ui.labels import gateway_label, state_label
from .queries import HistoryFilters, export_batches


def columns() -> list[str]:
    """The header row."""
    return [_("ID"), _("Created at"), _("Sent at"), _("Recipient"), _("Sender ID"),
            _("Operator"), _("Status"), _("Gateway status"), _("Cost, ₾"), _("Gateway ID"),
            _("Message")]


def csv_row(row) -> list[str]:
    """One export line from a row of ``export_batches``."""
    values = (row.id, local_iso(row.created_at), local_iso(row.sent_at), row.recipient,
              row.sender, row.username, state_label(row.state), gateway_label(row.gateway_status),
              lari_cell(row.credits), row.mes_id, row.body)
    return [neutralize(value) for value in values]


def generate_csv(filters: HistoryFilters, batch_size: int = 5000) -> Iterator[str]:
    """The header, then one chunk of text per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(neutralize(name) for name in columns())
    yield buffer.getvalue()
    for rows in export_batches(filters, batch_size):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(row) for row in rows)
        yield buffer.getvalue()
