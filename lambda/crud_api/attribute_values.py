"""DynamoDB's attribute values for what the service stores: JSON values, numbers as Decimals.

boto3 has a general type serializer, but importing ``boto3.dynamodb`` imports all of boto3 and,
through it, s3transfer, concurrent.futures and multiprocessing: time at every cold start for a
mapping this small. Numbers follow DynamoDB's rules as boto3's serializer states them: 38
significant digits, nothing rounded, an error (``decimal.DecimalException``) rather than a
changed value.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any

# DynamoDB's number type: what cannot be stored exactly is refused, never rounded.
NUMBERS = decimal.Context(
    Emin=-128,
    Emax=126,
    prec=38,
    traps=[decimal.Clamped, decimal.Overflow, decimal.Inexact, decimal.Rounded, decimal.Underflow],
)


def to_attribute_value(value: Any) -> dict[str, Any]:
    """``value`` (None, a bool, an int or Decimal, a string, a mapping or a list of these) as DynamoDB takes it."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, decimal.Decimal)):
        number = NUMBERS.create_decimal(value)
        if not number.is_finite():
            raise TypeError(f"DynamoDB stores finite numbers only, not {number}")
        return {"N": str(number)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {name: to_attribute_value(child) for name, child in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute_value(child) for child in value]}
    raise TypeError(f"{type(value).__name__} is not a value the service stores")


def from_attribute_value(attribute: Mapping[str, Any]) -> Any:
    """The value an attribute holds: numbers as Decimals, and sets and binary (which only other writers store) as such."""
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        return NUMBERS.create_decimal(value)
    if kind == "M":
        return {name: from_attribute_value(child) for name, child in value.items()}
    if kind == "L":
        return [from_attribute_value(child) for child in value]
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {NUMBERS.create_decimal(number) for number in value}
    if kind == "B":
        return bytes(value)
    if kind == "BS":
        return {bytes(member) for member in value}
    raise TypeError(f"DynamoDB attribute type {kind} is unknown")
