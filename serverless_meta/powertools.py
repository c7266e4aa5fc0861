"""The Lambda runtime and the AWS-published Powertools layer the handlers run on.

The layer is found through Powertools' public SSM parameter, which CloudFormation
resolves at deploy time: synthesis stays hermetic (no AWS call, no Docker) and the
layer is pinned to the Powertools release the handler code is tested with.
"""

from __future__ import annotations

import functools

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Fn, Stack, Token
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
_REGION_RULE_ID = "ServerlessMetaPowertoolsLayerRegion"
# Where Powertools publishes its layer, and so its SSM parameter: the regions of the layer ARN table
# in its documentation (docs/includes/_layer_homepage_arm64.md of aws-powertools/powertools-lambda-python).
# Elsewhere the parameter does not exist and the deploy fails: pass a layer of your own there.
LAYER_REGIONS = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
        "ca-central-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1",
        "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    }
)
# "Lambda SnapStart is available in all commercial Regions except Asia Pacific (New Zealand) and Asia
# Pacific (Taipei)" (Lambda's developer guide, "Improving startup performance with Lambda SnapStart").
SNAP_START_MISSING_REGIONS = frozenset({"ap-southeast-6", "ap-east-2"})
_NOT_COMMERCIAL = ("cn-", "us-gov-", "us-iso", "eusc-")


def snap_start_available(region: str) -> bool:
    """Whether SnapStart for Python can be turned on in ``region`` (a commercial region that has it)."""
    return region not in SNAP_START_MISSING_REGIONS and not region.startswith(_NOT_COMMERCIAL)


@functools.cache  # each of the names is a call into aws-cdk-lib; every service asks
def layer_parameter_name(version: str = POWERTOOLS_VERSION) -> str:
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{version}"


def powertools_layer(scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
    """The AWS-published Powertools layer for RUNTIME on ARCHITECTURE, version POWERTOOLS_VERSION.

    A stack that names its region was checked at synthesis (``props``); one that does not gets a
    template rule, once, so that a deploy to a region without the layer stops before it changes anything.
    """
    stack = Stack.of(scope)
    if Token.is_unresolved(stack.region) and stack.node.try_find_child(_REGION_RULE_ID) is None:
        CfnRule(
            stack,
            _REGION_RULE_ID,
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_contains(sorted(LAYER_REGIONS), Aws.REGION),
                    assert_description=(
                        "serverless-meta: Powertools publishes its Lambda layer in "
                        f"{len(LAYER_REGIONS)} regions, not this one: deploy to one of them, or pass "
                        "powertools_layer_version=<a layer of your own>"
                    ),
                )
            ],
        )
    arn = ssm.StringParameter.value_for_string_parameter(scope, layer_parameter_name())
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, arn)
