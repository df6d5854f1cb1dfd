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
    ("032 2 12 34 56", "995322123456"),      # Tbilisi landline with trunk zero
    ("+7 916 123 45 67", "79161234567"),     # a Russian mobile stays Russian
    ("+1 202 555 0143", "12025550143"),
])
def test_other_numbers(raw, expected):
    assert normalize(raw) == expected


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
