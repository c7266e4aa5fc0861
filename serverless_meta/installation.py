"""This copy of serverless-meta: its version, where it was installed from, and whether local mode is.

The library is installed from a path, a wheel or a git URL (it is on no package index). pip records
where in the distribution's ``direct_url.json`` (PEP 610), so a requirement written from it installs
this very copy again: the starter's requirements file pins the library with it, and the line that says
local mode is missing tells how to add the extra.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from typing import Any

DISTRIBUTION = "serverless-meta"
LOCAL_EXTRA = "local"
# What the ``local`` extra installs, by the name it is imported by: local mode's HTTP server, tokens,
# DynamoDB and request validation (waitress, PyJWT with cryptography, moto and boto3, jsonschema), the
# testing kit's client (requests), and what the handlers run on in local mode's worker processes (Powertools).
LOCAL_MODE_MODULES = (
    "waitress", "jwt", "cryptography", "moto", "boto3", "jsonschema", "requests", "aws_lambda_powertools"
)


def version() -> str:
    return importlib.metadata.version(DISTRIBUTION)


def requirement(extras: str = "") -> str:
    """A requirement (PEP 508) for this version of serverless-meta, with ``extras``, from where it came."""
    name = f"{DISTRIBUTION}[{extras}]" if extras else DISTRIBUTION
    origin = _direct_url()
    if origin is None:
        return f"{name}=={version()}"
    vcs = origin.get("vcs_info")
    if vcs:
        return f"{name} @ {vcs['vcs']}+{origin['url']}@{vcs['commit_id']}"
    return f"{name} @ {origin['url']}"


def missing_local_mode() -> str | None:
    """The first module of the ``local`` extra that is not installed, or None when local mode can run."""
    return next((module for module in LOCAL_MODE_MODULES if importlib.util.find_spec(module) is None), None)


def local_mode_hint(command: str, missing: str) -> str:
    """One line: ``command`` needs the ``local`` extra, and the pip command that adds it to this install."""
    origin = _direct_url() or {}
    if origin.get("dir_info", {}).get("editable"):
        install = f'pip install -e "{origin["url"].removeprefix("file://")}[{LOCAL_EXTRA}]"'
    else:
        install = f'pip install "{requirement(LOCAL_EXTRA)}"'
    return f"{command} needs serverless-meta's {LOCAL_EXTRA!r} extra ({missing} is not installed): {install}"


def _direct_url() -> dict[str, Any] | None:
    text = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    if not text:
        return None
    origin: dict[str, Any] = json.loads(text)  # PEP 610's direct_url.json is one object
    return origin
