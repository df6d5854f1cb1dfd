"""Scheduled jobs (filled in below)."""


def start_scheduler(app):
    """Start the scheduler (placeholder until the jobs land)."""
