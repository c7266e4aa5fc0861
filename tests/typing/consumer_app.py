"""What a consumer's typed app writes, as mypy (strict) must accept it: tests/architecture/test_types.py
checks this file with the library (pyproject.toml's [tool.mypy] files). Never run."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway

from serverless_meta import Operation, ServerlessCrudApi

stack = cdk.Stack(cdk.App(), "Consumer")
editors: dict[str, list[str]] = {"create": ["editors"], "update": ["editors"]}
warm: dict[Operation, int] = {Operation.GET: 2}
ServerlessCrudApi(
    stack,
    "Metadata",
    resource_name="metadata",
    operation_groups=editors,
    operation_scopes={"get": ["read"]},
    provisioned_concurrency=warm,
    operation_throttling={"create": apigateway.ThrottleSettings(rate_limit=5, burst_limit=5)},
)
