"""Acknowledging a scanner's finding, always with the reason a reviewer reads."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge a cdk-nag ``rule_id`` (or ``Rule[finding]``) on ``scope`` and below it."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def skip_checkov(resource: CfnResource, check_id: str, reason: str) -> None:
    """Skip a checkov check on one resource, in the template metadata where checkov reads it."""
    skips = list((resource.get_metadata("checkov") or {}).get("skip", []))
    skips.append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", {"skip": skips})
