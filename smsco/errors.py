"""Typed exceptions for the smsco.ge gateway client.

Every exception carries ``code``: the gateway's numeric error code, or ``None``
when the error did not come from the gateway. None of them ever holds the
request URL, because the URL contains the account password.
"""

from __future__ import annotations


class SmscoError(Exception):
    """Base class of every error raised by the ``smsco`` package."""

    code: int | None = None

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """The human-readable text of the error."""
        return str(self.args[0]) if self.args else ""


class GatewayError(SmscoError):
    """The gateway answered with one of its error codes."""


class SendFailed(GatewayError):
    """2904: the gateway could not send the SMS."""

    code = 2904


class AuthError(GatewayError):
    """2905: invalid username/password combination."""

    code = 2905


class CreditExhausted(GatewayError):
    """2906: the account has no credit left."""

    code = 2906


class GatewayUnavailable(GatewayError):
    """2907: the gateway is unavailable; nothing was sent, safe to retry later."""

    code = 2907


class ScheduleError(GatewayError):
    """2908 (invalid schedule date format) or 2909 (unable to schedule)."""

    code = 2908


class InvalidRequest(GatewayError):
    """2910-2915: a required field was empty."""

    code = 2915


class ValidationError(SmscoError, ValueError):
    """Refused locally, before any request was made.

    ``problems`` lists each offending item (a phone number, a character) in
    words, so a user interface can show every one of them. ``reason`` is a
    short code a user interface can word in its own language (for numbers:
    ``empty``, ``invalid``, ``landline``, ``service``).
    """

    def __init__(self, message: str, problems: list[str] | None = None, field: str | None = None,
                 reason: str | None = None):
        super().__init__(message)
        self.problems = list(problems or [])
        self.field = field
        self.reason = reason


class TransportError(SmscoError):
    """No connection to the gateway could be made: nothing was sent, safe to retry."""


class AmbiguousSend(SmscoError):
    """A send request left this process and no answer came: it may have gone out.

    Never retry automatically; a second request may be a second SMS.
    """


class RequestRefused(SmscoError):
    """The gateway's web server refused the request with an HTTP 4xx status (e.g. 414 for a
    message too long for a URL): the gateway never read it, so nothing was sent.

    ``http_status`` holds the status, ``reply`` the start of the reply.
    """

    def __init__(self, message: str, reply: str = "", http_status: int | None = None):
        super().__init__(message)
        self.reply = reply
        self.http_status = http_status


class ProtocolError(SmscoError):
    """The gateway answered something we cannot understand.

    ``reply`` holds the reply, truncated to a safe length.
    """

    def __init__(self, message: str, reply: str = "", http_status: int | None = None):
        super().__init__(message)
        self.reply = reply
        self.http_status = http_status


#: Gateway error codes, their meaning in words, and the exception raised.
ERROR_CODES: dict[int, tuple[str, type[GatewayError]]] = {
    2904: ("SMS sending failed", SendFailed),
    2905: ("Invalid username/password combination", AuthError),
    2906: ("Credit exhausted", CreditExhausted),
    2907: ("Gateway unavailable", GatewayUnavailable),
    2908: ("Invalid schedule date format", ScheduleError),
    2909: ("Unable to schedule", ScheduleError),
    2910: ("Username is empty", InvalidRequest),
    2911: ("Password is empty", InvalidRequest),
    2912: ("Recipient is empty", InvalidRequest),
    2913: ("Message is empty", InvalidRequest),
    2914: ("Sender is empty", InvalidRequest),
    2915: ("One or more required fields are empty", InvalidRequest),
}


def error_for_code(code: int) -> GatewayError:
    """Build the exception for a gateway error code (which must be known)."""
    text, cls = ERROR_CODES[code]
    return cls(f"Gateway error {code}: {text}", code=code)


def describe_code(code: int | None) -> str:
    """The meaning of a gateway error code in words ("" when unknown)."""
    if code is None or code not in ERROR_CODES:
        return ""
    return ERROR_CODES[code][0]
