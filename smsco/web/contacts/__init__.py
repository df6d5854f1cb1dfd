"""Contacts, groups and the opt-out list."""
