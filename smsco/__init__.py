"""Python client for the smsco.ge SMS gateway, with a faithful gateway simulator.

>>> from smsco import Client
>>> client = Client("username", "password")            # doctest: +SKIP
>>> client.send("599 44 54 48", "Hello from Tbilisi")  # doctest: +SKIP
SendResult(credits=5, message_id='123')

This package never imports Flask or a database; the dashboard lives in
``smsco.web``.
"""

from .client import Client, DeliveryStatus, SendResult
from .errors import (
    AmbiguousSend,
    AuthError,
    CreditExhausted,
    GatewayError,
    GatewayUnavailable,
    InvalidRequest,
    ProtocolError,
    RequestRefused,
    ScheduleError,
    SendFailed,
    SmscoError,
    TransportError,
    ValidationError,
)

__all__ = [
    "AmbiguousSend", "AuthError", "Client", "CreditExhausted", "DeliveryStatus",
    "GatewayError", "GatewayUnavailable", "InvalidRequest", "ProtocolError", "RequestRefused",
    "ScheduleError", "SendFailed", "SendResult", "SmscoError", "TransportError", "ValidationError",
]
