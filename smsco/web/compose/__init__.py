"""The compose pages."""
