"""What local mode serves, as read from synthesized templates: tables, queues, pipes, user pools,
functions and REST APIs, and the local account they live in.

Plain values, built by the readers (``template.read_app``) and used by the parts that emulate each service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Table:
    name: str
    region: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    stream_view_type: str | None = None
    """The stream the template asks for (``NEW_AND_OLD_IMAGES``...), or None without one."""


@dataclass(frozen=True)
class AppClient:
    client_id: str
    path: str
    """The client's construct path (``Stack/Metadata/MachineClient``)."""
    client_credentials: bool
    """Whether it may get access tokens with the client-credentials grant (a machine client)."""
    scopes: tuple[str, ...]
    """The OAuth scopes it may ask for (``metadata/write``)."""


@dataclass(frozen=True)
class UserPool:
    key: str
    """``<stack>/<logical id>``, or the ARN of a pool the template only references."""
    path: str
    """The pool's construct path (``Stack/Metadata/UserPool``), or its key."""
    pool_id: str
    region: str
    client_ids: tuple[str, ...]
    clients: tuple[AppClient, ...] = ()

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"


@dataclass(frozen=True)
class Function:
    key: str
    name: str
    """The function's construct path (``Stack/Service/CreateFunction``), for logs."""
    code_dir: Path | None
    region: str
    handler: str
    runtime: str
    environment: dict[str, str]
    timeout: int
    memory_size: int
    reserved_concurrency: int | None = None
    unavailable: str | None = None
    """Why local mode cannot run it (no code directory, not Python), or None."""
    layer_dirs: tuple[Path, ...] = ()
    """The ``python`` directories of its layers that are assets of the assembly, in the template's order:
    on its path, as Lambda puts layers' content under /opt/python."""

    @property
    def watched_dirs(self) -> tuple[Path, ...]:
        """Where its code lives: an edit in any of these is new code."""
        return (self.code_dir, *self.layer_dirs) if self.code_dir else self.layer_dirs


@dataclass(frozen=True)
class Queue:
    key: str
    path: str
    """The queue's construct path (``Stack/Feedback/WorkerQueue``), or its key."""
    name: str
    region: str
    fifo: bool
    visibility_timeout: int
    content_based_deduplication: bool = False
    dead_letter_queue: str | None = None
    """The key of the queue its messages move to after ``max_receive_count`` receives, or None."""
    max_receive_count: int | None = None


@dataclass(frozen=True)
class Pipe:
    """An EventBridge pipe from a DynamoDB stream to an SQS queue (the only kind local mode runs)."""

    key: str
    path: str
    region: str
    table: str
    """The name of the table whose stream it reads."""
    queue: str
    """The key of the queue it sends to."""
    starting_position: str
    filters: tuple[str, ...]
    """Event patterns (JSON): a record any of them matches goes on; with none, every record."""
    message_group_id: str | None = None
    """A JSON path into the record (``$.dynamodb.Keys.sk.S``), or a fixed value."""
    message_deduplication_id: str | None = None
    running: bool = True


@dataclass(frozen=True)
class EventSourceMapping:
    """Lambda reading an SQS queue in batches and invoking a function with each."""

    key: str
    path: str
    queue: str
    function: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool = True


@dataclass(frozen=True)
class MockIntegration:
    request_content_types: tuple[str, ...]
    passthrough: str
    status: int
    headers: dict[str, str]
    body: str
    echo_origins: tuple[str, ...] = ()
    """Origins the response template echoes as Access-Control-Allow-Origin (CDK's CORS with several origins)."""


@dataclass(frozen=True)
class Method:
    http_method: str
    authorization_type: str
    authorizer: Authorizer | None
    integration_type: str
    function: str | None = None
    mock: MockIntegration | None = None
    api_key_required: bool = False
    authorization_scopes: tuple[str, ...] = ()
    """With scopes, a Cognito authorizer takes access tokens carrying one of them, and no ID tokens."""
    required_parameters: tuple[str, ...] = ()
    """Request parameters that must be present and not blank (``method.request.querystring.page``...), where the
    method's request validator validates parameters; none otherwise."""
    body_models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Content type (or ``$default``) -> the JSON schema (draft 4) a request body of that type must match, where
    the method's request validator validates bodies; none otherwise."""


@dataclass(frozen=True)
class Authorizer:
    type: str
    pools: tuple[str, ...]
    header: str


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None
    headers: dict[str, str]
    body: str | None


@dataclass
class RestApi:
    key: str
    path: str
    """The API's construct path (``Stack/Metadata/Api``), or its key."""
    api_id: str
    """A stable local stand-in for the API's id: ``/restapis/<api_id>/<stage>/_user_request_/...`` reaches it."""
    name: str
    binary_media_types: tuple[str, ...]
    stages: dict[str, dict[tuple[str, str], tuple[float, int]]]
    """stage name -> {(resource path or "*", method or "*"): (rate, burst)}."""
    resources: dict[str, dict[str, Method]]
    """resource path (``/metadata/{id}``) -> HTTP method (or ``ANY``) -> method."""
    gateway_responses: dict[str, GatewayResponse]


@dataclass(frozen=True)
class Asset:
    """A file asset of the cloud assembly: where its source is, and how it is packaged."""

    path: Path
    packaging: str


@dataclass
class LocalApp:
    apis: list[RestApi] = field(default_factory=list)
    functions: dict[str, Function] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    user_pools: dict[str, UserPool] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)
    """Stack outputs' export names -> values, for ``Fn::ImportValue`` in later stacks."""
    queues: dict[str, Queue] = field(default_factory=dict)
    pipes: list[Pipe] = field(default_factory=list)
    event_source_mappings: list[EventSourceMapping] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Values local mode could not resolve, each naming the resource and property; said at startup."""
