"""``serverless-meta init [DIR]``: a new CDK app that uses serverless-meta, as ``cdk init`` writes one.

The app's files are ``app-template/`` beside this module (data: no import can name the folder), with
``{{stack}}`` (a stack name made from the directory's name), ``{{version}}`` and ``{{requirement}}``
(this copy of serverless-meta, pinned to where it was installed from) filled in. init writes into a
new or existing directory, but overwrites nothing: if any of its files is there already, it writes none.
"""

from __future__ import annotations

import argparse
import importlib.resources
import re
import sys
from importlib.resources.abc import Traversable
from pathlib import Path

from serverless_meta import installation

# A file named .gitignore in the package would hide the template's own files from version control.
_RENAMED = {"gitignore": ".gitignore"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="serverless-meta init",
        description="Write a new CDK app with one serverless-meta service, its tests and its README.",
    )
    parser.add_argument(
        "directory", nargs="?", type=Path, default=Path.cwd(), help="where to write it, created if need be (default: here)"
    )
    directory = parser.parse_args(argv).directory
    try:
        written = write_app(directory)
    except FileExistsError as error:
        print(f"serverless-meta init: {error}", file=sys.stderr)
        return 1
    print(f"Wrote {len(written)} files into {directory}: a CDK app with one serverless-meta service (app.py).")
    print(f"Next: cd {directory}, then `make test` (its tests) or `make local` (the app on localhost); see README.md.")
    return 0


def write_app(directory: Path) -> list[Path]:
    """Write the app's files into ``directory``; FileExistsError, and nothing written, if any is there."""
    values = {
        "{{stack}}": stack_name(directory.resolve().name),
        "{{version}}": installation.version(),
        "{{requirement}}": installation.requirement(),
    }
    files = {path: _render(source.read_text(), values) for path, source in _template_files()}
    existing = sorted(str(path) for path in files if (directory / path).exists())
    if existing:
        raise FileExistsError(f"{directory} already has {', '.join(existing)}: init overwrites nothing, and wrote nothing")
    for path, text in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return [directory / path for path in files]


def stack_name(directory_name: str) -> str:
    """``orders-service`` -> ``OrdersService``: a CloudFormation stack name (a letter, then letters and digits)."""
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", directory_name))
    return name if name[:1].isalpha() else f"App{name}"


def _template_files(folder: Traversable | None = None, prefix: Path = Path()) -> list[tuple[Path, Traversable]]:
    folder = folder or importlib.resources.files(__name__) / "app-template"
    found = []
    for entry in folder.iterdir():
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            found += _template_files(entry, prefix / entry.name)
        else:
            found.append((prefix / _RENAMED.get(entry.name, entry.name), entry))
    return found


def _render(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text
