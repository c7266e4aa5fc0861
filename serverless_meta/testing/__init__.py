"""serverless-meta's testing kit, for the apps that use the construct.

Snapshots of synthesized templates that an upgrade does not churn (no extra needed):

- ``normalize_template(template)``: the template without asset hashes, the Powertools layer's
  version and the CDK metadata resource; everything else as synthesized.
- ``assert_matches_snapshot(template, path)``: the normalized template against a JSON file.
- ``TemplateSnapshotExtension``: the same for syrupy,
  ``assert template == snapshot(extension_class=TemplateSnapshotExtension)``.

The app served in-process by local mode (the ``local`` extra):

- the ``local_api`` pytest fixture (see ``serverless_meta.testing.plugin``), a ``LocalApi`` whose
  ``as_user("alice")`` is a ``requests`` session signed as local user alice;
- ``serve(cdk_out, state_dir=...)``, the same as a context manager, outside pytest.

The kit reads synthesized templates only: it never imports aws-cdk-lib, so it adds no Node.js to a
test that does not synthesize.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serverless_meta.testing.local_api import Client, LocalApi, serve
    from serverless_meta.testing.snapshots import assert_matches_snapshot, normalize_template
    from serverless_meta.testing.syrupy_extension import TemplateSnapshotExtension

__all__ = ["Client", "LocalApi", "TemplateSnapshotExtension", "assert_matches_snapshot", "normalize_template", "serve"]
_EXPORTS = {
    "assert_matches_snapshot": "serverless_meta.testing.snapshots",
    "normalize_template": "serverless_meta.testing.snapshots",
    "TemplateSnapshotExtension": "serverless_meta.testing.syrupy_extension",
    "Client": "serverless_meta.testing.local_api",
    "LocalApi": "serverless_meta.testing.local_api",
    "serve": "serverless_meta.testing.local_api",
}


def __getattr__(name: str) -> Any:
    # Lazy: each part needs its own packages (syrupy; local mode's extra), and a test imports only its own.
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'serverless_meta.testing' has no attribute {name!r}")
