"""Test suite for the smsco client, simulator and dashboard."""
