"""The cloud assembly local mode serves: synthesized from the app, or an existing cdk.out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from serverless_meta.local.model import DEFAULT_REGION, Asset, LocalApp
from serverless_meta.local.template import read_app

# What the cdk CLI would pass, plus: asset paths point at the source, so handler edits are live.
_LOCAL_CONTEXT = {
    "aws:cdk:disable-asset-staging": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:enable-path-metadata": True,
}


class SynthesisError(Exception):
    pass


def synthesize(app_dir: Path, outdir: Path) -> Path:
    """Run the app command of ``app_dir/cdk.json`` as the cdk CLI does, into ``outdir``."""
    config_file = app_dir / "cdk.json"
    if not config_file.exists():
        raise SynthesisError(f"{config_file} does not exist: run from a CDK app's directory or pass --app-dir")
    config = json.loads(config_file.read_text())
    context = dict(config.get("context", {}))
    saved_context = app_dir / "cdk.context.json"
    if saved_context.exists():
        context.update(json.loads(saved_context.read_text()))
    context.update(_LOCAL_CONTEXT)
    outdir.mkdir(parents=True, exist_ok=True)
    environ = {**os.environ, "CDK_OUTDIR": str(outdir.resolve()), "CDK_CONTEXT_JSON": json.dumps(context)}
    node_bin = app_dir / "node_modules" / ".bin"
    if node_bin.is_dir():
        environ["PATH"] = f"{node_bin.resolve()}{os.pathsep}{environ['PATH']}"
    # Its own process group: an interrupted synthesis takes the app (and its Node.js) down with it.
    process = subprocess.Popen(
        config["app"], shell=True, cwd=app_dir, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )
    try:
        _, stderr = process.communicate()
    except BaseException:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        raise
    if process.returncode != 0:
        raise SynthesisError(f"synthesis failed ({config['app']}):\n{stderr[-4000:]}")
    return outdir


def load(assembly_dir: Path) -> LocalApp:
    """Every stack template of the assembly, with its region.

    Its paths are absolute from here on: a function's environment runs in its code directory, where a
    path relative to the directory local mode started in (``--cdk-out cdk.out``) would lead nowhere.
    """
    assembly_dir = Path(assembly_dir).resolve()
    manifest_file = assembly_dir / "manifest.json"
    if not manifest_file.exists():
        raise SynthesisError(f"{assembly_dir} holds no cloud assembly (no manifest.json)")
    manifest = json.loads(manifest_file.read_text())
    templates = {}
    assets: dict[str, Asset] = {}
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") == "cdk:asset-manifest":
            assets.update(_file_assets(assembly_dir, assembly_dir / artifact["properties"]["file"]))
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = json.loads((assembly_dir / artifact["properties"]["templateFile"]).read_text())
        region = artifact.get("environment", "").rsplit("/", 1)[-1]
        templates[name] = (template, DEFAULT_REGION if region in ("", "unknown-region") else region)
    return read_app(templates, assembly_dir, assets)


def _file_assets(assembly_dir: Path, manifest_file: Path) -> dict[str, Asset]:
    """The S3 object key each file asset is published under -> its source in the assembly."""
    assets = {}
    for entry in json.loads(manifest_file.read_text()).get("files", {}).values():
        source = entry.get("source", {})
        if "path" not in source:
            continue  # built by a command at publish time: no source here
        asset = Asset(assembly_dir / source["path"], source.get("packaging", "file"))
        for destination in entry.get("destinations", {}).values():
            assets[destination["objectKey"]] = asset
    return assets
