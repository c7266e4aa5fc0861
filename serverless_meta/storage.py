"""The service's table: the single-table design, made with the defaults when none is passed in."""

from __future__ import annotations

from typing import cast

from aws_cdk import Annotations
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from serverless_meta import defaults
from serverless_meta.handlers.crud_api import contract
from serverless_meta.props import ServiceProps, service_that_made

# A child construct of a table that says one of its indexes was added (its id ends with the index's name).
_INDEX_MARKER = "ServerlessMetaIndex-"


def build_table(scope: Construct, props: ServiceProps) -> dynamodb.TableV2:
    """An on-demand table with point-in-time recovery, deletion protection and the requested replicas;
    with a worker, a stream of each change's new and old images."""
    table_props = defaults.table(
        recovery_period_days=props.data.recovery_period_days or defaults.RECOVERY_PERIOD_DAYS,
        replica_regions=props.data.replica_regions,
        stream=props.worker is not None,
    )
    return dynamodb.TableV2(scope, "Table", **{**defaults.kwargs(table_props), **(props.data.table_props or {})})


def build_lookup_indexes(scope: Construct, props: ServiceProps, *, table: dynamodb.ITableV2) -> None:
    """For ``indexes``: the table's index ``lookup<n>`` for the n-th declared attribute, once per table.

    Every service on the table uses the same n-th index (its keys hold the resource and the attribute's
    name), so a table has as many lookup indexes as the service declaring the most. A table of yours must
    have them already; synthesis notes that.
    """
    count = len(props.resource.indexes)
    if not count:
        return
    made = _made_by_a_service(table)
    if made is None:
        Annotations.of(scope).add_info_v2(
            "serverless-meta:lookupIndexes",
            f"indexes= reads the table's global secondary indexes lookup1 to lookup{count} (partition key lookup<n>Pk, "
            "sort key lookup<n>Sk, both strings, all attributes projected): the table passed as table= must have them",
        )
        return
    for slot in range(1, count + 1):
        _add_index_once(made, contract.lookup_index(slot), *contract.lookup_keys(slot))


def build_collection_index(scope: Construct, props: ServiceProps, *, table: dynamodb.ITableV2) -> None:
    """For readers of every owner's items: the table's index of each resource's items by id, whoever owns them.

    One index serves every service on the table (the resource is its partition key's value); only the
    items of services with readers of every owner's items carry its keys, so only they are indexed.
    A table of yours must have it already (``COLLECTION_INDEX``, string keys ``collectionPk`` and
    ``collectionSk``, all attributes projected); synthesis notes that.
    """
    if not props.access.reads_every_owner:
        return
    made = _made_by_a_service(table)
    if made is None:
        Annotations.of(scope).add_info_v2(
            "serverless-meta:collectionIndex",
            f"read_all_groups/read_all_scopes read the table's global secondary index {contract.COLLECTION_INDEX!r} "
            f"(partition key {contract.COLLECTION_PARTITION_KEY}, sort key {contract.COLLECTION_SORT_KEY}, both strings, "
            "all attributes projected): the table passed as table= must have it",
        )
        return
    _add_index_once(made, contract.COLLECTION_INDEX, contract.COLLECTION_PARTITION_KEY, contract.COLLECTION_SORT_KEY)


def _made_by_a_service(table: dynamodb.ITableV2) -> dynamodb.TableV2 | None:
    """``table`` as the TableV2 a ServerlessCrudApi made (``build_table``), or None: a table of yours."""
    return None if service_that_made(table, "table") is None else cast(dynamodb.TableV2, table)


def _add_index_once(table: dynamodb.TableV2, name: str, partition_key: str, sort_key: str) -> None:
    """A global secondary index of string keys projecting every attribute, unless another service on the
    table added it already: a table takes each index once. A deployed table gains at most one per update
    ("You can create or delete only one global secondary index per UpdateTable operation": DynamoDB's
    UpdateTable API reference), which the CHANGELOG tells upgraders."""
    marker = f"{_INDEX_MARKER}{name}"
    if table.node.try_find_child(marker) is not None:
        return
    table.add_global_secondary_index(
        index_name=name,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING),
        projection_type=dynamodb.ProjectionType.ALL,
    )
    Construct(table, marker)  # says the table has it; makes no resource
