"""The history pages."""
