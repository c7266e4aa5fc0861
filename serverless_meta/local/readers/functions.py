"""Lambda functions (code, runtime, environment, limits), the layers whose content is an asset of the
assembly, and the aliases and versions that run a function's code."""

from __future__ import annotations

from pathlib import Path

from serverless_meta.local.intrinsics import Unresolved
from serverless_meta.local.model import Function, LocalApp
from serverless_meta.local.readers.stack import StackTemplate


def read(stack: StackTemplate, app: LocalApp) -> None:
    layers = _layer_dirs(stack)
    for logical_id, resource in stack.of_type("AWS::Lambda::Function").items():
        props = resource.get("Properties", {})
        name = stack.path_of(logical_id, resource)
        code_dir, unavailable = _asset_dir(stack, resource, "Code")
        runtime = props.get("Runtime", "")
        if unavailable is None and not runtime.startswith("python"):
            unavailable = f"runtime {runtime or '(none: a container image)'} is not emulated, only Python"
        environment = {}
        for variable, value in props.get("Environment", {}).get("Variables", {}).items():
            resolved = stack.intrinsics.resolve_or_warn(
                value, f"{name} Environment.Variables.{variable}", "the variable is left out"
            )
            if resolved is not None:
                environment[variable] = resolved
        reserved = props.get("ReservedConcurrentExecutions")
        app.functions[stack.key(logical_id)] = Function(
            key=stack.key(logical_id),
            name=name,
            code_dir=code_dir,
            region=stack.region,
            handler=props.get("Handler", ""),
            runtime=runtime,
            environment=environment,
            timeout=int(props.get("Timeout", 3)),
            memory_size=int(props.get("MemorySize", 128)),
            reserved_concurrency=int(reserved) if isinstance(reserved, (int, str)) and str(reserved).isdigit() else None,
            unavailable=unavailable,
            # Layers that are no asset (the AWS-published Powertools, say) come from the interpreter's packages.
            layer_dirs=tuple(
                layers[layer["Ref"]]
                for layer in props.get("Layers", [])
                if isinstance(layer, dict) and layer.get("Ref") in layers
            ),
        )


def aliased_functions(stack: StackTemplate) -> dict[str, str]:
    """The logical id of each alias or version of the stack -> that of the function whose code it runs.

    An alias or a published version runs its function's code: integrations that invoke one
    (provisioned concurrency, SnapStart) reach the function.
    """
    functions = stack.of_type("AWS::Lambda::Function")
    aliased = {}
    for logical_id, resource in stack.of_type("AWS::Lambda::Alias", "AWS::Lambda::Version").items():
        function = resource.get("Properties", {}).get("FunctionName")
        if isinstance(function, dict) and function.get("Ref") in functions:
            aliased[logical_id] = function["Ref"]
    return aliased


def _layer_dirs(stack: StackTemplate) -> dict[str, Path]:
    """Layer version logical id -> the ``python`` directory of its content, where that is an asset (Lambda's /opt/python)."""
    layers = {}
    for logical_id, resource in stack.of_type("AWS::Lambda::LayerVersion").items():
        content, _ = _asset_dir(stack, resource, "Content")
        if content is not None and (content / "python").is_dir():
            layers[logical_id] = content / "python"
    return layers


def _asset_dir(stack: StackTemplate, resource: dict, prop: str) -> tuple[Path | None, str | None]:
    """The directory of a function's code (``prop`` Code) or a layer's content (Content), from its asset
    metadata or the assets manifest; or why there is none."""
    metadata = resource.get("Metadata", {})
    code = resource.get("Properties", {}).get(prop, {})
    asset_path = metadata.get("aws:asset:path") if metadata.get("aws:asset:property") == prop else None
    if asset_path is None and "S3Key" in code:
        try:
            asset = stack.assets.get(stack.intrinsics.resolve(code["S3Key"]))
        except Unresolved:
            asset = None
        if asset is None:
            return None, "its code is in S3, not an asset of this cloud assembly"
        if asset.packaging != "zip":
            return None, f"its code is a {asset.packaging} asset ({asset.path.name}), not a directory"
        asset_path = str(asset.path)
    if asset_path is None:
        kind = "inline code (ZipFile)" if "ZipFile" in code else "a container image" if "ImageUri" in code else "no code"
        return None, f"it has {kind}, not a directory asset"
    path = Path(asset_path) if Path(asset_path).is_absolute() else stack.assembly_dir / asset_path
    if not path.is_dir():
        return None, f"its code directory {path} does not exist"
    return path, None
