"""Setup, login and logout pages."""

from __future__ import annotations

from flask import Blueprint

from . import services  # noqa: F401 - registers the user loader

bp = Blueprint("auth", __name__)
