"""Acknowledging a scanner's finding, always with the reason a reviewer reads."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge ``rule_id`` (a cdk-nag rule, or ``Rule[finding]``) on ``scope`` and below it."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
