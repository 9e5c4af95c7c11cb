"""Compiled builds of the hot modules: used when they were built from exactly these sources.

Full verification and the append path spend most of their interpreted time in a dozen
modules (`HOT_MODULES`: the statement and entry codecs, canonical JSON, the rules'
dispatch, the tree's right edge, verify and its signature workers). ``scripts/bootstrap``
compiles them with mypyc (the mypy project's compiler for type-annotated Python: the same
source, checked by the same test suite) into ``.native/`` beside the package, with a
digest of the sources it compiled.

At import, `chainledger` has that build's modules imported instead of their sources
(`install`: a finder first on ``sys.meta_path``) only if its digest is the digest of the
sources now on disk and of this interpreter, so an edited module is never shadowed by a
stale build: it runs interpreted until the next bootstrap. ``CHAINLEDGER_COMPILED=0``
turns the build off; without a C compiler there is no build and everything runs
interpreted, only slower. `active` says which it is (the benchmarks report it).

What compiling asks of the hot modules' code (the whole test suite runs compiled, their
own tests once more interpreted): annotations are enforced at every call, so a function
that refuses a wrong type itself with a clean error takes ``object`` (a ``str``
parameter would raise TypeError before its own check); ``bytes`` refuses a
``bytearray``; a class attribute overriding a base class's must be declared
``ClassVar`` in the base; a frozen dataclass that crosses processes defines
``__reduce__``; and replacing a module's function from outside (monkeypatching) does not
reach the module's own calls.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.abc
import importlib.util
import os
import sys
import sysconfig
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

__all__ = [
    "BUILD_DIR",
    "EXT_SUFFIX",
    "GROUP",
    "HOT_MODULES",
    "active",
    "install",
    "source_digest",
]

#: Paths inside the package of the modules compiled together (one mypyc group): what full
#: verification and the append path run per entry. Not the Merkle proofs, whose public
#: functions take bytes-like values of any kind (compiled, a ``bytes`` parameter refuses a
#: ``bytearray``), nor the kinds' rules, which add little per entry.
HOT_MODULES = (
    "checkpoint.py",
    "clock.py",
    "crypto.py",
    "encoding.py",
    "entry.py",
    "frontier.py",
    "note.py",
    "rules.py",
    "sigcheck.py",
    "statement.py",
    "store/entry_codec.py",
    "verify.py",
)
#: The group's shared library is the module ``chainledger.native__mypyc`` of the build.
GROUP = "chainledger.native"
#: This interpreter's file name ending for extension modules (its ABI).
EXT_SUFFIX: str = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
_PACKAGE = Path(__file__).resolve().parent
#: The build: ``BUILD_DIR/chainledger/...`` mirrors the package; ``DIGEST`` names its sources.
BUILD_DIR = _PACKAGE.parent / ".native"
_DIGEST_FILE = BUILD_DIR / "DIGEST"


def source_digest(package: Path = _PACKAGE) -> str:
    """SHA-256 of every module of the package and of the interpreter's extension ABI.

    Every module, not only the hot ones: mypyc compiles a hot module against the types it
    imports (a base class's attributes, a function's signature), so an edit anywhere in
    the package may change what its compiled form must be.
    """
    h = hashlib.sha256()
    h.update(f"{sys.implementation.cache_tag} {EXT_SUFFIX}\n".encode())
    for path in sorted(package.rglob("*.py")):
        data = path.read_bytes()
        h.update(f"{path.relative_to(package).as_posix()} {len(data)}\n".encode())
        h.update(data)
    return h.hexdigest()


@functools.cache
def active() -> bool:
    """Whether the compiled build is in use in this process (decided once, at first import)."""
    if os.environ.get("CHAINLEDGER_COMPILED", "1") == "0":
        return False
    try:
        return _DIGEST_FILE.read_text().strip() == source_digest()
    except OSError:  # no build, or sources not readable as files (a zip): interpreted
        return False


class _CompiledFinder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules by name, wherever their package was found (a test runner
    may shadow the package's ``__path__``; the names are what the build is for)."""

    def __init__(self, modules: dict[str, Path]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        where = self.modules.get(fullname)
        return None if where is None else importlib.util.spec_from_file_location(fullname, where)


def install() -> None:
    """Import the compiled build's modules instead of their sources from now on, when the
    build is `active` (once per process; called by ``chainledger/__init__.py``)."""
    if not active() or any(isinstance(f, _CompiledFinder) for f in sys.meta_path):
        return
    modules = {}
    for path in BUILD_DIR.rglob("*" + EXT_SUFFIX):
        rel = path.relative_to(BUILD_DIR).as_posix().removesuffix(EXT_SUFFIX)
        modules[rel.replace("/", ".")] = path
    sys.meta_path.insert(0, _CompiledFinder(modules))
