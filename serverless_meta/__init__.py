"""serverless-meta: a production-grade serverless REST service as one AWS CDK construct."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serverless_meta.construct import ServerlessCrudApi
    from serverless_meta.operations import Operation
    from serverless_meta.props import AlarmThresholds, Deployment, InvalidPropError, Worker
    from serverless_meta.scope import ItemScope

__all__ = ["AlarmThresholds", "Deployment", "InvalidPropError", "ItemScope", "Operation", "ServerlessCrudApi", "Worker", "__version__"]
_EXPORTS = {
    "ServerlessCrudApi": "serverless_meta.construct",
    "AlarmThresholds": "serverless_meta.props",
    "Deployment": "serverless_meta.props",
    "InvalidPropError": "serverless_meta.props",
    "ItemScope": "serverless_meta.scope",
    "Operation": "serverless_meta.operations",
    "Worker": "serverless_meta.props",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that local mode (python -m serverless_meta) starts without loading aws-cdk-lib and Node.js.
    if name == "__version__":
        from serverless_meta.installation import version

        return version()
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'serverless_meta' has no attribute {name!r}")
