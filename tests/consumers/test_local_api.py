"""The testing kit's local_api: the app served in-process by local mode, called as named users."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from serverless_meta.testing import plugin, serve


@pytest.fixture(scope="module")
def api(sample_assembly, tmp_path_factory):
    """The sample app's assembly (synthesized once per session), served in this process."""
    with serve(sample_assembly.directory, state_dir=tmp_path_factory.mktemp("state")) as api:
        yield api


def test_a_client_signed_as_a_user_creates_an_item_and_reads_it_back(api):
    alice = api.as_user("alice", groups=["editors"])  # the sample app lets editors write Metadata

    created = alice.post("/prod/metadata", json={"page": "home"})

    assert created.status_code == 201
    read = alice.get(created.headers["Location"])
    assert (read.status_code, read.json()) == (200, created.json())


def test_each_user_is_the_apps_user_of_that_name_and_sees_only_their_own_items(api):
    created = api.as_user("alice").post("/prod/feedback", json={"feedback": "alices"})

    assert created.json()["feedbackId"] not in [i["feedbackId"] for i in api.as_user("bob").get("/prod/feedback").json()["items"]]
    assert created.json()["feedbackId"] in [i["feedbackId"] for i in api.as_user("alice").get("/prod/feedback").json()["items"]]


def test_claims_reach_the_app_as_cognito_puts_a_users_attributes_in_its_token(api):
    import base64
    import json

    token = api.token("erin", claims={"custom:tenant": "acme"})
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))

    assert payload["custom:tenant"] == "acme"
    assert api.as_user("erin").get("/prod/feedback").status_code == 200, "the user keeps the claim, as in Cognito"


def test_a_users_groups_reach_the_app_as_cognito_groups(api):
    assert api.as_user("dave", groups=[]).post("/prod/metadata", json={"page": "x"}).status_code == 403
    assert api.as_user("dave", groups=["editors"]).post("/prod/metadata", json={"page": "x"}).status_code == 201


def test_a_machine_client_gets_an_access_token_with_its_scopes(tmp_path_factory):
    import aws_cdk as cdk

    from serverless_meta import ServerlessCrudApi

    outdir = tmp_path_factory.mktemp("scoped")
    app = cdk.App(outdir=str(outdir))
    ServerlessCrudApi(cdk.Stack(app, "Scoped"), "Orders", resource_name="orders",
                      operation_scopes={"create": ["write"]}, machine_client=True,
                      cognito_domain_prefix="scoped-orders")
    app.synth()
    with serve(outdir, state_dir=tmp_path_factory.mktemp("scoped-state")) as api:
        machine = api.as_client("MachineClient", scopes=["orders/write"])
        assert machine.post("/prod/orders", json={"sku": "A"}).status_code == 201
        assert api.as_user("erin").post("/prod/orders", json={"sku": "A"}).status_code == 401


def test_an_anonymous_client_is_refused_by_the_authorizer(api):
    response = api.anonymous().get("/prod/metadata")

    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


def test_the_client_retries_the_gateways_429_after_its_retry_after():
    """A throttled request never reached its function: the kit's client waits as told and sends it again."""
    import http.server
    import threading

    from serverless_meta.testing.local_api import Client

    answers = [(429, {"Retry-After": "0"}), (429, {"Retry-After": "0"}), (201, {})]
    seen = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.rfile.read(int(self.headers["Content-Length"])))
            status, headers = answers[len(seen) - 1]
            self.send_response(status)
            for name, value in {**headers, "Content-Length": "0"}.items():
                self.send_header(name, value)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        response = Client(f"http://127.0.0.1:{server.server_port}").post("/prod/orders", json={"sku": "A"})
    finally:
        server.shutdown()

    assert response.status_code == 201
    assert seen == [b'{"sku": "A"}'] * 3


def test_a_user_of_a_pool_named_by_part_of_its_logical_id(api):
    assert api.as_user("carol", pool="MetadataUserPool").get("/prod/metadata").status_code == 200


def test_a_pool_that_names_none_of_the_apps_pools_is_an_error_that_lists_them(api):
    with pytest.raises(LookupError, match=r"0 of the app's user pools match pool='Orders' \(ServerlessMeta/MetadataUserPool\w+\)"):
        api.as_user("alice", pool="Orders")


def test_the_client_is_a_requests_session_on_the_server_that_any_http_client_reaches_too(api):
    import requests

    assert isinstance(api.as_user("alice"), requests.Session)
    assert requests.get(f"{api.url}/prod/metadata", timeout=30).status_code == 401


def test_without_the_local_extra_the_fixture_fails_with_the_line_that_says_which_extra_to_install(monkeypatch):
    monkeypatch.setattr(plugin.installation, "missing_local_mode", lambda: "moto")

    with pytest.raises(pytest.fail.Exception, match=r"^the local_api fixture needs serverless-meta's 'local' extra"):
        plugin._require_local_mode()


APP = """
    import aws_cdk as cdk
    from serverless_meta import ServerlessCrudApi

    app = cdk.App()
    stack = cdk.Stack(app, "Notes")
    ServerlessCrudApi(stack, "Notes", resource_name="notes", operations=["create", "get"])
    app.synth()
"""
TEST = """
    def test_a_note_round_trip(local_api):
        dana = local_api.as_user("dana")
        created = dana.post("/prod/notes", json={"text": "hello"})
        assert created.status_code == 201
        assert dana.get(created.headers["Location"]).json()["text"] == "hello"
"""


def test_in_a_consumers_project_local_api_serves_the_app_pytest_runs_in_with_no_set_up(tmp_path):
    """The fixture comes with the library (a pytest plugin): a test asks for it, and the app in cdk.json is served."""
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    (tmp_path / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_notes.py").write_text(textwrap.dedent(TEST))

    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout
