"""Destructive actions ask first, with or without JavaScript.

A view calls :func:`ask_first` before it changes anything. A POST without
``confirmed=1`` gets a page that asks the question and repeats the form's
fields with ``confirmed=1`` behind a "Yes, …" button, beside a way back.
With JavaScript, ``static/confirm.js`` asks in a dialog instead (forms made
with ``post_button(..., confirm=...)`` or carrying ``data-confirm``) and
posts ``confirmed=1`` itself, so the page is never shown.
"""

from __future__ import annotations

from flask import render_template, request, url_for

SKIPPED_FIELDS = ("csrf_token", "confirmed")


def ask_first(question: str, yes: str, detail: str = "", back: str | None = None) -> str | None:
    """The confirmation page for this POST, or None when the operator already said yes."""
    if request.form.get("confirmed") == "1":
        return None
    fields = [(name, value) for name, value in request.form.items(multi=True)
              if name not in SKIPPED_FIELDS]
    return render_template("confirm.html", question=question, yes=yes, detail=detail,
                           fields=fields, action=request.path, back=_way_back(back))


def _way_back(fallback: str | None) -> str:
    """The page the operator came from (same site only), else ``fallback``."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url) and not referrer.endswith(request.path):
        return referrer
    return fallback or url_for("main.index")
