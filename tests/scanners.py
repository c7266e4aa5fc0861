"""The security scanners, run the way a reviewer runs them, returning what they found."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

from tests.support import ROOT

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# cfn-lint warnings that aws-cdk-lib itself causes, not our code: W3005, CDK adds a DependsOn on
# a function's role (and its policy) beside the GetAtt of the role, for every Lambda function.
CDK_OWN_WARNINGS = {"W3005"}


def nag_violations(assembly_dir: Path) -> list[str]:
    """cdk-nag's unacknowledged findings (errors and warnings) in a synthesized assembly."""
    report = json.loads((assembly_dir / "validation-report.json").read_text())
    return [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def checkov(template: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """checkov's failed checks, and its skipped checks with their reasons, on a CloudFormation template."""
    if not CHECKOV.exists():
        raise RuntimeError(f"{CHECKOV} is missing: `make test` (or `make .venv-checkov/.installed`) installs checkov in a venv of its own")
    completed = subprocess.run(
        [str(CHECKOV), "-f", str(template), "--framework", "cloudformation", "--skip-download", "--output", "json"],
        capture_output=True, text=True, timeout=600,
    )
    if completed.returncode not in (0, 1):  # 1: some check failed
        raise RuntimeError(f"checkov failed to run: {completed.stderr[-2000:]}")
    results = json.loads(completed.stdout)["results"] if completed.stdout.strip() else {}
    failed = [f"{c['check_id']} {c['resource']}" for c in results.get("failed_checks", [])]
    skipped = [(f"{c['check_id']} {c['resource']}", c.get("check_result", {}).get("suppress_comment", ""))
               for c in results.get("skipped_checks", [])]
    return failed, skipped


def cfn_lint(template: Path) -> list[str]:
    """cfn-lint's errors and warnings, but for the ones aws-cdk-lib causes."""
    matches = lint_file(template, ManualArgs(regions=["us-east-1", "eu-west-1"]))
    return [
        f"{m.rule.id} {m.message} ({m.path_string})"
        for m in matches
        if m.rule.id[0] in "EW" and m.rule.id not in CDK_OWN_WARNINGS
    ]
