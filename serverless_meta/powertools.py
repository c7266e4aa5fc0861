"""The Lambda runtime and the AWS-published Powertools layer the handlers run on.

The layer is found through Powertools' public SSM parameter, which CloudFormation
resolves at deploy time: synthesis stays hermetic (no AWS call, no Docker) and the
layer is pinned to the Powertools release the handler code is tested with.
"""

from __future__ import annotations

import functools

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

# The newest runtime whose Python the handler tests run on (make setup builds the venv on it): a
# newer one would run code no test has run, until the build machines have its Python. The layer's
# SSM parameter names the runtime.
RUNTIME = lambda_.Runtime.PYTHON_3_13
NOT_THE_LATEST_RUNTIME = (
    "The functions run on python3.13, the newest runtime whose Python the handler tests run on (CI has no "
    "Python 3.14 yet): a newer runtime would run code no test has run. Lambda supports python3.13; the "
    "runtime moves on with the tests' Python."
)
ARCHITECTURE = lambda_.Architecture.ARM_64
POWERTOOLS_VERSION = "3.37.0"


@functools.cache  # each of the names is a call into aws-cdk-lib; every service asks
def layer_parameter_name(version: str = POWERTOOLS_VERSION) -> str:
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{version}"


def powertools_layer(scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
    """The AWS-published Powertools layer for RUNTIME on ARCHITECTURE, version POWERTOOLS_VERSION."""
    arn = ssm.StringParameter.value_for_string_parameter(scope, layer_parameter_name())
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, arn)
