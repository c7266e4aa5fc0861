"""Acknowledging a scanner's finding, always with the reason a reviewer reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_ids: str | Sequence[str], reason: str) -> None:
    """Acknowledge cdk-nag rules (``Rule`` or ``Rule[finding]``, one or several) on ``scope`` and below it."""
    acknowledge_each(scope, {rule_ids if isinstance(rule_ids, str) else tuple(rule_ids): reason})


def acknowledge_each(scope: IConstruct, reasons: Mapping[str | tuple[str, ...], str]) -> None:
    """Acknowledge rules on ``scope``, each with its own reason (rule or rules -> reason), in one call.

    Each call into aws-cdk-lib costs about a millisecond of synthesis; a construct with several
    findings has them acknowledged together.
    """
    Validations.of(scope).acknowledge(
        *(
            Acknowledgment(id=rule_id, reason=reason)
            for rule_ids, reason in reasons.items()
            for rule_id in ((rule_ids,) if isinstance(rule_ids, str) else rule_ids)
        )
    )


def skip_checkov(resource: CfnResource, reasons: Mapping[str, str]) -> None:
    """Skip checkov checks on one resource (check id -> reason), in the template metadata where checkov reads it."""
    skips = list((resource.get_metadata("checkov") or {}).get("skip", []))
    skips.extend({"id": check_id, "comment": reason} for check_id, reason in reasons.items())
    resource.add_metadata("checkov", {"skip": skips})
