"""Administration: operator accounts, the audit log and installation-wide settings."""
