"""The handler code's asset: its sources and, where the runtime's Python is at hand, their bytecode (serverless_meta/bytecode.py)."""

from __future__ import annotations

import marshal
import subprocess
import sys
import warnings
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from serverless_meta import bytecode
from serverless_meta.functions import WORKER_LAYER_DIR, handler_code_dir
from serverless_meta.powertools import RUNTIME

EXCLUDED = ["__init__.py", WORKER_LAYER_DIR]


@pytest.fixture
def no_compiler_cache():
    bytecode._compiler.cache_clear()
    yield
    bytecode._compiler.cache_clear()


def staged(tmp_path: Path, runtime: lambda_.Runtime = RUNTIME, **context) -> tuple[Path, str]:
    """Where the handler code's asset is staged, and its object key, in a stack of its own."""
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path / "cdk.out"), context=context), "Asset")
    code = bytecode.code_with_bytecode(stack, handler_code_dir(), runtime=runtime, exclude=EXCLUDED)
    key = code.bind(stack).s3_location.object_key
    return asset_path(stack), key


def asset_path(stack: cdk.Stack) -> Path:
    """Where the stack's one asset is: staged assets are named relative to the cloud assembly."""
    return Path(stack.node.root.outdir) / stack.node.find_child("Code").asset_path


def test_the_asset_holds_the_sources_and_the_runtimes_bytecode(tmp_path):
    path, _ = staged(tmp_path)

    assert sorted(child.name for child in path.iterdir()) == ["crud_api"]
    sources = sorted(source.stem for source in (path / "crud_api").glob("*.py"))
    compiled = sorted(pyc.name.split(".")[0] for pyc in (path / "crud_api" / "__pycache__").glob("*.cpython-313.pyc"))
    assert compiled == sources and "app" in sources
    assert list(path.rglob("*.pyc")) == list(path.rglob("*.cpython-313.pyc"))


def test_an_asset_of_the_sources_alone_has_a_hash_of_its_own(tmp_path, monkeypatch):
    _, with_bytecode = staged(tmp_path / "with")
    monkeypatch.setattr(bytecode, "_compiler", lambda _version: None)

    path, sources_alone = staged(tmp_path / "without")

    assert not list(path.rglob("__pycache__")) and (path / "crud_api" / "app.py").is_file()
    assert sources_alone != with_bytecode


def test_tools_that_run_the_code_in_place_get_the_sources_where_they_are(tmp_path):
    path, _ = staged(tmp_path, **{bytecode.DISABLE_ASSET_STAGING: True})

    assert path == handler_code_dir()


def this_interpreter() -> bytecode.Compiler:
    return bytecode._compiler("3.13")


def another_interpreter() -> bytecode.Compiler:
    """The same Python under another name: the asset compiles in a process of its own."""
    return bytecode.Compiler(str(Path(sys.executable).resolve()), sys.implementation.cache_tag)


def a_package(root: Path, source: str = "VALUE = 1\n") -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text(source)
    return root / "pkg"


def test_the_environments_settings_do_not_move_or_rename_the_bytecode(tmp_path, monkeypatch):
    """PYTHONPYCACHEPREFIX would put it elsewhere, PYTHONOPTIMIZE name it .opt-1.pyc: Lambda would load neither."""
    package = a_package(tmp_path)
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PYTHONOPTIMIZE", "1")

    bytecode.compile_tree(tmp_path, another_interpreter())

    assert [p.name for p in (package / "__pycache__").iterdir()] == ["mod.cpython-313.pyc"]
    assert not (tmp_path / "elsewhere").exists()


def test_a_synthesis_run_optimized_compiles_the_bytecode_lambda_loads(tmp_path):
    """Under python -O this interpreter would write .opt-1.pyc of its own accord, which Lambda never loads."""
    package = a_package(tmp_path / "code")
    compile_here = (
        "import pathlib, sys; from serverless_meta import bytecode; "
        "bytecode.compile_tree(pathlib.Path(sys.argv[1]), bytecode._compiler('3.13'))"
    )

    subprocess.run([sys.executable, "-O", "-c", compile_here, str(tmp_path / "code")], check=True, timeout=120)

    assert [p.name for p in (package / "__pycache__").iterdir()] == ["mod.cpython-313.pyc"]


@pytest.mark.parametrize("compiler", [this_interpreter, another_interpreter], ids=["in process", "in another"])
def test_the_apps_warning_filters_do_not_fail_the_compile(tmp_path, compiler):
    """A SyntaxWarning (an invalid escape) is the code's own business; an app that turns warnings into errors still synthesizes."""
    package = a_package(tmp_path / "code", 'PATTERN = "\\d+"\n')

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bytecode.compile_tree(tmp_path / "code", compiler())

    assert [p.name for p in (package / "__pycache__").iterdir()] == ["mod.cpython-313.pyc"]


def test_this_interpreter_compiles_without_starting_another(tmp_path, monkeypatch):
    def no_second_python(*args, **kwargs):
        raise AssertionError(f"a second Python started: {args}")

    monkeypatch.setattr(bytecode.subprocess, "run", no_second_python)

    path, _ = staged(tmp_path)

    assert (path / "crud_api" / "__pycache__" / "app.cpython-313.pyc").is_file()


def test_an_interpreter_that_keeps_its_bytecode_elsewhere_hands_the_compile_to_a_fresh_one(tmp_path, monkeypatch):
    package = a_package(tmp_path / "code")
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "elsewhere"))

    bytecode.compile_tree(tmp_path / "code", this_interpreter())

    assert [p.name for p in (package / "__pycache__").iterdir()] == ["mod.cpython-313.pyc"]
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("compiler", [this_interpreter, another_interpreter], ids=["in process", "in another"])
def test_the_bytecode_names_its_source_as_lambda_has_it_and_a_broken_source_says_where(tmp_path, compiler):
    package = a_package(tmp_path / "code", "def broken(:\n")
    (package / "fine.py").write_text("def fails():\n    raise ValueError\n")

    with pytest.raises(RuntimeError, match=r"does not compile with .*mod\.py"):
        bytecode.compile_tree(tmp_path / "code", compiler())

    loaded = marshal.loads((package / "__pycache__" / "fine.cpython-313.pyc").read_bytes()[16:])
    assert loaded.co_filename == "/var/task/pkg/fine.py"


@pytest.mark.parametrize(
    "script",
    ["#!/bin/sh\necho 'pyenv: python3.99: command not found' >&2\nexit 127\n", "#!/bin/sh\necho 3.12 cpython-312\n"],
    ids=["a shim for no interpreter", "another version"],
)
def test_only_a_python_that_starts_as_the_runtimes_version_compiles(tmp_path, monkeypatch, no_compiler_cache, script):
    fake = tmp_path / "python3.99"
    fake.write_text(script)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")

    assert bytecode._compiler("3.99") is None
    bytecode._compiler.cache_clear()
    fake.write_text("#!/bin/sh\necho 3.99 cpython-399\n")
    assert bytecode._compiler("3.99") == bytecode.Compiler(str(fake), "cpython-399")


def test_without_the_runtimes_python_the_sources_ship_alone(tmp_path, no_compiler_cache, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")

    path, _ = staged(tmp_path, lambda_.Runtime("python3.99", lambda_.RuntimeFamily.PYTHON))

    assert (path / "crud_api" / "app.py").is_file() and not list(path.rglob("*.pyc"))
