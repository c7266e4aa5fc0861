"""CloudFormation's intrinsic functions, evaluated against local mode's stand-in for a deployed stack.

A first pass over every resource of a template builds its symbol table: each resource's ``Ref`` value
and the attributes ``Fn::GetAtt`` takes of it, for the kinds local mode emulates (the local names, ids
and ARNs of its tables, queues, user pools, functions and APIs), as SAM CLI's intrinsic resolver does
with its symbol table. A value then resolves the same wherever it appears in the template, whatever
order its resources are read in.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from serverless_meta.local.model import ACCOUNT_ID

# Local stream ARNs name their table; the label, a date in DynamoDB, is the same for every table.
LOCAL_STREAM_LABEL = "local"


class Unresolved(Exception):
    """A value only CloudFormation can know (an import of another app's export, a parameter without default)."""


def local_id(key: str, length: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    """A stable id in Cognito's style, derived from a resource's key."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


@dataclass(frozen=True)
class Symbol:
    """What a resource resolves to: its ``Ref`` value and its ``Fn::GetAtt`` attributes.

    A value may be a template expression itself (a resource server's ``Identifier``): it is evaluated
    where it is referenced.
    """

    ref: Any
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Site:
    """Where a resource is: its stack, logical id and region."""

    stack: str
    logical_id: str
    region: str

    @property
    def key(self) -> str:
        return f"{self.stack}/{self.logical_id}"


def _table(site: _Site, props: Mapping[str, Any]) -> Symbol:
    name = props["TableName"] if isinstance(props.get("TableName"), str) else f"{site.stack}-{site.logical_id}"
    arn = f"arn:aws:dynamodb:{site.region}:{ACCOUNT_ID}:table/{name}"
    attributes = {"Arn": arn}
    if (props.get("StreamSpecification") or {}).get("StreamViewType"):
        attributes["StreamArn"] = f"{arn}/stream/{LOCAL_STREAM_LABEL}"
    return Symbol(name, attributes)


def _queue(site: _Site, props: Mapping[str, Any]) -> Symbol:
    name = props.get("QueueName")
    if not isinstance(name, str):
        # CloudFormation's generated names: the stack and logical id, within SQS's 80 characters.
        suffix = ".fifo" if str(props.get("FifoQueue", "false")).lower() == "true" else ""
        name = f"{site.stack}-{site.logical_id}"[: 80 - len(suffix)] + suffix
    url = f"https://sqs.{site.region}.amazonaws.com/{ACCOUNT_ID}/{name}"
    return Symbol(url, {"Arn": f"arn:aws:sqs:{site.region}:{ACCOUNT_ID}:{name}", "QueueName": name, "QueueUrl": url})


def _user_pool(site: _Site, props: Mapping[str, Any]) -> Symbol:
    pool_id = f"{site.region}_{local_id(site.key, 9, string.ascii_letters + string.digits)}"
    return Symbol(pool_id, {
        "Arn": f"arn:aws:cognito-idp:{site.region}:{ACCOUNT_ID}:userpool/{pool_id}",
        "ProviderURL": f"cognito-idp.{site.region}.amazonaws.com/{pool_id}",
    })


def _function(site: _Site, props: Mapping[str, Any]) -> Symbol:
    return Symbol(site.logical_id, {"Arn": f"arn:aws:lambda:{site.region}:{ACCOUNT_ID}:function:{site.logical_id}"})


_SYMBOLS: dict[str, Callable[[_Site, Mapping[str, Any]], Symbol]] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::DynamoDB::GlobalTable": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": lambda site, props: Symbol(local_id(site.key, 26)),
    # Ref of a resource server is its identifier, the prefix of its scopes.
    "AWS::Cognito::UserPoolResourceServer": lambda site, props: Symbol(props.get("Identifier", site.logical_id)),
    "AWS::Lambda::Function": _function,
    "AWS::Lambda::LayerVersion": lambda site, props: Symbol(
        f"arn:aws:lambda:{site.region}:{ACCOUNT_ID}:layer:{site.logical_id}:1"
    ),
    # A stable local stand-in for the API's id: /restapis/<id>/<stage>/_user_request_/... reaches it.
    "AWS::ApiGateway::RestApi": lambda site, props: Symbol(local_id(site.key, 10)),
    "AWS::ApiGateway::Stage": lambda site, props: Symbol(props.get("StageName", site.logical_id)),
    # Ref of a model is its name, which a method's RequestModels name it by.
    "AWS::ApiGateway::Model": lambda site, props: Symbol(props.get("Name", site.logical_id)),
}


def symbol_table(stack: str, resources: Mapping[str, Mapping[str, Any]], region: str) -> dict[str, Symbol]:
    """The symbol of every resource of a kind local mode emulates, by logical id: the first pass."""
    symbols = {}
    for logical_id, resource in resources.items():
        build = _SYMBOLS.get(resource.get("Type", ""))
        if build is not None:
            symbols[logical_id] = build(_Site(stack, logical_id, region), resource.get("Properties") or {})
    return symbols


class Intrinsics:
    """The intrinsic functions of one stack's template, resolved against its symbol table.

    ``exports`` are the exports of the stacks read before (for ``Fn::ImportValue``); ``warnings``
    receives what ``resolve_or_warn`` could not resolve.
    """

    def __init__(
        self, stack: str, template: Mapping[str, Any], region: str, exports: Mapping[str, str], warnings: list[str]
    ) -> None:
        self.stack = stack
        self.template = template
        self.region = region
        self.symbols = symbol_table(stack, template.get("Resources", {}), region)
        self._exports = exports
        self._warnings = warnings
        self._evaluating: set[str] = set()

    def ref(self, logical_id: str) -> str:
        """The ``Ref`` value of a resource of this template."""
        return self.resolve({"Ref": logical_id})

    def attribute(self, logical_id: str, name: str) -> str:
        """An attribute (``Fn::GetAtt``) of a resource of this template."""
        return self.resolve({"Fn::GetAtt": [logical_id, name]})

    def resolve_or_warn(self, value: Any, where: str, consequence: str) -> str | None:
        """``resolve``, or None with a warning that names the resource and property and what follows."""
        try:
            return self.resolve(value)
        except Unresolved as error:
            self._warnings.append(f"{where}: {error} cannot be resolved locally: {consequence}")
            return None

    def strings(self, values: list[Any], where: str, consequence: str) -> tuple[str, ...]:
        """Each value resolved; one that cannot be is left out, with a warning."""
        resolved = (self.resolve_or_warn(value, where, consequence) for value in values)
        return tuple(value for value in resolved if value is not None)

    def resolve(self, value: Any) -> str:
        """A property value as a string, with the intrinsic functions resolved; Unresolved where it cannot be."""
        resolved = self._evaluate(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (int, float, str)):
            return str(resolved)
        raise Unresolved(f"a {type(resolved).__name__} value ({json.dumps(value)[:80]})")

    def _evaluate(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return [self._evaluate(item) for item in value] if isinstance(value, list) else value
        if len(value) != 1:
            raise Unresolved(json.dumps(value)[:80])
        (function, argument), = value.items()
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            symbol = self.symbols.get(logical_id)
            if symbol is None or attribute not in symbol.attributes:
                raise Unresolved(f"Fn::GetAtt {logical_id}.{attribute}")
            return self._symbol_value(logical_id, symbol.attributes[attribute])
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(self.resolve(part) for part in self._evaluate(parts))
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return re.sub(
                r"\$\{([^}!][^}]*)\}",
                lambda m: self.resolve(variables[m.group(1)]) if m.group(1) in variables else self._substitute(m.group(1)),
                text,
            ).replace("${!", "${")
        if function == "Fn::Select":
            index, items = argument
            items = self._evaluate(items)
            return items[int(self._evaluate(index))]
        if function == "Fn::Split":
            separator, text = argument
            return self.resolve(text).split(separator)
        if function == "Fn::If":
            condition, when_true, when_false = argument
            return self._evaluate(when_true if self._condition(condition) else when_false)
        if function == "Fn::ImportValue":
            name = self.resolve(argument)
            if name not in self._exports:
                raise Unresolved(f"Fn::ImportValue {name!r} (an export of no stack of this app)")
            return self._exports[name]
        if function == "Fn::GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        raise Unresolved(function)

    def _ref(self, name: str) -> str:
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.symbols:
            return self._symbol_value(name, self.symbols[name].ref)
        parameter = self.template.get("Parameters", {}).get(name)
        if parameter is not None and "Default" in parameter:
            return str(parameter["Default"])
        raise Unresolved(f"Ref {name}")

    def _symbol_value(self, logical_id: str, value: Any) -> str:
        """A symbol's value, evaluated where it is an expression; a template that refers to itself in a loop
        (which CloudFormation refuses) is Unresolved rather than endless."""
        if logical_id in self._evaluating:
            raise Unresolved(f"a circular reference through {logical_id}")
        self._evaluating.add(logical_id)
        try:
            return self.resolve(value)
        finally:
            self._evaluating.discard(logical_id)

    def _substitute(self, name: str) -> str:
        if "." in name:
            return self.resolve({"Fn::GetAtt": name.split(".", 1)})
        return self._ref(name)

    def _condition(self, name: str) -> bool:
        """A condition of the template's Conditions section, where its values can be known."""
        condition = self.template.get("Conditions", {}).get(name)
        if condition is None:
            raise Unresolved(f"Condition {name}")
        return self._truth(condition)

    def _truth(self, expression: Any) -> bool:
        (function, argument), = expression.items()
        if function == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return left == right
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Fn::And":
            return all(self._truth(item) for item in argument)
        if function == "Fn::Or":
            return any(self._truth(item) for item in argument)
        if function == "Condition":
            return self._condition(argument)
        raise Unresolved(function)

    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack,
        }.get(name)
