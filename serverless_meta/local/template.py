"""What local mode needs from synthesized CloudFormation templates: APIs, functions and their layers,
tables and their streams, user pools, queues, the pipes from streams to queues, and the event source
mappings from queues to functions.

Read from the templates themselves, not from our construct, so that local mode serves any
REST API a CDK app defines as it will be deployed: the model is in ``model``, the intrinsic functions
and each stack's symbol table in ``intrinsics``, and a reader per kind of resource in ``readers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from serverless_meta.local import readers
from serverless_meta.local.intrinsics import Intrinsics
from serverless_meta.local.model import Asset, LocalApp


def read_app(
    templates: Mapping[str, tuple[dict, str]], assembly_dir: Path, assets: Mapping[str, Asset] | None = None
) -> LocalApp:
    """The APIs, functions, tables and pools of every stack: ``{stack: (template, region)}``.

    ``assets`` maps an asset's S3 object key to its source: it finds a function's code where the
    template has no asset metadata (``cdk synth --no-asset-metadata``, or ``app.synth()``).
    Stacks are read in the order given, the cloud assembly's, so exports precede their imports.
    """
    app = LocalApp()
    for name, (template, region) in templates.items():
        intrinsics = Intrinsics(name, template, region, app.exports, app.warnings)
        readers.read_stack(readers.StackTemplate(name, template, region, intrinsics, assembly_dir, assets or {}), app)
    return app
