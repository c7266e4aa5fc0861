"""Handler code for ServerlessCrudApi: one resource's CRUD routes over a single DynamoDB table.

Layers, outermost first: ``app`` (routes, HTTP contract) on ``proxy`` (API Gateway's events and
results), ``requests`` (input parsing), ``items`` (the service logic), ``repository`` (the only
module that talks to DynamoDB) with ``attribute_values`` (what it stores, as DynamoDB types).
"""
