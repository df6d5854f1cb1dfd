"""Saved message texts (templates): shared ones managed by administrators, and each user's own."""
