"""Why a message failed or is unknown, and what the operator can do about it.

The gateway says only a status code (Failed, Expired, Rejected…) or an error
code (2904…). Operators need the likely cause and the next step, worded the
same on the message page, in history and in a campaign's failure breakdown.
``failure_cause`` reads both codes from a message; ``Cause.key`` groups
messages by cause for breakdowns.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from smsco import DeliveryStatus


@dataclass(frozen=True)
class Cause:
    """A likely cause in words and what to do next."""

    key: str
    title: LazyString
    advice: LazyString


_BY_STATUS = {
    DeliveryStatus.FAILED: Cause(
        "status-3", _l("The mobile operator could not deliver it"),
        _l("The number may be disconnected or unable to take SMS. Check the number with the "
           "recipient before resending.")),
    DeliveryStatus.DELETED: Cause(
        "status-4", _l("Deleted at the gateway"),
        _l("The gateway removed the message before delivery. Resend it if it is still needed.")),
    DeliveryStatus.EXPIRED: Cause(
        "status-5", _l("Expired: the phone was unreachable"),
        _l("The phone was off or out of coverage for the whole validity period. Resend later.")),
    DeliveryStatus.REJECTED: Cause(
        "status-6", _l("Rejected by the mobile operator"),
        _l("The operator refused the number or the sender ID. Check that the sender ID is agreed "
           "with smsco.ge and the number is a mobile number.")),
    DeliveryStatus.CANCELED: Cause(
        "status-7", _l("Canceled at the gateway"),
        _l("The gateway canceled the message before delivery. Resend it if it is still needed.")),
}

_BY_CODE = {
    2904: Cause("code-2904", _l("The gateway refused to send it"),
                _l("The gateway accepted the request but could not send it. Check the number and "
                   "the sender ID, then resend.")),
    2905: Cause("code-2905", _l("The gateway rejected our account"),
                _l("The gateway username or password is wrong. An administrator must fix the "
                   "account settings.")),
    2906: Cause("code-2906", _l("Credit exhausted"),
                _l("Top up the smsco.ge balance; waiting messages go out by themselves.")),
    2907: Cause("code-2907", _l("The gateway was unavailable"),
                _l("Nothing was sent. Resend when the gateway is back.")),
    2908: Cause("code-2908", _l("The schedule time was refused"),
                _l("Choose the send time again and resend.")),
    2909: Cause("code-2909", _l("The gateway could not schedule it"),
                _l("Send it now or hold it here instead of scheduling at the gateway.")),
}
_EMPTY_FIELD = Cause("code-2910", _l("The gateway said a required field was empty"),
                     _l("Check the sender ID and the message text, then resend."))
_REFUSED = Cause("refused", _l("The gateway refused the request"),
                 _l("Nothing was sent. Check the message and the sender ID, then resend."))
_UNKNOWN = Cause("unknown", _l("It may or may not have been sent"),
                 _l("The gateway did not answer or no final status arrived. Ask the recipient "
                    "before resending, so nobody gets it twice."))


def failure_cause(state: str, gateway_status: int | None, error_code: int | None) -> Cause | None:
    """The cause of a failed or unknown message (None for every other state)."""
    if state == "unknown":
        return _UNKNOWN
    if state != "failed":
        return None
    if gateway_status is not None:
        try:
            return _BY_STATUS.get(DeliveryStatus(gateway_status), _REFUSED)
        except ValueError:
            return _REFUSED
    if error_code in _BY_CODE:
        return _BY_CODE[error_code]
    if error_code is not None and 2910 <= error_code <= 2915:
        return _EMPTY_FIELD
    return _REFUSED


def message_cause(message) -> Cause | None:
    """``failure_cause`` of a message row."""
    return failure_cause(message.state, message.gateway_status, message.error_code)
