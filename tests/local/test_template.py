"""Reading templates: intrinsic functions resolved where they can be, a warning naming what cannot, code found by asset."""

from __future__ import annotations

import json
from pathlib import Path

from serverless_meta.local.model import Asset
from serverless_meta.local.template import read_app


def _function(variables: dict, **properties) -> dict:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Runtime": "python3.12", "Handler": "app.handler", "Environment": {"Variables": variables},
                       **properties},
        "Metadata": {"aws:cdk:path": "Stack/Fn/Resource", "aws:asset:path": "src", "aws:asset:property": "Code"},
    }


def _read(resources: dict, tmp_path: Path, **template) -> object:
    (tmp_path / "src").mkdir(exist_ok=True)
    return read_app({"Stack": ({"Resources": resources, **template}, "eu-west-1")}, tmp_path)


def test_select_split_sub_with_variables_and_conditions_are_resolved(tmp_path):
    app = _read(
        {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "items", "KeySchema": [],
                                                                   "AttributeDefinitions": []}},
            "Fn": _function({
                "SECOND": {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]},
                "ARN_TAIL": {"Fn::Select": ["1", {"Fn::Split": ["/", {"Fn::GetAtt": ["Table", "Arn"]}]}]},
                "SUB": {"Fn::Sub": ["${Name}-${AWS::Region}-${!Literal}", {"Name": {"Ref": "Table"}}]},
                "STAGE": {"Fn::If": ["IsProd", "prod", "dev"]},
                "FROM_PARAMETER": {"Ref": "Mode"},
            }),
        },
        tmp_path,
        Parameters={"Mode": {"Type": "String", "Default": "fast"}},
        Conditions={"IsProd": {"Fn::Equals": [{"Ref": "Mode"}, "fast"]}},
    )

    assert app.functions["Stack/Fn"].environment == {
        "SECOND": "b", "ARN_TAIL": "items", "SUB": "items-eu-west-1-${Literal}", "STAGE": "prod", "FROM_PARAMETER": "fast",
    }
    assert app.warnings == []


def test_an_import_from_another_stack_of_the_app_is_resolved(tmp_path):
    (tmp_path / "src").mkdir()
    exporter = {"Resources": {}, "Outputs": {"Out": {"Value": "shared-value", "Export": {"Name": "SharedName"}}}}
    importer = {"Resources": {"Fn": _function({"SHARED": {"Fn::ImportValue": "SharedName"}})}}

    app = read_app({"Exporter": (exporter, "eu-west-1"), "Stack": (importer, "eu-west-1")}, tmp_path)

    assert app.functions["Stack/Fn"].environment == {"SHARED": "shared-value"}


def test_what_cannot_be_resolved_is_left_out_with_a_warning_that_names_resource_and_property(tmp_path):
    app = _read(
        {"Fn": _function({"KEPT": "plain", "IMPORTED": {"Fn::ImportValue": "ElsewhereExport"},
                          "UNKNOWN": {"Fn::GetAtt": ["NotHere", "Arn"]}})},
        tmp_path,
    )

    assert app.functions["Stack/Fn"].environment == {"KEPT": "plain"}, "never JSON text in a variable"
    assert len(app.warnings) == 2
    imported = next(w for w in app.warnings if "IMPORTED" in w)
    assert imported.startswith("Stack/Fn Environment.Variables.IMPORTED: Fn::ImportValue 'ElsewhereExport'")
    assert "left out" in imported


def test_without_asset_metadata_the_code_is_found_through_the_assets_manifest(tmp_path):
    (tmp_path / "asset.abc123").mkdir()
    function = {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "python3.12", "Handler": "app.handler",
        "Code": {"S3Bucket": {"Fn::Sub": "cdk-assets-${AWS::AccountId}-${AWS::Region}"}, "S3Key": "abc123.zip"}}}
    assets = {"abc123.zip": Asset(tmp_path / "asset.abc123", "zip")}

    app = read_app({"Stack": ({"Resources": {"Fn": function}}, "eu-west-1")}, tmp_path, assets)

    assert app.functions["Stack/Fn"].code_dir == tmp_path / "asset.abc123"
    assert app.functions["Stack/Fn"].unavailable is None


def test_a_function_that_cannot_run_locally_says_why(tmp_path):
    resources = {
        "Inline": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler", "Code": {"ZipFile": "def handler(e, c): pass"}}},
        "Elsewhere": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "app.handler", "Code": {"S3Bucket": "b", "S3Key": "unknown.zip"}}},
        "Node": {**_function({}), "Properties": {"Runtime": "nodejs22.x", "Handler": "index.handler"}},
    }

    app = _read(resources, tmp_path)

    reasons = {key: function.unavailable for key, function in app.functions.items()}
    assert "inline code (ZipFile)" in reasons["Stack/Inline"]
    assert "not an asset of this cloud assembly" in reasons["Stack/Elsewhere"]
    assert "nodejs22.x is not emulated" in reasons["Stack/Node"]


def test_reserved_concurrency_is_read(tmp_path):
    app = _read({"Fn": _function({}, ReservedConcurrentExecutions=4)}, tmp_path)

    assert app.functions["Stack/Fn"].reserved_concurrency == 4


def test_a_function_that_cannot_run_is_named_at_startup_and_its_route_is_a_502_not_a_500(tmp_path, caplog):
    from serverless_meta.local.cognito import LocalUserPools
    from serverless_meta.local.gateway import HttpRequest, LocalGateway
    from serverless_meta.local.server import _runners

    resources = {
        "Inline": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler", "Code": {"ZipFile": "def handler(e, c): pass"}}},
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api"}},
        "Get": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "HttpMethod": "GET",
            "AuthorizationType": "NONE",
            "Integration": {"Type": "AWS_PROXY", "Uri": {"Fn::Join": ["", [{"Fn::GetAtt": ["Inline", "Arn"]}]]}}}},
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "dev"}},
    }
    app = read_app({"Stack": ({"Resources": resources}, "eu-west-1")}, tmp_path)

    with caplog.at_level("WARNING", logger="serverless_meta.local"):
        runners = _runners(app.functions, (), None)
    gateway = LocalGateway(app.apis, app.functions, {}, LocalUserPools(app.user_pools, tmp_path))
    response = gateway.handle(HttpRequest("GET", "/dev/", [], b""))

    assert runners == {}
    assert "Stack/Inline will not run locally: it has inline code (ZipFile), not a directory asset" in caplog.text
    assert (response.status, response.function) == (502, "Stack/Inline")


def _pipe_app(tmp_path: Path, source_parameters: dict) -> object:
    return _read(
        {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
                "TableName": "items", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"}}},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Pipe": {"Type": "AWS::Pipes::Pipe", "Metadata": {"aws:cdk:path": "Stack/Pipe"}, "Properties": {
                "RoleArn": "arn:aws:iam::000000000000:role/pipe",
                "Source": {"Fn::GetAtt": ["Table", "StreamArn"]}, "Target": {"Fn::GetAtt": ["Queue", "Arn"]},
                "SourceParameters": source_parameters}},
        },
        tmp_path,
    )


def test_a_pipe_whose_filter_pipes_would_refuse_does_not_run_and_startup_says_why(tmp_path):
    """moto matches patterns as an event bus does; a pipe takes fewer operators, and CreatePipe refuses the rest."""
    refused = json.dumps({"dynamodb": {"Keys": {"pk": {"S": [{"anything-but": {"prefix": "internal#"}}]}}}})
    app = _pipe_app(tmp_path, {"DynamoDBStreamParameters": {"StartingPosition": "LATEST"},
                               "FilterCriteria": {"Filters": [{"Pattern": refused}]}})

    assert app.pipes == []
    (warning,) = app.warnings
    assert warning.startswith("Stack/Pipe does not run: EventBridge Pipes would refuse it")
    assert "does not support anything-but with prefix" in warning


def test_a_pipe_to_a_queue_reading_more_than_ten_records_a_batch_does_not_run(tmp_path):
    app = _pipe_app(tmp_path, {"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 100}})

    assert app.pipes == [] and "a batch size of 100, where an SQS target takes at most 10" in app.warnings[0]


def test_a_pipe_with_filters_pipes_takes_runs_with_its_region_resolved(tmp_path):
    pattern = {"Fn::Join": ["", ['{"dynamodb":{"NewImage":{"$or":[{"at":{"S":["', {"Ref": "AWS::Region"},
                                 '"]}},{"at":{"S":[{"exists":false}]}}]}}}']]}
    app = _pipe_app(tmp_path, {"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10},
                               "FilterCriteria": {"Filters": [{"Pattern": pattern}]}})

    (pipe,) = app.pipes
    assert json.loads(pipe.filters[0])["dynamodb"]["NewImage"]["$or"][0] == {"at": {"S": ["eu-west-1"]}}
    assert app.warnings == []


def _validated_api(tmp_path: Path, validator: dict, models: dict, request_models: dict) -> object:
    method = {"RestApiId": {"Ref": "Api"}, "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "HttpMethod": "POST",
              "AuthorizationType": "NONE", "Integration": {"Type": "MOCK"}, "RequestValidatorId": {"Ref": "Validator"},
              "RequestModels": request_models, "RequestParameters": {"method.request.querystring.page": True,
                                                                     "method.request.header.X-Optional": False}}
    resources = {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api"}},
        "Post": {"Type": "AWS::ApiGateway::Method", "Metadata": {"aws:cdk:path": "Stack/Api/Default/POST/Resource"},
                 "Properties": method},
        "Validator": {"Type": "AWS::ApiGateway::RequestValidator", "Properties": {"RestApiId": {"Ref": "Api"}, **validator}},
        **{name: {"Type": "AWS::ApiGateway::Model", "Properties": {"RestApiId": {"Ref": "Api"}, **props}}
           for name, props in models.items()},
    }
    return _read(resources, tmp_path)


def test_a_methods_models_are_read_by_name_as_its_validator_asks_with_the_apis_built_in_empty_model(tmp_path):
    item = {"type": "object", "required": ["name"]}
    app = _validated_api(
        tmp_path,
        {"ValidateRequestBody": True, "ValidateRequestParameters": "false"},
        {"ItemModel": {"Schema": json.dumps(item), "ContentType": "application/json"}},
        {"application/json": {"Ref": "ItemModel"}, "$default": "Empty"},
    )

    (method,) = app.apis[0].resources["/"].values()
    assert method.body_models == {"application/json": item, "$default": {
        "$schema": "http://json-schema.org/draft-04/schema#", "title": "Empty Schema", "type": "object"}}
    assert method.required_parameters == (), "the validator does not validate parameters"
    assert app.warnings == []


def test_a_model_local_mode_cannot_validate_against_is_named_at_startup_and_validates_nothing(tmp_path):
    reference = {"$ref": {"Fn::Join": ["", ["https://apigateway.amazonaws.com/restapis/", {"Ref": "Api"}, "/models/Item"]]}}
    app = _validated_api(
        tmp_path,
        {"ValidateRequestBody": True, "ValidateRequestParameters": True},
        {"Broken": {"Schema": {"type": "no-such-type"}}, "Linked": {"Schema": reference},
         "Remote": {"Schema": {"$ref": "https://apigateway.amazonaws.com/restapis/abc/models/Item"}}},
        {"application/json": {"Ref": "Broken"}, "application/xml": {"Ref": "Linked"}, "text/plain": "Missing"},
    )

    (method,) = app.apis[0].resources["/"].values()
    assert method.body_models == {}
    assert method.required_parameters == ("method.request.querystring.page",)
    assert [warning.split(":")[0] for warning in app.warnings] == [
        "Stack/Broken Schema", "Stack/Linked Schema", "Stack/Remote Schema",
        *["Stack/Api/Default/POST RequestModels"] * 3,
    ]
    assert "is not JSON Schema draft 4" in app.warnings[0] and "a $ref to another model" in app.warnings[1]
    assert "refers to another model ($ref), which local mode does not follow" in app.warnings[2]
