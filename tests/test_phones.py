"""Georgian phone numbers written every way people write them."""

from __future__ import annotations

import pytest

from smsco import ValidationError
from smsco.phones import normalize, normalize_many, parse_recipients


@pytest.mark.parametrize("raw", [
    "599 44 54 48", "+995 599 44 54 48", "0599445448", "995599445448", "599445448",
    "+995599445448", "00995599445448", "(599) 44-54-48", "599-44-54-48", " 599.44.54.48 ",
    "+995 (599) 445 448",
])
def test_mobile_number_forms(raw):
    assert normalize(raw) == "995599445448"


@pytest.mark.parametrize(("raw", "expected"), [
    ("+7 916 123 45 67", "79161234567"),     # a Russian mobile stays Russian
    ("+1 202 555 0143", "12025550143"),
])
def test_other_numbers(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "reason"), [
    ("032 2 12 34 56", "landline"),          # Tbilisi landline with trunk zero
    ("0322123456", "landline"),
    ("+995 322 12 34 56", "landline"),
    ("+44 20 7946 0958", "landline"),        # a London landline
    ("800 12 34 56", "service"),             # Georgian toll-free
])
def test_numbers_that_cannot_receive_sms_are_refused_with_their_reason(raw, reason):
    with pytest.raises(ValidationError, match="cannot receive SMS") as caught:
        normalize(raw)
    assert caught.value.reason == reason


def test_a_landline_in_a_list_is_one_invalid_entry_with_its_reason():
    parsed = parse_recipients("599 44 54 48, 032 2 12 34 56 555 12 34 56")
    assert parsed.valid == ["995599445448", "995555123456"]
    assert parsed.invalid == ["032 2 12 34 56"]
    assert parsed.reasons == {"032 2 12 34 56": "landline"}


@pytest.mark.parametrize("raw", ["12345", "abc", "599 44 54", "+995 999 99 99 99", "", "   "])
def test_invalid_numbers(raw):
    with pytest.raises(ValidationError):
        normalize(raw)


def test_lists_split_on_comma_space_and_newline_and_drop_duplicates():
    parsed = parse_recipients("599445448, 555123456\n+995 599 44 54 48;577 11 22 33 bogus")
    assert parsed.valid == ["995599445448", "995555123456", "995577112233"]
    assert parsed.duplicates == ["+995 599 44 54 48"]
    assert parsed.invalid == ["bogus"]


def test_space_separated_numbers():
    assert normalize_many("599445448 555123456 577112233") == [
        "995599445448", "995555123456", "995577112233"]


def test_normalize_many_names_every_invalid_entry():
    with pytest.raises(ValidationError) as info:
        normalize_many(["599445448", "12", "hello"])
    assert info.value.problems == ["12", "hello"]
    assert "'12'" in str(info.value) and "'hello'" in str(info.value)


def test_normalize_many_refuses_an_empty_list():
    with pytest.raises(ValidationError, match="No recipient"):
        normalize_many(" , \n")
