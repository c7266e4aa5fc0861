"""The readers of a stack's template, one per kind of resource local mode emulates.

Each reads its kind from the template alone and adds it to the app; names, ids and ARNs come from
the stack's symbol table (``intrinsics``), built before any reader runs, so no reader depends on
another having run first.
"""

from __future__ import annotations

from serverless_meta.local.intrinsics import Unresolved
from serverless_meta.local.model import LocalApp
from serverless_meta.local.readers import event_sources, functions, pipes, queues, rest_apis, tables, user_pools
from serverless_meta.local.readers.stack import StackTemplate

__all__ = ["StackTemplate", "read_stack"]

# The order only sets the order of what the app lists (its tables, APIs) and of the warnings.
_READERS = (tables.read, queues.read, user_pools.read, functions.read, rest_apis.read, pipes.read, event_sources.read)


def read_stack(stack: StackTemplate, app: LocalApp) -> None:
    """Every resource local mode emulates in the stack, and the stack's exports for the stacks after it."""
    for read in _READERS:
        read(stack, app)
    _exports(stack, app)


def _exports(stack: StackTemplate, app: LocalApp) -> None:
    for output in stack.template.get("Outputs", {}).values():
        export = output.get("Export", {}).get("Name")
        if export is None:
            continue
        try:
            app.exports[stack.intrinsics.resolve(export)] = stack.intrinsics.resolve(output.get("Value", ""))
        except Unresolved:
            continue  # an export nobody here can resolve; its importers will say so
