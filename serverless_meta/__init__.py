"""serverless-meta: a production-grade serverless REST service as one AWS CDK construct."""

from serverless_meta.construct import ServerlessCrudApi
from serverless_meta.operations import Operation

__all__ = ["Operation", "ServerlessCrudApi"]
