"""serverless-meta: a production-grade serverless REST service as one AWS CDK construct."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serverless_meta.construct import ServerlessCrudApi
    from serverless_meta.operations import Operation

__all__ = ["Operation", "ServerlessCrudApi"]


def __getattr__(name: str) -> Any:
    # Lazy, so that local mode (python -m serverless_meta) starts without loading aws-cdk-lib and Node.js.
    if name == "ServerlessCrudApi":
        from serverless_meta.construct import ServerlessCrudApi

        return ServerlessCrudApi
    if name == "Operation":
        from serverless_meta.operations import Operation

        return Operation
    raise AttributeError(f"module 'serverless_meta' has no attribute {name!r}")
