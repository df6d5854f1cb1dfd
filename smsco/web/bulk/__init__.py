"""Bulk send and campaigns: the bulk page, its preview, and the campaign services and pages."""
