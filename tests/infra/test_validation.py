"""Bad props fail at construction, naming the construct's path, the prop, what was given and what was expected."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

from serverless_meta import InvalidPropError, ServerlessCrudApi, Worker
from tests.support import ROOT

PATH = "ValidationStack/Service"


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "ValidationStack")


def fails(stack: cdk.Stack, prop: str, given: str, expected: str, **props) -> InvalidPropError:
    """Building ``Service`` with ``props`` raises an InvalidPropError about ``prop`` with these parts."""
    props.setdefault("resource_name", "items")
    with pytest.raises(InvalidPropError) as raised:
        ServerlessCrudApi(stack, "Service", **props)
    error = raised.value
    assert (error.path, error.prop) == (PATH, prop)
    assert re.search(expected, error.expected), error.expected
    message = str(error)
    assert message.startswith(f"{PATH}: {prop} must be ") and message.endswith(f"; got {given}"), message
    return error


def test_an_invalid_prop_error_is_a_value_error_that_reads_as_one_sentence(stack):
    with pytest.raises(ValueError, match=r"^ValidationStack/Service: max_body_bytes must be from 1 to 350000 bytes .*; got 0$"):
        ServerlessCrudApi(stack, "Service", resource_name="items", max_body_bytes=0)


@pytest.mark.parametrize("name", ["", "Metadata", "meta data", "meta#data", "1st", "x" * 64, "meta/data"])
def test_fails_if_resource_name_is_not_a_lower_case_path_segment(stack, name):
    fails(stack, "resource_name", repr(name), "lower-case letters, digits and hyphens", resource_name=name)


def test_fails_if_an_operation_is_unknown(stack):
    fails(stack, "operations", "'patch'", "some of 'create', 'list', 'get', 'update', 'delete'", operations=["create", "patch"])


def test_fails_if_there_are_no_operations(stack):
    fails(stack, "operations", "[]", "at least one operation", operations=[])


@pytest.mark.parametrize(
    "name",
    ["pk", "sk", "data", "createdAt", "updatedAt", "version", "etag", "writtenBy", "writtenIn", "collectionPk", "has space", "", "a-b"],
)
def test_fails_if_id_attribute_is_reserved_or_not_a_plain_name(stack, name):
    fails(stack, "id_attribute", repr(name), "a plain attribute name .* other than collectionPk, collectionSk, createdAt, data, "
          "etag, expiresAt, pk, sk, updatedAt, version, writtenBy, writtenIn, lookup<n>Pk, lookup<n>Sk", id_attribute=name)


def test_fails_if_timestamp_attribute_is_reserved(stack):
    fails(stack, "timestamp_attribute", "'createdAt'", "a plain attribute name", timestamp_attribute="createdAt")


def test_fails_if_timestamp_attribute_is_the_id_attribute(stack):
    fails(stack, "timestamp_attribute", "'id'", "a name other than id_attribute's", timestamp_attribute="id")


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "array"}, "a JSON Schema for an object"),
        ({"properties": {}}, "a JSON Schema for an object"),
        ({"type": "object", "properties": {"n": {"type": "nonsense"}}}, r"a valid JSON Schema \(Unknown type\)"),
    ],
)
def test_fails_if_item_schema_is_not_a_valid_object_schema(stack, schema, expected):
    fails(stack, "item_schema", repr(schema), expected, item_schema=schema)


@pytest.mark.parametrize(("seconds", "given"), [(29, "29 seconds"), (0, "0 seconds")])
def test_fails_if_timeout_is_zero_or_reaches_api_gateways_limit(stack, seconds, given):
    fails(stack, "timeout", given, "under API Gateway's 29 s integration limit", timeout=cdk.Duration.seconds(seconds))


@pytest.mark.parametrize("memory", [127, 10_241])
def test_fails_if_memory_size_is_outside_lambdas_range(stack, memory):
    fails(stack, "memory_size", str(memory), "from 128 to 10240 MiB", memory_size=memory)


def test_fails_if_max_body_bytes_is_not_positive(stack):
    fails(stack, "max_body_bytes", "0", "from 1 to 350000 bytes", max_body_bytes=0)


def test_fails_if_operation_throttling_names_an_operation_not_offered(stack):
    fails(
        stack,
        "operation_throttling",
        "'delete'",
        r"keyed by operations the service offers \('create'\)",
        operations=["create"],
        operation_throttling={"delete": apigateway.ThrottleSettings(rate_limit=1, burst_limit=1)},
    )


@pytest.mark.parametrize("stage_name", ["", "v 1", "prod/x"])
def test_fails_if_the_stage_name_is_not_one_api_gateway_accepts(stack, stage_name):
    fails(stack, "stage_name", repr(stage_name), "letters, digits, hyphens and underscores", stage_name=stage_name)


@pytest.mark.parametrize("origin", ["", "https://a.example.com,https://b.example.com", " https://a.example.com"])
def test_fails_if_a_cors_origin_is_empty_or_holds_a_comma(stack, origin):
    fails(stack, "cors_allow_origins", repr([origin]), "origins such as", cors_allow_origins=[origin])


def _add_health_check_without_authorizer(api: apigateway.RestApi) -> None:
    api.root.add_resource("health").add_method(
        "GET", apigateway.MockIntegration(), authorization_type=apigateway.AuthorizationType.NONE
    )


_UNAUTHORIZED_HEALTH_CHECK = "GET /health has authorization type 'NONE'; every method must use the Cognito"


def test_synthesis_fails_if_a_method_added_later_skips_the_authorizer():
    app = cdk.App()
    service = ServerlessCrudApi(cdk.Stack(app, "LeakyStack"), "Service", resource_name="items")
    _add_health_check_without_authorizer(service.api)

    with pytest.raises(RuntimeError, match=_UNAUTHORIZED_HEALTH_CHECK):
        app.synth()


def test_synthesis_fails_if_a_method_added_between_two_services_on_one_api_skips_the_authorizer():
    """The check reads methods one by one only when some are not the services' own: one added between them counts."""
    app = cdk.App()
    stack = cdk.Stack(app, "LeakyStack")
    host = ServerlessCrudApi(stack, "Host", resource_name="items")
    _add_health_check_without_authorizer(host.api)
    ServerlessCrudApi(stack, "Guest", resource_name="notes", api=host.api, user_pool=host.user_pool)

    with pytest.raises(RuntimeError, match=_UNAUTHORIZED_HEALTH_CHECK):
        app.synth()


def test_synthesis_fails_if_a_services_own_method_is_opened_through_its_escape_hatch():
    """Every method, every time: the count of methods matching the services' own proves nothing."""
    app = cdk.App()
    service = ServerlessCrudApi(cdk.Stack(app, "LeakyStack"), "Service", resource_name="items")
    cfn_method = service.api.root.get_resource("items").node.find_child("GET").node.default_child
    cfn_method.authorization_type = "NONE"

    with pytest.raises(RuntimeError, match="GET /items has authorization type 'NONE'; every method must use the Cognito"):
        app.synth()


@pytest.mark.parametrize("address", ["", "oncall", "on call@example.com", "a@b"])
def test_fails_if_alarm_email_is_not_an_address(stack, address):
    fails(stack, "alarm_email", repr(address), "an email address", alarm_email=address)


def test_fails_if_reserved_concurrency_is_below_one(stack):
    fails(stack, "reserved_concurrency", "0", "at least 1", reserved_concurrency=0)


@pytest.mark.parametrize("days", [0, 36])
def test_fails_if_recovery_period_is_outside_1_to_35_days(stack, days):
    fails(stack, "recovery_period_days", str(days), "from 1 to 35", recovery_period_days=days)


def test_fails_if_replicas_are_asked_of_a_stack_without_a_region(stack):
    fails(stack, "replica_regions", "['us-east-1']", "a stack with a known region", replica_regions=["us-east-1"])


def test_fails_if_a_replica_is_in_the_stacks_own_region():
    stack = cdk.Stack(cdk.App(), "ValidationStack", env=cdk.Environment(region="eu-west-1"))
    fails(stack, "replica_regions", "['eu-west-1']", r"other regions than the stack's own \(eu-west-1\)",
          replica_regions=["eu-west-1"])


def test_fails_if_backups_leave_cold_storage_before_its_90_day_minimum(stack):
    fails(stack, "backup_retention", "35 days", r"at least 90 days after backup_cold_storage_after \(120 days\)",
          backup_cold_storage_after=cdk.Duration.days(30))


@pytest.mark.parametrize("days", [34, 35])
def test_fails_if_a_recovery_period_is_given_for_a_table_made_elsewhere_even_the_default_value(stack, days):
    shared = dynamodb.TableV2.from_table_name(stack, "Shared", "shared")
    fails(stack, "recovery_period_days", str(days), "left out when table= is passed", table=shared,
          recovery_period_days=days)


def test_a_table_made_elsewhere_with_no_recovery_settings_is_fine(stack):
    shared = dynamodb.TableV2.from_table_name(stack, "Shared", "shared")
    ServerlessCrudApi(stack, "Service", resource_name="items", table=shared)


def test_fails_if_replicas_are_given_for_a_table_made_elsewhere(stack):
    shared = dynamodb.TableV2.from_table_name(stack, "Shared", "shared")
    fails(stack, "replica_regions", "('us-east-1',)", "left out when table= is passed", table=shared,
          replica_regions=["us-east-1"])


@pytest.mark.parametrize(
    ("prop", "value", "given"),
    [("backup_retention", cdk.Duration.days(35), "35 days"), ("backup_cold_storage_after", cdk.Duration.days(30), "30 days")],
)
def test_fails_if_backup_settings_are_given_where_no_backup_is_made_even_the_default_value(stack, prop, value, given):
    fails(stack, prop, given, "left out when no backup is made", backup=False, **{prop: value})


def test_fails_if_both_a_new_and_an_existing_web_acl_are_asked_for(stack):
    fails(stack, "web_acl_arn", "'arn:aws:wafv2:...'", "left out with waf=True", waf=True, web_acl_arn="arn:aws:wafv2:...")


def test_fails_if_the_waf_rate_limit_is_below_wafs_minimum(stack):
    fails(stack, "waf_rate_limit", "5", "at least 10", waf=True, waf_rate_limit=5)


@pytest.mark.parametrize("limit", [1000, 500])
def test_fails_if_a_waf_rate_limit_is_given_without_waf_even_the_default_value(stack, limit):
    fails(stack, "waf_rate_limit", str(limit), "left out unless waf=True", waf_rate_limit=limit)


def test_fails_if_operation_groups_name_an_operation_not_offered(stack):
    fails(stack, "operation_groups", "'delete'", r"keyed by operations the service offers \('create', 'list'\)",
          operations=["create", "list"], operation_groups={"delete": ["admins"]})


@pytest.mark.parametrize(
    ("groups", "given", "expected"),
    [
        ("editors", "{'create': 'editors'}", r"a list of names per operation, e.g. \{'create': \['editors'\]\}"),
        ([], "{'create': ()}", "a list of Cognito group names per operation"),
        (["a,b"], "{'create': ('a,b',)}", "no commas or spaces"),
        (["two words"], "{'create': ('two words',)}", "no commas or spaces"),
    ],
)
def test_fails_if_operation_groups_are_not_lists_of_group_names(stack, groups, given, expected):
    fails(stack, "operation_groups", given, expected, operation_groups={"create": groups})


@pytest.mark.parametrize("scope", ["metadata/write", "", 'quote"d'])
def test_fails_if_a_scope_name_is_not_a_bare_oauth_scope(stack, scope):
    fails(stack, "operation_scopes", f"{{'create': ({scope!r},)}}", "a list of OAuth scope names",
          operation_scopes={"create": [scope]})


def test_fails_if_a_machine_client_has_no_scopes_to_ask_for(stack):
    fails(stack, "machine_client", "True", "left out unless operation_scopes names the scopes", machine_client=True)


def test_fails_if_a_machine_client_has_no_domain_to_get_tokens_from(stack):
    # Cognito's token endpoint is the pool's domain: without one, the client's secret is useless.
    fails(stack, "machine_client", "True", "given with cognito_domain_prefix: a machine client gets its tokens from",
          machine_client=True, operation_scopes={"create": ["write"]})


def test_fails_if_a_machine_client_on_another_services_api_has_a_pool_without_a_domain(stack):
    host = ServerlessCrudApi(stack, "Host", resource_name="host")
    fails(stack, "machine_client", "True", "Host made the pool without one", api=host.api,
          machine_client=True, operation_scopes={"create": ["write"]})


def test_a_machine_client_takes_the_domain_of_the_pool_it_shares(stack):
    host = ServerlessCrudApi(stack, "Host", resource_name="host", cognito_domain_prefix="host-tokens")
    ServerlessCrudApi(stack, "Guest", resource_name="guest", api=host.api, machine_client=True,
                      operation_scopes={"create": ["write"]})


@pytest.mark.parametrize("prefix", ["My-Domain", "aws-metadata", "-x", "x" * 64])
def test_fails_if_the_cognito_domain_prefix_is_not_one_cognito_accepts(stack, prefix):
    fails(stack, "cognito_domain_prefix", repr(prefix), "lower-case letters, digits and hyphens",
          cognito_domain_prefix=prefix)


# --- api=: a service on another service's API -------------------------------------------------


@pytest.fixture
def host(stack) -> ServerlessCrudApi:
    return ServerlessCrudApi(stack, "Host", resource_name="host", cors_allow_origins=["https://a.example.com"])


@pytest.mark.parametrize(
    ("prop", "value", "given", "expected"),
    [
        ("stage_name", "v2", "'v2'", r"left out or 'prod', as on the API of ValidationStack/Host \(api=\)"),
        ("cors_allow_origins", ["https://b.example.com"], r"('https://b.example.com',)",
         r"left out or \('https://a.example.com',\), as on the API of ValidationStack/Host"),
        ("throttling", apigateway.ThrottleSettings(rate_limit=1, burst_limit=1), None, "left out or .*, as on the API of"),
    ],
)
def test_fails_if_a_service_on_a_shared_api_sets_the_stage_otherwise(stack, host, prop, value, given, expected):
    error = fails(stack, prop, given or repr(value), expected, api=host.api, **{prop: value})
    assert error.given == (tuple(value) if isinstance(value, list) else value)


def test_fails_if_a_service_on_a_shared_api_has_another_user_pool(stack, host):
    other = cognito.UserPool(stack, "OtherPool")
    error = fails(stack, "user_pool", repr(other), "left out or ValidationStack/Host/UserPool, as on the API of",
                  api=host.api, user_pool=other)
    assert error.given is other


def test_a_service_on_a_shared_api_may_repeat_the_apis_own_settings(stack, host):
    ServerlessCrudApi(stack, "Service", resource_name="items", api=host.api, user_pool=host.user_pool,
                      stage_name="prod", cors_allow_origins=["https://a.example.com"])


@pytest.mark.parametrize(
    ("prop", "value"),
    [("waf", True), ("web_acl_arn", "arn:aws:wafv2:..."), ("cloud_watch_role", False),
     ("usage_plan", apigateway.UsagePlanProps())],
)
def test_fails_if_a_service_on_a_shared_api_sets_up_what_only_its_owner_does(stack, host, prop, value):
    error = fails(stack, prop, repr(value), "left out with api=: the API's stage is set up by ValidationStack/Host",
                  api=host.api, **{prop: value})
    assert error.given == value


def test_fails_if_a_service_on_a_shared_api_takes_a_path_it_already_has(stack, host):
    fails(stack, "resource_name", "'host'", "a path no other service on the API of ValidationStack/Host uses",
          api=host.api, resource_name="host")


def test_fails_if_api_is_not_a_services_api(stack):
    other = apigateway.RestApi(stack, "Plain")
    fails(stack, "api", repr(other), r"the api of another ServerlessCrudApi \(service.api\)", api=other)


def test_fails_if_api_is_a_service_in_another_stack(stack):
    other = ServerlessCrudApi(cdk.Stack(stack.node.scope, "Other"), "Host", resource_name="host")
    fails(stack, "api", "'Other/Host'", r"the api of a ServerlessCrudApi in the same stack \(ValidationStack\)",
          api=other.api)


# --- Provisioned concurrency and SnapStart ----------------------------------------------------


def test_fails_if_provisioned_concurrency_names_an_operation_not_offered(stack):
    fails(stack, "provisioned_concurrency", "'get'", r"keyed by operations the service offers \('create'\)",
          operations=["create"], provisioned_concurrency={"get": 1})


@pytest.mark.parametrize(("environments", "expected"), [(0, "at least 1 and at most"), (21, r"at most reserved_concurrency \(20\)")])
def test_fails_if_provisioned_concurrency_is_none_or_beyond_the_reserved(stack, environments, expected):
    fails(stack, "provisioned_concurrency", f"{{'get': {environments}}}", expected,
          provisioned_concurrency={"get": environments})


def test_provisioned_concurrency_is_unbounded_without_reserved_concurrency(stack):
    ServerlessCrudApi(stack, "Service", resource_name="items", reserved_concurrency=None,
                      provisioned_concurrency={"get": 50})


def test_fails_if_snap_start_names_an_operation_not_offered(stack):
    fails(stack, "snap_start", "'delete'", "keyed by operations the service offers", operations=["get"],
          snap_start=["delete"])


def test_fails_if_an_operation_has_both_provisioned_concurrency_and_snap_start(stack):
    fails(stack, "snap_start", "'get'", "operations without provisioned_concurrency", snap_start=["get"],
          provisioned_concurrency={"get": 1})


# --- A worker ------------------------------------------------------------------------------------

WORKER_CODE = ROOT / "workers" / "feedback"


def _worker(**settings) -> Worker:
    return Worker.from_directory(WORKER_CODE, settings.pop("handler", "feedback_worker.categorize"), **settings)


def test_fails_synthesis_if_the_queue_hides_a_change_for_less_than_six_times_the_workers_timeout(stack):
    error = fails(stack, "worker.visibility_timeout", "2 minutes",
                  r"at least 6 times the worker's timeout \(180 seconds\)",
                  worker=_worker(timeout=Duration.seconds(30), visibility_timeout=Duration.minutes(2)))
    assert "no change is delivered again while it is being worked on" in error.expected


def test_a_visibility_timeout_of_six_times_the_timeout_or_more_is_accepted(stack):
    ServerlessCrudApi(stack, "Service", resource_name="items",
                      worker=_worker(timeout=Duration.seconds(30), visibility_timeout=Duration.minutes(3)))


@pytest.mark.parametrize(
    ("setting", "value", "given", "expected"),
    [
        ("handler", "categorize", "'categorize'", "module.function"),
        ("handler", "feedback worker.categorize", "'feedback worker.categorize'", "module.function"),
        ("timeout", Duration.minutes(16), "16 minutes", "from 1 second to 15 minutes"),
        ("memory_size", 64, "64", "from 128 to 10240 MiB"),
        ("batch_size", 11, "11", r"from 1 to 10 \(the most Lambda reads from a FIFO queue\)"),
        ("max_receive_count", 0, "0", "from 1 to 1000"),
        ("max_concurrency", 1, "1", "from 2 to 1000"),
    ],
)
def test_fails_if_a_worker_setting_is_out_of_range(stack, setting, value, given, expected):
    fails(stack, f"worker.{setting}", given, expected, worker=_worker(**{setting: value}))


def test_fails_if_the_service_offers_no_write_a_worker_could_receive(stack):
    fails(stack, "worker", "'feedback_worker.categorize'", "left out unless the service offers create, update or delete",
          operations=["get", "list"], worker=_worker())


def test_fails_if_an_imported_table_has_no_known_stream(stack):
    table = dynamodb.TableV2.from_table_name(stack, "Imported", "items-table")
    fails(stack, "table", "'items-table'", r"TableV2.from_table_attributes\(..., table_stream_arn=...\)",
          table=table, worker=_worker())


def test_an_imported_table_with_its_stream_is_accepted(stack):
    table = dynamodb.TableV2.from_table_attributes(
        stack, "Imported", table_name="items-table",
        table_stream_arn="arn:aws:dynamodb:eu-west-1:123456789012:table/items-table/stream/2026-01-01T00:00:00.000",
    )
    ServerlessCrudApi(stack, "Service", resource_name="items", table=table, worker=_worker())


@pytest.mark.parametrize(("stream", "shown"), [(None, "off"), (dynamodb.StreamViewType.KEYS_ONLY, "KEYS_ONLY")])
def test_fails_if_a_table_of_yours_streams_no_new_and_old_images(stack, stream, shown):
    table = dynamodb.TableV2(
        stack, "Mine", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING), dynamo_stream=stream,
    )
    fails(stack, "table", "'ValidationStack/Mine'", f"a table with a stream of new and old images .*its stream is {shown}",
          table=table, worker=_worker())


@pytest.mark.parametrize(
    ("prop", "value"),
    [("operations", "list"), ("cors_allow_origins", "https://app.example.com"), ("replica_regions", "us-east-1"),
     ("snap_start", "get")],
)
def test_fails_if_a_list_prop_is_given_one_string_which_would_be_read_letter_by_letter(stack, prop, value):
    fails(stack, prop, repr(value), rf"a list, e.g. \[{value!r}\]", **{prop: value})


def test_fails_if_max_body_bytes_is_more_than_dynamodb_can_keep(stack):
    fails(stack, "max_body_bytes", "350001", "from 1 to 350000 bytes", max_body_bytes=350_001)


def test_fails_if_a_timeout_is_not_whole_seconds(stack):
    fails(stack, "timeout", "1 second 500 millis", "whole seconds", timeout=cdk.Duration.millis(1500))


def _regional_stack(region: str) -> cdk.Stack:
    return cdk.Stack(cdk.App(), "ValidationStack", env=cdk.Environment(account="123456789012", region=region))


def test_fails_if_the_stacks_region_has_no_powertools_layer_and_none_is_passed():
    # ca-west-1 (Calgary) is a commercial region without Powertools' layer or its SSM parameter.
    fails(_regional_stack("ca-west-1"), "powertools_layer_version", "None",
          r"a layer of your own in ca-west-1: Powertools publishes its layer .* in 31 regions")


def test_a_layer_of_your_own_deploys_where_powertools_publishes_none():
    stack = _regional_stack("ca-west-1")
    layer = lambda_.LayerVersion.from_layer_version_arn(stack, "Own", "arn:aws:lambda:ca-west-1:123456789012:layer:pt:1")
    ServerlessCrudApi(stack, "Service", resource_name="items", powertools_layer_version=layer)


@pytest.mark.parametrize("region", ["ap-southeast-6", "us-gov-west-1"])
def test_fails_if_snap_start_is_asked_for_where_lambda_has_none(region):
    stack = _regional_stack(region)
    layer = lambda_.LayerVersion.from_layer_version_arn(stack, "Own", f"arn:aws:lambda:{region}:123456789012:layer:pt:1")
    fails(stack, "snap_start", "['get']", f"left out in {region}: Lambda has no SnapStart there",
          snap_start=["get"], powertools_layer_version=layer)


def test_a_stack_without_a_region_gets_a_rule_that_stops_a_deploy_where_the_layer_is_missing(stack):
    from aws_cdk.assertions import Template

    ServerlessCrudApi(stack, "First", resource_name="first")
    ServerlessCrudApi(stack, "Second", resource_name="second")

    rules = Template.from_stack(stack).to_json()["Rules"]
    (rule,) = [rule for name, rule in rules.items() if name != "CheckBootstrapVersion"]
    (assertion,) = rule["Assertions"]
    regions, region = assertion["Assert"]["Fn::Contains"]
    assert region == {"Ref": "AWS::Region"} and "eu-west-1" in regions and "ca-west-1" not in regions
    assert "powertools_layer_version" in assertion["AssertDescription"]
