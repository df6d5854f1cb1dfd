"""HTTP client for the smsco.ge SMS gateway.

One ``requests.Session`` with a connection pool sized for several threads and
no retrying adapter: a retried send could be a second SMS. Every failure is
turned into a typed exception from :mod:`smsco.errors` that never carries the
request URL (it holds the password), neither in its text nor along its
``__cause__``/``__context__`` chain.
"""

from __future__ import annotations

import enum
import logging
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError, ReadTimeoutError

from . import phones, text
from .errors import (
    ERROR_CODES,
    AmbiguousSend,
    ProtocolError,
    RequestRefused,
    SmscoError,
    TransportError,
    ValidationError,
    error_for_code,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_BASE_URL = "http://smsco.ge"
SEND_PATH = "/components/com_smsreseller/smsapi2.php"
STATUS_PATH = "/components/com_smsreseller/getstatus.php"
GATEWAY_TIMEZONE = ZoneInfo("Asia/Tbilisi")
SCHEDULE_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_TIMEOUT = (5, 15)
POOL_SIZE = 32
REPLY_EXCERPT = 200

_SENDER_RULE = re.compile(r"[A-Za-z0-9]{1,11}")
_OK_REPLY = re.compile(r"OK\s+(\d+(?:\.\d+)?)\s+([0-9A-Za-z_-]+)", re.IGNORECASE)
_CODE_REPLY = re.compile(r"-?(\d+)")
_NUMBER_REPLY = re.compile(r"-?\d+(?:[.,]\d+)?")


class DeliveryStatus(enum.IntEnum):
    """Delivery status codes returned by the gateway's status call."""

    SENT = 0
    DELIVERED = 1
    IN_PROCESS = 2
    FAILED = 3
    DELETED = 4
    EXPIRED = 5
    REJECTED = 6
    CANCELED = 7

    @property
    def is_final(self) -> bool:
        """True once the status can no longer change."""
        return self not in (DeliveryStatus.SENT, DeliveryStatus.IN_PROCESS)

    @property
    def label(self) -> str:
        """The status in words, as the provider names it."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    DeliveryStatus.SENT: "Sent",
    DeliveryStatus.DELIVERED: "Delivered",
    DeliveryStatus.IN_PROCESS: "In process",
    DeliveryStatus.FAILED: "Failed",
    DeliveryStatus.DELETED: "Deleted",
    DeliveryStatus.EXPIRED: "Expired",
    DeliveryStatus.REJECTED: "Rejected",
    DeliveryStatus.CANCELED: "Canceled",
}


@dataclass(frozen=True)
class SendResult:
    """What the gateway answered to an accepted send: credits used and its ``mes_id``."""

    credits: int
    message_id: str


class _SecretRedactor(logging.Filter):
    """Masks ``password=…`` in log records of the HTTP libraries.

    urllib3 logs every request line, query string included, at DEBUG.
    """

    _PASSWORD_PARAM = re.compile(r"(password=)[^&\s'\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._PASSWORD_PARAM.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR = _SecretRedactor()
for _name in ("urllib3", "urllib3.connectionpool", "urllib3.connection",
              "urllib3.util.retry", "urllib3.response", "urllib3.poolmanager", "requests"):
    if _REDACTOR not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_REDACTOR)


def make_session(base_url: str = DEFAULT_BASE_URL, pool_size: int = POOL_SIZE) -> requests.Session:
    """A session with a pool big enough for several threads and no retries at all.

    Proxy settings are read from the environment once, here: with
    ``trust_env`` on, requests would look them up (and read ``~/.netrc``) on
    every call, which costs more than the gateway's own answer on a LAN.
    """
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    session.trust_env = False
    no_retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0,
                               other=0, raise_on_redirect=False, raise_on_status=False)
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=no_retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def to_gateway_time(moment: datetime) -> datetime:
    """A naive datetime in gateway-local time (naive input is taken as such already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(GATEWAY_TIMEZONE).replace(tzinfo=None)


def format_schedule(when: datetime, now: datetime | None = None) -> str:
    """``when`` as the gateway's ``schedule`` value, in gateway-local time.

    Aware datetimes are converted to Asia/Tbilisi; naive ones are taken as
    gateway-local already. A time in the past is refused locally.
    """
    local = to_gateway_time(when)
    current = to_gateway_time(now or datetime.now(GATEWAY_TIMEZONE))
    if local <= current:
        raise ValidationError(
            f"The scheduled time {local:%Y-%m-%d %H:%M:%S} (Tbilisi) is in the past.",
            field="schedule",
        )
    return local.strftime(SCHEDULE_FORMAT)


def check_sender(sender: str | None) -> str | None:
    """The sender ID if it is at most 11 Latin letters/digits; ``None`` for none."""
    if sender is None or sender == "":
        return None
    if not _SENDER_RULE.fullmatch(sender):
        raise ValidationError(
            f"The sender ID {sender!r} must be 1 to 11 Latin letters or digits.",
            problems=[sender], field="sender",
        )
    return sender


class Client:
    """A client for the smsco.ge gateway.

    >>> client = Client("user", "secret", base_url="http://127.0.0.1:5001")
    >>> client.send("599 44 54 48", "Hello")          # doctest: +SKIP
    SendResult(credits=5, message_id='1000')
    """

    def __init__(self, username: str, password: str, base_url: str = DEFAULT_BASE_URL,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None):
        self.username = username
        self.__password = password
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or make_session(self.base_url)
        # Prepared once per path and copied per call: preparing from scratch
        # re-parses the URL and merges session settings, which costs more than
        # the gateway's own answer over a LAN.
        self._templates = {
            path: self.session.prepare_request(requests.Request("GET", self.base_url + path))
            for path in (SEND_PATH, STATUS_PATH)
        }

    def __repr__(self) -> str:
        return f"Client(username={self.username!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- API calls -------------------------------------------------------

    def send(self, recipients: str | Iterable[str], message: str, sender: str | None = None,
             schedule: datetime | None = None) -> SendResult:
        """Send ``message`` to one or more numbers; raises a typed ``SmscoError``.

        Everything is validated before any request leaves. One request is
        made, so one ``mes_id`` comes back for all recipients.
        """
        numbers = phones.normalize_many(recipients)
        text.check_message(message)
        params = {"recipient": ",".join(numbers), "message": message}
        sender = check_sender(sender)
        if sender:
            params["sender"] = sender
        if schedule is not None:
            params["schedule"] = format_schedule(schedule)
        return self._parse(parse_send_reply, self._call(SEND_PATH, params, is_send=True))

    def balance(self) -> Decimal:
        """The remaining credit, as the gateway reports it."""
        reply = self._call(SEND_PATH, {"balance": "true"}, is_send=False)
        return self._parse(parse_balance_reply, reply)

    def status(self, message_id: str | int) -> DeliveryStatus:
        """The delivery status of a message by its gateway ``mes_id``."""
        message_id = str(message_id).strip()
        if not message_id:
            raise ValidationError("The message ID is empty.", field="message_id")
        reply = self._call(STATUS_PATH, {"mes_id": message_id}, is_send=False)
        return self._parse(parse_status_reply, reply)

    # -- transport ---------------------------------------------------------

    def _call(self, path: str, params: dict[str, str], is_send: bool) -> str:
        """One GET; returns the reply text or raises an error free of secrets."""
        query = {"username": self.username, "password": self.__password, **params}
        request = self._templates[path].copy()
        request.url = f"{request.url}?{urlencode(query)}"
        error: SmscoError | None = None
        try:
            response = self.session.send(request, timeout=self.timeout, allow_redirects=False)
            body = response.content.decode("utf-8", "replace")
        except requests.RequestException as exc:
            error = _transport_error(exc, is_send, self.read_timeout)
        # Raised outside the except block so no exception holding the URL is
        # kept as __context__ of ours.
        if error is not None:
            raise error
        if 400 <= response.status_code < 500:
            # The web server in front of the gateway turned the request away
            # (e.g. 414, a URL too long): the gateway itself never read it.
            raise RequestRefused(
                f"The gateway's web server refused the request (HTTP {response.status_code}); "
                "nothing was sent.",
                reply=self._excerpt(body), http_status=response.status_code,
            )
        if response.status_code != 200:
            raise ProtocolError(
                f"The gateway answered HTTP {response.status_code}.",
                reply=self._excerpt(body), http_status=response.status_code,
            )
        return body

    @property
    def read_timeout(self) -> float:
        """Seconds to wait for an answer once a request has left."""
        return self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout

    def _parse(self, parser: Callable[[str], T], reply: str) -> T:
        """Run a reply parser, masking the password in any reply it quotes."""
        try:
            return parser(reply)
        except ProtocolError as exc:
            exc.reply = self._excerpt(exc.reply)
            raise

    def _excerpt(self, body: str) -> str:
        """The start of a reply, with the password masked should the gateway echo it."""
        excerpt = body[:REPLY_EXCERPT]
        if self.__password:
            excerpt = excerpt.replace(self.__password, "***")
        return excerpt


def _transport_error(exc: requests.RequestException, is_send: bool,
                     read_timeout: float) -> SmscoError:
    """Classify a ``requests`` failure without keeping any of its text (it has the URL)."""
    if _no_connection_made(exc):
        return TransportError("Could not connect to the gateway; nothing was sent.")
    if _timed_out(exc):
        what = f"no answer came within {read_timeout:g} s"
    else:
        what = "the connection was closed without an answer"
    if not is_send:
        return TransportError(f"The gateway did not answer: {what}.")
    return AmbiguousSend(
        f"The send request reached the gateway but {what}; "
        "the message may have been sent. It will not be retried automatically."
    )


def _no_connection_made(exc: requests.RequestException) -> bool:
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.InvalidURL,
                        requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        return True
    return any(isinstance(cause, (NewConnectionError, NameResolutionError))
               for cause in _causes(exc))


def _timed_out(exc: requests.RequestException) -> bool:
    """True when the answer did not come in time (``requests`` wraps a timeout while
    reading the body in a ``ConnectionError``)."""
    return any(isinstance(cause, (requests.Timeout, ReadTimeoutError, socket.timeout))
               for cause in _causes(exc))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: requests wraps urllib3's MaxRetryError, whose ``reason``
    is the root cause."""
    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None:
            return
        yield cause
        cause = getattr(cause, "reason", None) or cause.__cause__ or (
            cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None)


def _clean(reply: str) -> str:
    return reply.strip().lstrip("\ufeff").strip()


def _gateway_error_code(reply: str) -> int | None:
    """The error code if the whole reply is one (``2905`` or ``-2905``)."""
    match = _CODE_REPLY.fullmatch(reply)
    if match and int(match.group(1)) in ERROR_CODES:
        return int(match.group(1))
    return None


def parse_send_reply(reply: str) -> SendResult:
    """``OK <credits> <mes_id>`` → ``SendResult``; an error code → its exception."""
    cleaned = _clean(reply)
    match = _OK_REPLY.match(cleaned)
    if match:
        credits = Decimal(match.group(1))
        return SendResult(credits=int(credits.to_integral_value()), message_id=match.group(2))
    code = _gateway_error_code(cleaned)
    if code is not None:
        raise error_for_code(code)
    raise ProtocolError("The gateway's answer to a send could not be understood; "
                        "the message may have been sent.", reply=cleaned[:REPLY_EXCERPT])


def parse_balance_reply(reply: str) -> Decimal:
    """The balance number; ``-2905``/``2905`` and friends → their exception."""
    cleaned = _clean(reply)
    code = _gateway_error_code(cleaned)
    if code is not None and ("." not in cleaned):
        raise error_for_code(code)
    if _NUMBER_REPLY.fullmatch(cleaned):
        try:
            return Decimal(cleaned.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the regex admits only numbers
            pass
    raise ProtocolError("The gateway's balance answer could not be understood.",
                        reply=cleaned[:REPLY_EXCERPT])


def parse_status_reply(reply: str) -> DeliveryStatus:
    """A status digit 0–7 → ``DeliveryStatus``; an error code → its exception."""
    cleaned = _clean(reply)
    code = _gateway_error_code(cleaned)
    if code is not None:
        raise error_for_code(code)
    if cleaned.isdigit() and int(cleaned) in DeliveryStatus._value2member_map_:
        return DeliveryStatus(int(cleaned))
    raise ProtocolError("The gateway's status answer could not be understood.",
                        reply=cleaned[:REPLY_EXCERPT])
