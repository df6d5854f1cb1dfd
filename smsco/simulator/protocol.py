"""The gateway's HTTP surface: its paths, the reply type, error replies, query parsing."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from ..errors import ERROR_CODES

SEND_PATH = "/components/com_smsreseller/smsapi2.php"
STATUS_PATH = "/components/com_smsreseller/getstatus.php"
CONTROL_PREFIX = "/_simulator/"


@dataclass(frozen=True)
class Reply:
    """One HTTP reply: status, body and content type."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


NOT_FOUND = Reply(404, "Not Found")


def error(code: int) -> Reply:
    """A gateway error reply: the bare code, as the real gateway sends it."""
    assert code in ERROR_CODES, code
    return Reply(200, str(code))


def parse_query(query: str) -> dict[str, str]:
    """Query or form parameters as a dict."""
    # The last of repeated parameters wins, as in PHP's $_GET.
    return dict(parse_qsl(query, keep_blank_values=True, errors="replace"))
