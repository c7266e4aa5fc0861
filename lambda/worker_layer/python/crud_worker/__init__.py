"""The library's worker runtime, shipped to Lambda as a layer (``/opt/python/crud_worker``).

A worker is a plain function of the user's that receives one ``Change`` at a time::

    from crud_worker import Change

    def categorize(change: Change) -> None:
        if change.after is not None:
            change.update({"category": "praise" if "great" in change.after["feedback"] else "other"})

Layers, outermost first: ``runtime`` (the SQS handler: one batch, partial failures), ``changes``
(what a change is, from a DynamoDB stream record), ``store`` (the only module that talks to
DynamoDB). The package never imports ``crud_api``: it is not in the layer; ``contract`` pins the
facts both share, and a test holds the two to them.
"""

from crud_worker.changes import Change

__all__ = ["Change"]
