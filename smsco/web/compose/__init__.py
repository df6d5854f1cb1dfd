"""Compose: one message to one or many numbers, now or at a set time; editing held ones."""
