"""The service's table: the single-table design, made with the defaults when none is passed in."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from serverless_meta import defaults
from serverless_meta.props import ServiceProps


def build_table(scope: Construct, props: ServiceProps) -> dynamodb.TableV2:
    """An on-demand table with point-in-time recovery, deletion protection and the requested replicas;
    with a worker, a stream of each change's new and old images."""
    table_props = defaults.table(
        recovery_period_days=props.data.recovery_period_days or defaults.RECOVERY_PERIOD_DAYS,
        replica_regions=props.data.replica_regions,
        stream=props.worker is not None,
    )
    return dynamodb.TableV2(scope, "Table", **defaults.kwargs(table_props))
