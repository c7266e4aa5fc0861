"""Edge protection for a service's API: a WAF web ACL in front of its stage."""

from __future__ import annotations

from aws_cdk import ArnFormat, Names, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from serverless_meta import defaults
from serverless_meta.compliance import acknowledge
from serverless_meta.props import ServiceProps

# AWS's managed rule groups, in priority order: common exploits (OWASP top 10), known bad
# inputs (e.g. Log4j), and IP addresses Amazon's threat intelligence reports.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


def build_edge(
    scope: Construct, props: ServiceProps, *, api: apigateway.RestApi, key: kms.IKey
) -> wafv2.CfnWebACL | None:
    """A new, logged web ACL (``waf=True``) or an existing one (``web_acl_arn``) before the stage.

    Returns the new web ACL, if one was made. A service on another's API (``api=``) is behind that API's.
    """
    if props.api.shared_api is not None:
        return None
    edge = props.edge
    acl = _web_acl(scope, "WebAcl", rate_limit=edge.waf_rate_limit or defaults.WAF_RATE_LIMIT) if edge.waf else None
    if acl is not None:
        _log_web_acl(scope, acl, key=key, retention=props.functions.log_retention)
    acl_arn = acl.attr_arn if acl is not None else edge.web_acl_arn
    if acl_arn is not None:
        wafv2.CfnWebACLAssociation(
            scope, "WebAclAssociation", resource_arn=api.deployment_stage.stage_arn, web_acl_arn=acl_arn
        )
    else:
        acknowledge(
            api,
            "AwsSolutions-APIG3",
            "WAF is opt-in (waf=True, or web_acl_arn for an organisation's own ACL): a web ACL is billed per "
            "ACL, rule and request. Stage throttling and the Cognito authorizer on every method bound abuse.",
        )
    return acl


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


def _web_acl(scope: Construct, construct_id: str, *, rate_limit: int) -> wafv2.CfnWebACL:
    """A regional web ACL: the managed rule groups, then a per-IP rate limit per 5 minutes."""
    rules = [
        wafv2.CfnWebACL.RuleProperty(
            name=group,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS",
                    name=group,
                    # The common set blocks bodies over 8 KB; the handlers enforce max_body_bytes instead.
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name="SizeRestrictions_BODY",
                            action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                        )
                    ]
                    if group == "AWSManagedRulesCommonRuleSet"
                    else None,
                )
            ),
            visibility_config=_visibility(group),
        )
        for priority, group in enumerate(MANAGED_RULE_GROUPS)
    ]
    rules.append(
        wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerIp",
            priority=len(MANAGED_RULE_GROUPS),
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP", limit=rate_limit, evaluation_window_sec=300
                )
            ),
            visibility_config=_visibility("RateLimitPerIp"),
        )
    )
    return wafv2.CfnWebACL(
        scope,
        construct_id,
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility(scope.node.id),
        rules=rules,
    )


def _log_web_acl(scope: Construct, acl: wafv2.CfnWebACL, *, key: kms.IKey, retention: logs.RetentionDays) -> logs.LogGroup:
    """What the web ACL blocks and counts, in a log group of its own, without the callers' tokens."""
    stack = Stack.of(scope)
    name = f"aws-waf-logs-{Names.unique_resource_name(scope, separator='-', max_length=100)}"  # WAF's required prefix
    log_group = logs.LogGroup(scope, "WebAclLogs", log_group_name=name, retention=retention, encryption_key=key)
    logging = wafv2.CfnLoggingConfiguration(
        scope,
        "WebAclLogging",
        resource_arn=acl.attr_arn,
        # WAF wants the log group's ARN without the ":*" that LogGroup.log_group_arn ends with.
        log_destination_configs=[
            stack.format_arn(
                service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
            )
        ],
        redacted_fields=[
            wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "authorization"}),
            wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "x-api-key"}),
        ],
    )
    logging.node.add_dependency(log_group)
    return log_group
