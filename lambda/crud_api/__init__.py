"""Handler code for ServerlessCrudApi: one resource's CRUD routes over a single DynamoDB table.

Layers, outermost first: ``app`` (routes, HTTP contract) on ``proxy`` (API Gateway's events and
results), ``requests`` (input parsing), ``items`` (the service logic), ``repository`` (the only
module that talks to DynamoDB) with ``attribute_values`` (what it stores, as DynamoDB types).

Everything here runs at every cold start, so its value types are NamedTuples, not frozen
dataclasses: a dataclass writes the source of its methods and compiles it at import (half a
millisecond each, which the asset's bytecode cannot save).
"""
