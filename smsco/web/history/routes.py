"""The history pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("history", __name__)
