"""The handler tests run on the Python of the Lambda runtime the construct deploys."""

from __future__ import annotations

import sys

from tests.support import resources_of_type


def test_the_handler_tests_run_on_the_python_of_the_runtime_every_function_is_deployed_on(sample_template):
    functions = resources_of_type(sample_template, "AWS::Lambda::Function").values()
    runtimes = {function["Properties"]["Runtime"] for function in functions}

    assert runtimes == {f"python{sys.version_info.major}.{sys.version_info.minor}"}, (
        "make setup builds the venv on the deployed runtime's Python (README: Python versions)"
    )
