"""Entry point for ``flask --app app`` and WSGI servers."""

from smsco.web import create_app

app = create_app()
