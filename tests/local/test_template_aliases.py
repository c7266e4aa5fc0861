"""Local mode serves services whose API invokes aliases (provisioned concurrency, SnapStart) as any other."""

from __future__ import annotations

import pytest

from serverless_meta.local.template import read_app
from tests.support import synthesize


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from serverless_meta import ServerlessCrudApi

    template = synthesize(
        lambda stack: ServerlessCrudApi(
            stack, "Metadata", resource_name="metadata", provisioned_concurrency={"get": 2}, snap_start=["list"]
        )
    )
    return read_app({"TestStack": (template.to_json(), "eu-west-1")}, tmp_path_factory.mktemp("assembly"))


def test_an_integration_that_invokes_an_alias_runs_the_aliased_function(app):
    (api,) = app.apis
    by_route = {
        (path, method.http_method): method.function
        for path, methods in api.resources.items()
        for method in methods.values()
        if method.integration_type == "AWS_PROXY"
    }
    expected = {
        ("/metadata", "POST"): "Create",
        ("/metadata", "GET"): "List",
        ("/metadata/{id}", "GET"): "Get",
        ("/metadata/{id}", "PUT"): "Update",
        ("/metadata/{id}", "DELETE"): "Delete",
    }
    assert set(by_route) == set(expected)
    for route, operation in expected.items():
        assert by_route[route] in app.functions, route
        assert by_route[route].startswith(f"TestStack/Metadata{operation}Function"), route
