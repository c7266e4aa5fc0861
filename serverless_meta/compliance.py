"""Acknowledging a scanner's finding, always with the reason a reviewer reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_ids: str | Sequence[str], reason: str) -> None:
    """Acknowledge cdk-nag rules (``Rule`` or ``Rule[finding]``, one or several) on ``scope`` and below it."""
    rule_ids = [rule_ids] if isinstance(rule_ids, str) else rule_ids
    Validations.of(scope).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))


def skip_checkov(resource: CfnResource, reasons: Mapping[str, str]) -> None:
    """Skip checkov checks on one resource (check id -> reason), in the template metadata where checkov reads it."""
    skips = list((resource.get_metadata("checkov") or {}).get("skip", []))
    skips.extend({"id": check_id, "comment": reason} for check_id, reason in reasons.items())
    resource.add_metadata("checkov", {"skip": skips})
