"""Handler code for ServerlessCrudApi: one resource's CRUD routes over a single DynamoDB table.

Layers, outermost first: ``app`` (routes, HTTP contract), ``requests`` (input parsing),
``items`` (the service logic), ``repository`` (the only module that talks to DynamoDB).
"""
