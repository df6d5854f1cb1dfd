"""Accounts: first-run setup, login, logout."""
