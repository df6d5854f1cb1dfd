"""The API's requests and answers as Pydantic models: they validate, and they are the document.

Request models are strict (no "5" for 5, no unknown fields), so what the
OpenAPI document promises is exactly what is accepted. Two custom formats say
what JSON Schema cannot: ``phone`` (a number as compose accepts it) and
``sms-text`` (a text the gateway accepts, unless transliteration is asked for).
A value that breaks them is refused with 422 naming it, as compose refuses it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..models import State
from ..text_analysis.routes import MAX_TEXT

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
MAX_RECIPIENTS = 1000
MAX_CAMPAIGN_RECIPIENTS = 1000  # more: a contact group
# Ten parts of 153 characters: the default SMSCO_MAX_PARTS. A longer text is refused (422)
# with the configured limit in words; the document states the default one.
MAX_MESSAGE_TEXT = 10 * 153
STATES = Literal["queued", "paused", "sending", "sent", "delivered", "failed", "unknown",
                 "canceled", "skipped"]
assert set(STATES.__args__) == set(State.ALL)

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
                      re.IGNORECASE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER = re.compile(r"[+-]?\d{1,12}")


def _shaped(pattern: re.Pattern, words: str):
    """A check that lets only strings of ``pattern`` through to Pydantic's lax parsing
    (which would also take numbers, and "0" as a date)."""

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(words)
        return value

    return BeforeValidator(check)


#: A date (query strings): YYYY-MM-DD only.
IsoDate = Annotated[date, _shaped(_ISO_DATE, "Write the date as YYYY-MM-DD.")]
#: Integers in a query string: digits only.
# (Constraints before the check, or Pydantic leaves them out of the document.)
QueryId = Annotated[int, Field(ge=1, le=2**31 - 1), _shaped(_INTEGER, "Write a whole number.")]
QueryLimit = Annotated[int, Field(ge=1, le=200), _shaped(_INTEGER, "Write a whole number.")]

def _integral(value: Any) -> Any:
    """JSON Schema counts 1800.0 as an integer; so does the API (but not true or "1800")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An id in a JSON body.
BodyId = Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_integral)]
#: A name: printable, not blank.
Name = Annotated[str, Field(min_length=1, max_length=120,
                            pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$")]

Phone = Annotated[str, Field(
    examples=["599 12 34 56", "+995599123456"],
    json_schema_extra={"format": "phone"},
    description="A phone number as the compose page accepts it: Georgian mobile numbers "
                "as 599 12 34 56 or with +995, others with + and the country code. "
                "Landlines and service numbers are refused (422).")]
SmsText = Annotated[str, Field(
    min_length=1, max_length=MAX_MESSAGE_TEXT, examples=["Your appointment is at 10.30"],
    json_schema_extra={"format": "sms-text"},
    description='The message. The gateway accepts Latin letters, digits, space and . _ - " '
                "only (plus characters your contract adds); others are refused (422, each "
                "named with its position) unless `transliterate` is set.")]
SenderId = Annotated[str, Field(
    pattern=r"^[A-Za-z0-9]{1,11}$", examples=["MyClinic"],
    description="Sender ID agreed with the provider; omit for the account's default.")]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Style = Literal["national", "informal"]
SendAt = Annotated[Annotated[AwareDatetime, _shaped(
    _RFC3339, "Write the time as RFC 3339 with its offset, e.g. 2030-01-31T10:30:00+04:00.")]
    | None, Field(default=None, strict=False, examples=["2030-01-31T10:30:00+04:00"],
    description="When to send, with its time zone (RFC 3339). Omitted or already past: now.")]
Schedule = Annotated[Literal["held", "gateway"], Field(
    default="held",
    description="With `send_at`: `held` keeps it here until then (it can be cancelled); "
                "`gateway` hands it to the gateway now with its time (it cannot).")]


class Strict(BaseModel):
    """A request body: strict types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Answer(BaseModel):
    """An answer body."""

    model_config = ConfigDict(extra="forbid")


# -- problems ----------------------------------------------------------------------


class FieldErrorOut(Answer):
    detail: str
    pointer: str | None = Field(None, description="JSON pointer into the request body")
    parameter: str | None = Field(None, description="query parameter or header")
    value: str | int | float | bool | None = Field(None, description="the refused value")


class Problem(Answer):
    """RFC 9457 problem details; ``errors`` lists each refused field."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldErrorOut] | None = None


# -- messages ----------------------------------------------------------------------


class MessageCreate(Strict):
    """One text to one or many recipients."""

    recipients: list[Phone] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    text: SmsText
    sender: SenderId | None = None
    send_at: SendAt
    schedule: Schedule
    marketing: bool = Field(False, description="Adds the opt-out footer, skips opted-out "
                            "numbers and waits out quiet hours, as campaigns do.")
    transliterate: Style | None = Field(None, description="Turn Georgian, Cyrillic and other "
                                        "letters into Latin ones in this style first.")


class Accepted(Answer):
    id: int
    recipient: str
    state: STATES


class MessagesAccepted(Answer):
    """One id per recipient, in the order given (duplicates sent once)."""

    messages: list[Accepted]
    text: str = Field(description="The text as it will be sent (transliterated, footer added).")
    parts: int
    cost: int = Field(description="Tetri for every recipient not skipped.")


class TimelineEntry(Answer):
    at: datetime
    state: STATES | None
    gateway_status: int | None
    detail: str | None


class MessageOut(Answer):
    id: int
    recipient: str
    text: str
    sender: str | None
    state: STATES
    schedule: Literal["now", "held", "gateway"]
    send_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    gateway_status: int | None
    gateway_status_label: str | None
    credits: int | None
    error: str | None
    campaign_id: int | None
    created_by: str | None
    timeline: list[TimelineEntry] | None = None


class MessageList(Answer):
    messages: list[MessageOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next (older) page.")


class MessageQuery(BaseModel):
    """History's filters."""

    model_config = ConfigDict(extra="ignore")

    state: STATES | None = None
    date_from: IsoDate | None = Field(None, alias="from",
                                      description="Created on or after this local day.")
    date_to: IsoDate | None = Field(None, alias="to",
                                    description="Created on or before this local day.")
    sender: Annotated[str, Field(max_length=11)] | None = None
    recipient: Annotated[str, Field(pattern=r"^[0-9+() -]{1,32}$")] | None = Field(
        None, description="A number written any way; a partial number matches its beginning.")
    campaign: QueryId | None = None
    cursor: QueryId | None = Field(None, description="`next_cursor` of the previous page.")
    limit: QueryLimit = 50


# -- campaigns ---------------------------------------------------------------------


class CampaignRecipient(Strict):
    phone: Phone
    fields: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        default_factory=dict, max_length=20,
        description="Values for the text's placeholders: {name} takes fields.name.")


class CampaignCreate(Strict):
    """A campaign to a list of recipients (with fields) or to a contact group: one of the two."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["recipients"]}, {"required": ["group_id"]}]})

    name: Name
    text: SmsText
    # Absent rather than null: ``None`` defaults keep ``null`` out of the document.
    recipients: list[CampaignRecipient] = Field(  # type: ignore[assignment]
        None, min_length=1, max_length=MAX_CAMPAIGN_RECIPIENTS,
        description="At most 1000; for more, import them into a contact group.")
    group_id: BodyId = None  # type: ignore[assignment]
    sender: SenderId | None = None
    send_at: SendAt
    schedule: Schedule
    marketing: bool = Field(True, description="Adds the opt-out footer and skips opted-out "
                            "numbers.")
    transactional: bool = Field(False, description="Send in quiet hours too.")
    transliterate: Style | None = None

    @model_validator(mode="after")
    def one_source(self) -> CampaignCreate:
        if (self.recipients is None) == (self.group_id is None):
            raise ValueError("Give either recipients or group_id, not both.")
        return self


class CampaignOut(Answer):
    id: int
    name: str
    text: str
    sender: str | None
    status: Literal["running", "paused", "canceled", "finished"]
    marketing: bool
    created_at: datetime
    recipients: int
    counts: dict[str, int]
    credits: int
    percent: int


# -- balance and text ----------------------------------------------------------------


class BalanceOut(Answer):
    balance: str | None = Field(description="Lari, as a decimal string; null before the first "
                                "reading.")
    currency: Literal["GEL"] = "GEL"
    read_at: datetime | None
    low: bool
    alerts: list[Literal["credit", "auth"]] = Field(
        description="Conditions that pause sending: credit exhausted, account rejected.")


class AnalyzeIn(Strict):
    text: Annotated[str, Field(max_length=MAX_TEXT)]
    style: Style = "national"
    footer: bool = Field(False, description="Count the opt-out footer as marketing adds it.")
    placeholders: bool = Field(False, description="Allow {name} placeholders (campaigns).")


class Refused(Answer):
    position: int = Field(description="1-based")
    character: str


class AnalyzeOut(Answer):
    characters: int
    parts: int
    price_per_part: int
    cost_per_recipient: int = Field(description="Tetri")
    refused: list[Refused]
    needs_transliteration: bool
    transliterated: str
    transliterated_parts: int
    footer: str
    placeholders: list[str]


# -- webhook deliveries --------------------------------------------------------------


class AttemptOut(Answer):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(Answer):
    id: int
    event_id: str
    event_type: str
    api_key_id: int
    url: str | None
    state: Literal["pending", "delivered", "failed"]
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None
    created_at: datetime


class DeliveryList(Answer):
    deliveries: list[DeliveryOut]
    next_cursor: int | None


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    state: Literal["pending", "delivered", "failed"] | None = None
    cursor: QueryId | None = None
    limit: QueryLimit = 50
