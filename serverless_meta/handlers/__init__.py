"""The handler code that runs in Lambda (Lambda's code root), as part of the installed package.

In a wheel, the repository's ``lambda/`` is copied here (build_hooks.py). In a checkout, this
package's path also holds ``lambda/`` itself, so that ``serverless_meta.handlers.crud_api`` is the
code being edited. Lambda never imports this file, and the asset leaves it out.
"""

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2] / "lambda"
if (_CHECKOUT / "crud_api").is_dir():
    __path__.append(str(_CHECKOUT))
