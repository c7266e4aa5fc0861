"""The wheel's build step that puts the handler code (the repository's ``lambda/``) inside the package.

The handler code lives in ``lambda/``, Lambda's code root, beside the library. A wheel carries it
as ``serverless_meta/handlers/``, where the construct finds it wherever the package is installed;
in a checkout (an editable install, or the tests), ``serverless_meta/handlers/__init__.py`` points
the package at ``lambda/`` itself. No package-dir mapping: the editable install is the checkout's
root as a path entry, with no import hook (setuptools warns about folders that could shadow one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools.command.build_py import build_py

HANDLER_CODE = Path(__file__).resolve().parent / "lambda"


class BuildPyWithHandlers(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            target = Path(self.build_lib, "serverless_meta", "handlers")
            shutil.copytree(HANDLER_CODE, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
