"""``serverless-meta``: local mode for the app in the current directory.

    serverless-meta local            serve every REST API of the app on http://127.0.0.1:3000
    serverless-meta token --user U   print an ID token for local user U (created on first use)
    serverless-meta openapi          print the OpenAPI document of the app's REST API
    serverless-meta backfill --service S   put a service's older items into its indexes
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError

from serverless_meta.local import assembly
from serverless_meta.local.cognito import TOKEN_LIFETIME_SECONDS, LocalUserPools, TokenRefused
from serverless_meta.local.model import LocalApp

log = logging.getLogger("serverless_meta.local")


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    _log_to_stderr()
    # SIGTERM stops like Ctrl-C, at any point: during synthesis as much as while serving. SIGINT
    # too, explicitly: a shell starts background jobs with it ignored, and Python keeps it so.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return arguments.run(arguments)
    except assembly.SynthesisError as error:
        log.error("%s", error)
        return 2
    except KeyboardInterrupt:
        log.info("Stopped")
        return 130


def _log_to_stderr() -> None:
    """Our lines only: the access log and local mode's own messages, not every library's INFO."""
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="serverless-meta",
        description=__doc__.split("\n\n")[0],
        epilog="serverless-meta init [DIR] writes a new app that uses serverless-meta (see serverless-meta init --help)",
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    local = commands.add_parser("local", help="serve the app's REST APIs on localhost, with no AWS account")
    _app_arguments(local)
    local.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    local.add_argument("--port", type=int, default=3000, help="port to listen on (default: %(default)s)")
    local.add_argument(
        "--dynamodb-endpoint",
        metavar="URL",
        help="a DynamoDB-compatible server (DynamoDB Local, dynalite) instead of the embedded, in-memory moto",
    )
    local.add_argument(
        "--debug",
        action="append",
        default=[],
        metavar="FUNCTION",
        help="run this function (part of its construct path, or its logical id; repeatable) in one environment "
        "attached to this terminal, without a timeout, so that breakpoint() stops here",
    )
    local.add_argument(
        "--debugpy",
        type=int,
        metavar="PORT",
        help="with --debug: the function's environment also lets a debugger (debugpy, e.g. VS Code) attach on this port",
    )
    local.set_defaults(run=_serve)

    token = commands.add_parser(
        "token", help="print an ID token for a local user (created on first use), or an access token for a machine client"
    )
    _app_arguments(token)
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="the user name, e.g. alice: prints an ID token")
    who.add_argument(
        "--client",
        metavar="APP_CLIENT",
        help="an app client with the client-credentials grant (MachineClient, a construct path, or its id): "
        "prints an access token",
    )
    token.add_argument(
        "--groups",
        metavar="GROUP[,GROUP...]",
        help="with --user: the user's Cognito groups from now on (an empty string: none); default: as before",
    )
    token.add_argument(
        "--claim",
        action="append",
        metavar="NAME=VALUE",
        help="with --user: a claim the user carries from now on, e.g. custom:tenant=acme (repeatable), as "
        "admin-update-user-attributes sets a user's attribute",
    )
    token.add_argument(
        "--scopes",
        nargs="+",
        metavar="SCOPE",
        help="with --client: the scopes to ask for, e.g. metadata/write (default: every scope the client may ask for)",
    )
    token.add_argument(
        "--pool", help="the user pool, if the app has several: part of its construct path (Metadata/UserPool) or id"
    )
    token.add_argument(
        "--expires-in",
        type=int,
        default=TOKEN_LIFETIME_SECONDS,
        metavar="SECONDS",
        help="how long the token is valid (default: %(default)s, as Cognito's default ID token)",
    )
    token.set_defaults(run=_print_token)

    backfill = commands.add_parser(
        "backfill",
        help="put a service's items written before it gained indexes (or readers of all) into them, locally or in AWS",
    )
    _app_arguments(backfill)
    backfill.add_argument("--service", required=True, help="the service: its resource name (metadata) or part of its construct path")
    backfill.add_argument(
        "--endpoint-url",
        help="a DynamoDB server, e.g. local mode's (its startup prints it); default: AWS, with your credentials and region",
    )
    backfill.add_argument("--table-name", help="the table's name in AWS (default: the name the template gives it locally)")
    backfill.add_argument("--region", help="the table's region in AWS (default: your AWS configuration's)")
    backfill.set_defaults(run=_backfill)

    document = commands.add_parser(
        "openapi", help="print the OpenAPI 3.1 document of a REST API of the app, built from its template"
    )
    _app_arguments(document)
    document.add_argument("--api", help="the API, if the app has several: part of its construct path (Metadata) or id")
    document.add_argument("--out", type=Path, metavar="DIR", help="write one file per API into DIR instead of printing")
    document.set_defaults(run=_print_openapi)
    return parser


def _app_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app-dir", type=Path, default=Path.cwd(), help="the CDK app (with cdk.json); default: here")
    parser.add_argument("--cdk-out", type=Path, help="use this synthesized cloud assembly instead of synthesizing")
    parser.add_argument("--state-dir", type=Path, help="local users' keys and synthesis; default: APP_DIR/.serverless-meta")


def _state_dir(arguments: argparse.Namespace) -> Path:
    """Absolute, as every path local mode hands to an environment's process (which runs elsewhere)."""
    return (arguments.state_dir or arguments.app_dir / ".serverless-meta").resolve()


def _app(arguments: argparse.Namespace, *, reuse: bool) -> LocalApp:
    if arguments.cdk_out:
        return assembly.load(arguments.cdk_out)
    outdir = _state_dir(arguments) / "cdk.out"
    if not (reuse and (outdir / "manifest.json").exists()):
        started = time.perf_counter()
        log.info("Synthesizing %s ...", arguments.app_dir.resolve())
        assembly.synthesize(arguments.app_dir, outdir)
        log.info("Synthesized in %.1f s", time.perf_counter() - started)
    return assembly.load(outdir)


def _serve(arguments: argparse.Namespace) -> int:
    from serverless_meta.local.aws import EmbeddedAwsUnavailable
    from serverless_meta.local.server import DEAD_LETTERS_PATH, LocalServer

    if arguments.debugpy is not None and not arguments.debug:
        log.error("--debugpy needs --debug FUNCTION: the function whose environment a debugger attaches to")
        return 2
    app = _app(arguments, reuse=False)
    try:
        server = LocalServer(
            app,
            host=arguments.host,
            port=arguments.port,
            state_dir=_state_dir(arguments),
            dynamodb_endpoint=arguments.dynamodb_endpoint,
            debug=arguments.debug,
            debugpy_port=arguments.debugpy,
        )
    except OSError as error:
        log.error("Cannot listen on %s:%d: %s", arguments.host, arguments.port, error.strerror or error)
        return 1
    except (BotoCoreError, EmbeddedAwsUnavailable) as error:
        log.error("Cannot use DynamoDB at %s: %s", arguments.dynamodb_endpoint or "the embedded server", error)
        return 1
    server.start()
    try:
        for method, path, target in server.gateway.routes():
            log.info("  %-7s %s%s  -> %s", method, server.url, path, target)
        log.info("DynamoDB: %s", arguments.dynamodb_endpoint or f"embedded (moto, in memory, at {server.dynamodb.endpoint})")
        if server.pipeline is not None and server.pipeline.descriptions:
            log.info("SQS: embedded (moto, in memory, at %s)", server.aws.endpoint)
            for description in server.pipeline.descriptions:
                log.info("  %s", description)
            log.info("Dead letters: %s%s", server.url, DEAD_LETTERS_PATH)
        for api, url in server.openapi_urls():
            log.info("OpenAPI document of %s: %s", api.path, url)
        log.info("Serving on %s (Ctrl-C stops)", server.url)
        threading.Event().wait()
    except KeyboardInterrupt:
        log.info("Stopping: finishing the requests in flight")
    finally:
        server.stop()
    return 0


def _print_openapi(arguments: argparse.Namespace) -> int:
    from serverless_meta.local import openapi

    app = _app(arguments, reuse=False)
    apis = [api for api in app.apis if arguments.api is None or arguments.api in (api.api_id, api.key) or arguments.api in api.path]
    if not apis or (len(apis) > 1 and arguments.out is None):
        choices = ", ".join(api.path for api in app.apis) or "none"
        what = "matches" if arguments.api else "has"
        log.error("the app %s %d REST APIs (%s): pick one with --api, or write them all with --out", what, len(apis), choices)
        return 2
    if arguments.out is None:
        sys.stdout.write(openapi.document_json(app, apis[0]))
        return 0
    arguments.out.mkdir(parents=True, exist_ok=True)
    for api in apis:
        path = arguments.out / f"{api.path.replace('/', '-')}.openapi.json"
        path.write_text(openapi.document_json(app, api))
        log.info("Wrote %s", path)
    return 0


def _backfill(arguments: argparse.Namespace) -> int:
    """Run the service's own handler code's backfill (crud_api.items.ItemService.backfill) against its table."""
    import importlib

    app = _app(arguments, reuse=True)
    services = {
        function.environment["RESOURCE_NAME"]: function
        for function in app.functions.values()
        if function.handler == _HANDLER and "RESOURCE_NAME" in function.environment and function.code_dir
        and arguments.service in (function.environment["RESOURCE_NAME"], *function.name.split("/"))
    }
    if len(services) != 1:
        log.error("%d services of the app match --service %s: name one by its resource name", len(services), arguments.service)
        return 2
    ((resource, function),) = services.items()
    environment = {**function.environment, "AWS_REGION": function.region}
    if arguments.table_name:
        environment["TABLE_NAME"] = arguments.table_name
    sys.path.insert(0, str(function.code_dir))  # the handler code of the app's own version, as Lambda runs it
    items = importlib.import_module("crud_api.items")
    repository = importlib.import_module("crud_api.repository")
    settings = importlib.import_module("crud_api.settings").Settings.from_environment(environment)
    if arguments.endpoint_url:
        from serverless_meta.local.aws import local_client

        client = local_client("dynamodb", arguments.endpoint_url, function.region)
    else:
        import boto3

        client = boto3.client("dynamodb", region_name=arguments.region)
    service = items.ItemService(repository.ItemRepository(client, settings.table_name), settings)
    try:
        counts = service.backfill()
    except BotoCoreError as error:
        log.error("Cannot read table %s: %s", settings.table_name, error)
        return 1
    except Exception as error:  # a ClientError: access denied, no such table
        log.error("Cannot backfill table %s: %s", settings.table_name, error)
        return 1
    log.info("%s in %s: %s", resource, settings.table_name, ", ".join(f"{count} {what}" for what, count in counts.items()))
    return 0


_HANDLER = "crud_api.app.lambda_handler"


def _print_token(arguments: argparse.Namespace) -> int:
    app = _app(arguments, reuse=True)
    pools = LocalUserPools(app.user_pools, _state_dir(arguments))
    try:
        pool = pools.pick(arguments.pool)
    except LookupError as error:
        log.error("%s: pick one with --pool", str(error).removesuffix(": name one"))
        return 2
    if arguments.user is not None:
        if arguments.scopes:
            log.error("--scopes goes with --client: ID tokens carry no scopes")
            return 2
        groups = None if arguments.groups is None else [g.strip() for g in arguments.groups.split(",") if g.strip()]
        attributes = {}
        for claim in arguments.claim or ():
            name, equals, value = claim.partition("=")
            if not equals or not name or not value:
                log.error("--claim takes NAME=VALUE, e.g. custom:tenant=acme; got %r", claim)
                return 2
            attributes[name] = value
        try:
            print(pools.issue_id_token(pool, arguments.user, groups=groups, attributes=attributes, lifetime=arguments.expires_in))
        except TokenRefused as error:
            log.error("%s", error)
            return 2
        return 0
    if arguments.groups is not None or arguments.claim:
        log.error("--groups and --claim go with --user: a machine client's access token carries its scopes only")
        return 2
    scopes = [scope for argument in arguments.scopes or () for scope in argument.replace(",", " ").split()]
    try:
        client = pools.client(pool, arguments.client)
        print(pools.issue_access_token(pool, client, scopes=scopes, lifetime=arguments.expires_in))
    except TokenRefused as error:
        log.error("%s", error)
        return 2
    return 0
