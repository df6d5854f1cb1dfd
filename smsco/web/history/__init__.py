"""History: every message with filters, search, CSV export and each message's timeline."""
