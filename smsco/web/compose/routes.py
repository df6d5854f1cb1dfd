"""The compose pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("compose", __name__)
