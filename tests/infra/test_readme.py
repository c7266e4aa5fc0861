"""The README's props table says what the code does: every prop, and every default the code states."""

from __future__ import annotations

import inspect
import re

import pytest
from aws_cdk import Duration

from serverless_meta import ServerlessCrudApi, defaults
from tests.support import ROOT

PARAMETERS = {
    name: parameter
    for name, parameter in inspect.signature(ServerlessCrudApi.__init__).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
}


def documented_props() -> dict[str, str]:
    """prop -> its default cell, from the README's table under "## Props"."""
    section = ROOT.joinpath("README.md").read_text().split("\n## Props\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]*) \|", section, flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def effective_default(name: str) -> object:
    """The default a prop has when left out: the signature's, or for None, what defaults.py says it means."""
    default = PARAMETERS[name].default
    return getattr(defaults, name.upper(), None) if default is None else default


def test_the_readme_documents_every_prop_and_no_other():
    assert sorted(documented_props()) == sorted(PARAMETERS)


@pytest.mark.parametrize("name", [n for n in PARAMETERS if isinstance(effective_default(n), (bool, int, str, Duration))])
def test_the_readme_states_each_plain_default_as_the_code_does(name):
    default = effective_default(name)
    if isinstance(default, bool):
        shown = f"`{default}`"
    elif isinstance(default, str):
        shown = f'`"{default}"`'
    elif isinstance(default, Duration):
        shown = default.to_human_string()
    else:
        shown = f"`{default}`"
    assert shown in documented_props()[name], f"README says {documented_props()[name]!r} for {name}, the code {shown}"


def test_the_docstring_documents_every_prop_with_its_default():
    docstring = inspect.getdoc(ServerlessCrudApi.__init__)
    for name in PARAMETERS:
        assert re.search(rf":param {name}: .*?:default:", docstring, flags=re.DOTALL), name


def test_the_readme_states_the_default_throttling():
    cell = documented_props()["throttling"]
    assert f"rate {defaults.THROTTLING.rate_limit:g}/s" in cell and f"burst {defaults.THROTTLING.burst_limit}" in cell
