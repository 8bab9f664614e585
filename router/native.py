"""Compiled copies of intake's pure modules (mypyc), used only while they match their sources.

The helper process spends its time in a few pure modules (text folding, group matching, targets,
origins, the preparation of a batch). ``make install`` compiles them with mypyc into extension
modules beside their sources (``router native build``): the same code, with its type
annotations enforced at run time, in about a fifth fewer instructions a report. They are an
acceleration, never a requirement:

* no C compiler, or no mypyc: the build says so and the router runs its Python sources;
* a source edited after the build (the extension would shadow it, as Python prefers an extension
  module to a source file of the same name): every compiled module is set aside until the next
  build, as they call each other directly and cannot be mixed with newer sources;
* ``ROUTER_PURE_PYTHON=1``: the sources, always (to compare, or to rule the compiled code out).

The build records a digest of the sources it compiled (``router/_native.json``); ``guard`` (run by
``router/__init__`` before anything else of the router is imported) compares it with the sources.
``router native status`` says which code runs and why.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

MODULES: Final = (
    "router.core.textnorm",
    "router.core.groups",
    "router.core.targets",
    "router.core.urls",
    "router.core.enrich",
    "router.core.origins",
    "router.core.priority",
    "router.core.mirrors",
    "router.prepare",
)
GROUP: Final = "router._native"  # the shared library of the group: router/_native__mypyc.*.so
DISABLE: Final = "ROUTER_PURE_PYTHON"
_PACKAGE: Final = Path(__file__).resolve().parent
_ROOT: Final = _PACKAGE.parent
_STAMP: Final = _PACKAGE / "_native.json"


def _source(module: str) -> Path:
    return _ROOT.joinpath(*module.split(".")).with_suffix(".py")


def _extensions(module: str) -> list[Path]:
    path = _source(module)
    return [path.with_name(path.stem + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES
            if path.with_name(path.stem + suffix).exists()]


def digest() -> str:
    """Of the compiled modules' sources, in order."""
    h = hashlib.sha256()
    for module in MODULES:
        h.update(module.encode() + b"\0" + _source(module).read_bytes() + b"\0")
    return h.hexdigest()


def _built_digest() -> str | None:
    try:
        return str(json.loads(_STAMP.read_text())["digest"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


_NOT_COMPILED: Final = "not compiled (the Python sources run; `make install` compiles them where a C compiler is)"
_STALE: Final = ("the compiled modules were built from other sources: the Python sources run until "
                 "`make install` compiles them again")


def status(environ: Any = os.environ) -> tuple[bool, str]:
    """Whether the compiled modules are to be used, and why (or why not)."""
    built = [m for m in MODULES if _extensions(m)]
    if not built:
        return False, _NOT_COMPILED
    if environ.get(DISABLE, "").strip().lower() in ("1", "true", "yes", "on"):
        return False, f"{DISABLE} is set: the Python sources run"
    if len(built) != len(MODULES) or not _extensions(GROUP + "__mypyc") or _built_digest() != digest():
        return False, _STALE
    return True, f"compiled: {len(MODULES)} modules (mypyc)"


class _Sources(importlib.abc.MetaPathFinder):
    """Imports the compiled modules' names from their ``.py`` files."""

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: Any = None) -> Any:
        if name not in MODULES:
            return None
        return importlib.util.spec_from_file_location(name, _source(name))


def guard() -> None:
    """Set the compiled modules aside when they must not run (see the module's docstring). Warns on
    standard error when they are there but stale, as that is what a developer needs to know."""
    use, why = status()
    if use or why == _NOT_COMPILED or any(isinstance(finder, _Sources) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _Sources())
    if why == _STALE:
        print(f"router: {why}", file=sys.stderr)


def build(verbose: bool = False) -> int:
    """Compile ``MODULES`` in place with mypyc; 0 when done. Run from anywhere."""
    try:
        from mypyc.build import mypycify
        from setuptools import Distribution
    except ImportError as exc:
        print(f"router native: {exc.name} is not installed (pip install -e '.[native]'): "
              "the Python sources will run", file=sys.stderr)
        return 1
    clean()
    paths = [str(_source(m).relative_to(_ROOT)) for m in MODULES]
    log = _ROOT / "build" / "native" / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    before = os.getcwd()
    os.chdir(_ROOT)  # mypyc names the modules by their paths from here
    try:
        source_digest = digest()
        with contextlib.nullcontext() if verbose else _output_to(log):
            extensions = mypycify(["--ignore-missing-imports", "--follow-imports=silent", *paths],
                                  group_name=GROUP, target_dir="build/native", verbose=verbose)
            dist = Distribution({"name": "router-native", "ext_modules": extensions})
            command: Any = dist.get_command_obj("build_ext")
            command.inplace = True
            command.build_temp = "build/native/temp"
            dist.run_command("build_ext")
    except (Exception, SystemExit) as exc:  # (distutils reports a compiler failure as SystemExit)
        print(f"router native: the build failed ({exc}; the compiler's output is in {log}): "
              "the Python sources will run", file=sys.stderr)
        clean()
        return 1
    finally:
        os.chdir(before)
    _STAMP.write_text(json.dumps({"digest": source_digest, "modules": list(MODULES)}) + "\n")
    return 0


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Standard output and error, the compiler's (a child process) included, into ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("wb") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def clean() -> None:
    """Remove the compiled modules and their record (the Python sources run)."""
    for module in (*MODULES, GROUP + "__mypyc"):
        for path in _extensions(module):
            path.unlink()
    _STAMP.unlink(missing_ok=True)


def run(command: str, if_stale: bool = False, verbose: bool = False) -> int:
    """``router native build|status|clean``."""
    if command == "status":
        print(status()[1])
        return 0
    if command == "clean":
        clean()
        return 0
    if if_stale and status({})[0]:
        print("router native: the compiled modules are current")
        return 0
    print(f"router native: compiling {len(MODULES)} modules with mypyc (about a minute) ...", flush=True)
    code = build(verbose)
    print(status({})[1] if code == 0 else "router native: not compiled")
    return code
