"""The compiled copies of intake's pure modules (router/native.py): used when built from these sources,
set aside when not, and the Python sources give the same results."""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from router import native

ROOT = Path(__file__).resolve().parent.parent
_WHERE = "import router.core.groups as g, router.prepare as p; print(g.__file__); print(p.__file__)"


def _python(code: str, *, path: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != native.DISABLE} | env
    if path is not None:
        environ["PYTHONPATH"] = str(path)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120,
                          cwd=path or ROOT, check=True)


def _compiled() -> bool:
    return native.status({})[0]


def test_make_install_compiles_them_where_a_c_compiler_is() -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: the Python sources run (the other tests cover both)")
    use, why = native.status({})
    assert use, why  # make install (and make test) build them; a failed build shows here
    files = [Path(f) for f in _python(_WHERE).stdout.split()]
    assert [f.parent for f in files] == [ROOT / "router" / "core", ROOT / "router"]
    assert all(f.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)) for f in files), files


def test_router_pure_python_runs_the_sources() -> None:
    out = _python(_WHERE, ROUTER_PURE_PYTHON="1").stdout.split()
    assert out == [str(native._source("router.core.groups")), str(native._source("router.prepare"))]
    assert native.status({"ROUTER_PURE_PYTHON": "1"})[0] is False


@pytest.mark.skipif(not _compiled(), reason="needs the compiled modules (make install)")
def test_a_source_changed_after_the_build_sets_every_compiled_module_aside(tmp_path: Path) -> None:
    copy = tmp_path / "router"
    shutil.copytree(ROOT / "router", copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert _python(_WHERE, path=tmp_path).stdout.split()[0].endswith(".so")  # the copy, as built
    groups = copy / "core" / "groups.py"
    groups.write_text(groups.read_text() + "\n# edited after the build\n")
    run = _python(_WHERE, path=tmp_path)
    # groups.py changed, prepare.py did not: both run from source, as compiled modules call each other directly
    assert run.stdout.split() == [str(groups), str(copy / "prepare.py")]
    assert "the compiled modules were built from other sources" in run.stderr


def test_the_python_sources_pass_the_core_tests() -> None:
    """The suite runs on the compiled modules when they are built: the sources, the reference, are tested here."""
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/core"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600,
                         env=os.environ | {"ROUTER_PURE_PYTHON": "1"})
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout.splitlines()[-1] and "failed" not in run.stdout.splitlines()[-1]
