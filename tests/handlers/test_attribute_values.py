"""The handler's DynamoDB attribute values are boto3's: items written by earlier versions (through boto3) read the same."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from crud_api.attribute_values import from_attribute_value, to_attribute_value

STORED_VALUES = [
    None,
    True,
    False,
    0,
    -7,
    12345678901234567890123456789012345678,
    Decimal("1.5"),
    Decimal("9.5E+125"),
    Decimal("2.5E-7"),
    Decimal("-0.000"),
    "",
    "text with ünïcode and \U0001f600",
    {},
    [],
    {"page": "home", "columns": 3, "nested": {"list": [1, "two", None, {"deep": [Decimal("0.1")]}]}},
    ("a", 1),
]


@pytest.mark.parametrize("value", STORED_VALUES, ids=repr)
def test_values_are_stored_as_boto3_stores_them(value):
    assert to_attribute_value(value) == TypeSerializer().serialize(value)


@pytest.mark.parametrize("value", STORED_VALUES, ids=repr)
def test_stored_values_read_as_boto3_reads_them(value):
    stored = TypeSerializer().serialize(value)

    assert from_attribute_value(stored) == TypeDeserializer().deserialize(stored)


def test_sets_and_binary_written_by_other_writers_read_as_boto3_reads_them():
    for stored in ({"SS": ["a", "b"]}, {"NS": ["1", "2.5"]}, {"B": b"\x00\x01"}, {"BS": [b"\x00", b"\x01"]}):
        assert from_attribute_value(stored) == TypeDeserializer().deserialize(stored)


@pytest.mark.parametrize(
    "number",
    [123456789012345678901234567890123456789, Decimal("0.123456789012345678901234567890123456789"), Decimal("1E+130")],
)
def test_a_number_dynamodb_cannot_hold_exactly_is_refused_not_rounded(number):
    with pytest.raises(decimal.DecimalException):
        to_attribute_value(number)
    with pytest.raises(decimal.DecimalException):
        TypeSerializer().serialize(number)


@pytest.mark.parametrize("value", [1.5, b"bytes", {"a"}, Decimal("NaN"), Decimal("Infinity")], ids=repr)
def test_a_value_outside_json_is_a_type_error(value):
    with pytest.raises(TypeError):
        to_attribute_value(value)
