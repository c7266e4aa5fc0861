"""What EventBridge Pipes accepts of a pipe from a stream to a queue: filters (less than an event bus takes), batch size.

A pipe's filter is an event pattern, but Pipes supports only some of the event bus's comparison
operators: the "Pipe support" column of EventBridge's "Comparison operators for use in event
patterns" table (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
Anything-but with a prefix, a suffix, ignore-case or a wildcard, and wildcards, work on a bus and
not in a pipe. A pipe takes at most 5 filters of at most 4096 characters each (the Pipes API's
FilterCriteria and Filter: https://docs.aws.amazon.com/eventbridge/latest/pipes-reference/API_FilterCriteria.html).
moto's matcher is the event bus's, so local mode asks here first, and runs no pipe AWS would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

MAX_FILTERS = 5
MAX_PATTERN_LENGTH = 4096
# SQS takes at most 10 messages a batch, so a pipe to a queue reads at most 10 records at a time
# ("Amazon EventBridge Pipes batching and concurrency").
MAX_SQS_BATCH_SIZE = 10
# Operators in a pipe's filter, and the forms of their operand Pipes takes.
_STRING_OR_IGNORE_CASE = ("prefix", "suffix")


def unsupported(filters: Sequence[str]) -> list[str]:
    """Why Pipes would refuse these filters (event patterns as JSON strings): empty when it takes them."""
    problems = []
    if len(filters) > MAX_FILTERS:
        problems.append(f"{len(filters)} filters, where a pipe takes at most {MAX_FILTERS}")
    for pattern in filters:
        if len(pattern) > MAX_PATTERN_LENGTH:
            problems.append(f"a pattern of {len(pattern)} characters, where a pipe takes at most {MAX_PATTERN_LENGTH}")
        try:
            parsed = json.loads(pattern)
        except ValueError:
            problems.append(f"a pattern that is not JSON: {pattern[:80]}")
            continue
        problems.extend(_unsupported_in(parsed, path="$"))
    return problems


def _unsupported_in(node: Any, *, path: str) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "$or":
                if not isinstance(value, list) or not all(isinstance(branch, dict) for branch in value):
                    yield f"{path}: $or takes a list of patterns"
                    continue
                for branch in value:
                    yield from _unsupported_in(branch, path=path)
            else:
                yield from _unsupported_in(value, path=f"{path}.{name}")
    elif isinstance(node, list):
        for matcher in node:
            if isinstance(matcher, dict):
                problem = _unsupported_matcher(matcher)
                if problem:
                    yield f"{path}: {problem}"
    else:
        yield f"{path}: a pattern's values are lists of matchers, got {json.dumps(node)}"


def _unsupported_matcher(matcher: dict[str, Any]) -> str | None:
    """Why Pipes refuses one operator object of a leaf's list (``{"prefix": "a#"}``), or None."""
    if len(matcher) != 1:
        return f"{json.dumps(matcher)} has {len(matcher)} operators, where one is allowed"
    ((operator, operand),) = matcher.items()
    shown = json.dumps(matcher, separators=(",", ":"))
    if operator in _STRING_OR_IGNORE_CASE:
        if isinstance(operand, str) or (isinstance(operand, dict) and set(operand) == {"equals-ignore-case"}):
            return None
    elif operator == "equals-ignore-case":
        if isinstance(operand, str):
            return None
    elif operator == "anything-but":
        # Pipes: anything-but a value or a list of values; not with prefix, suffix, ignore-case or wildcard.
        if isinstance(operand, (str, int, float)) or (
            isinstance(operand, list) and all(isinstance(value, (str, int, float)) for value in operand)
        ):
            return None
        if isinstance(operand, dict):
            return f"{shown}: EventBridge Pipes does not support anything-but with {', '.join(operand)} (an event bus does)"
    elif operator == "exists":
        if isinstance(operand, bool):
            return None
    elif operator == "numeric":
        if isinstance(operand, list) and operand:
            return None
    else:
        return f"{shown}: EventBridge Pipes does not support the {operator!r} operator"
    return f"{shown}: not an operand EventBridge takes for {operator!r}"
