"""Intrinsic functions resolve against a symbol table built before anything is read: the order of a
template's resources, and the order local mode reads their kinds in, never change what a value is."""

from __future__ import annotations

import pytest

from serverless_meta.local.intrinsics import Intrinsics, Unresolved
from serverless_meta.local.template import read_app


def _intrinsics(resources: dict, warnings: list[str] | None = None, **template) -> Intrinsics:
    return Intrinsics("Stack", {"Resources": resources, **template}, "eu-west-1", {}, [] if warnings is None else warnings)


def test_a_ref_and_an_attribute_of_resources_defined_later_resolve_as_when_defined_first():
    resources = {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"API": {"Ref": "Api"}}}}},
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}},
    }
    intrinsics = _intrinsics(resources)

    assert intrinsics.resolve({"Ref": "Api"}) == _intrinsics(dict(reversed(resources.items()))).resolve({"Ref": "Api"})
    assert intrinsics.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:eu-west-1:000000000000:jobs"
    assert intrinsics.resolve({"Fn::Sub": "${Queue.QueueName}@${Queue}"}) == (
        "jobs@https://sqs.eu-west-1.amazonaws.com/000000000000/jobs"
    )


def test_an_api_url_resolves_with_the_api_id_local_mode_serves_it_under_and_its_stage_name(tmp_path):
    url = {"Fn::Join": ["", ["https://", {"Ref": "Api"}, ".execute-api.", {"Ref": "AWS::Region"}, ".",
                             {"Ref": "AWS::URLSuffix"}, "/", {"Ref": "Stage"}, "/"]]}
    resources = {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "app.handler", "Environment": {"Variables": {"API_URL": url}}}},
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api"}},
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "dev"}},
    }

    app = read_app({"Stack": ({"Resources": resources}, "eu-west-1")}, tmp_path)

    (api,) = app.apis
    assert app.functions["Stack/Fn"].environment == {"API_URL": f"https://{api.api_id}.execute-api.eu-west-1.amazonaws.com/dev/"}
    assert app.warnings == []


def test_an_unknown_ref_is_unresolved_and_warns_naming_where_and_what_follows():
    warnings: list[str] = []
    intrinsics = _intrinsics({"Role": {"Type": "AWS::IAM::Role", "Properties": {}}}, warnings)

    with pytest.raises(Unresolved, match="Ref Nowhere"):
        intrinsics.resolve({"Ref": "Nowhere"})
    assert intrinsics.resolve_or_warn({"Ref": "Role"}, "Stack/Fn Environment.Variables.ROLE", "the variable is left out") is None
    assert warnings == [
        "Stack/Fn Environment.Variables.ROLE: Ref Role cannot be resolved locally: the variable is left out"
    ], "a resource of a kind local mode does not emulate has no local value"


def test_a_symbol_that_is_an_expression_is_evaluated_where_it_is_referenced():
    intrinsics = _intrinsics(
        {
            "Client": {"Type": "AWS::Cognito::UserPoolClient", "Properties": {
                "AllowedOAuthScopes": [{"Fn::Join": ["", [{"Ref": "Server"}, "/write"]]}]}},
            "Server": {"Type": "AWS::Cognito::UserPoolResourceServer", "Properties": {
                "Identifier": {"Fn::Sub": "${Prefix}-items"}}},
            "Loop": {"Type": "AWS::Cognito::UserPoolResourceServer", "Properties": {"Identifier": {"Ref": "Loop"}}},
        },
        Parameters={"Prefix": {"Type": "String", "Default": "acme"}},
    )

    assert intrinsics.resolve({"Fn::Join": ["", [{"Ref": "Server"}, "/write"]]}) == "acme-items/write"
    with pytest.raises(Unresolved, match="circular reference through Loop"):
        intrinsics.ref("Loop")
