"""Contacts, groups and the opt-out list, with CSV/XLSX import (``importing``) and export."""
