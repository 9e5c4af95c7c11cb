"""The compiled build of the hot modules (chainledger/compiled.py, scripts/build_compiled.py):
used exactly when it was built from the sources on disk, and never otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chainledger import compiled

ROOT = Path(compiled.__file__).resolve().parent.parent
_WHERE = (
    "import chainledger.compiled as c, chainledger.verify as v, chainledger.encoding as e, "
    "chainledger.store.entry_codec as s, chainledger.merkle as m; "
    "print(c.active(), v.__file__, e.__file__, s.__file__, m.__file__)"
)


def where(root: Path, **env: str) -> list[str]:
    """``active()`` and where four modules came from, in a fresh interpreter on ``root``."""
    run_env = {k: v for k, v in os.environ.items() if k != "CHAINLEDGER_COMPILED"} | env
    run_env["PYTHONPATH"] = str(root)
    out = subprocess.run(
        [sys.executable, "-c", _WHERE], cwd=root, env=run_env, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.split()


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package and its build, copied: edited below without touching the real ones."""
    assert compiled.active(), (
        "no compiled build for these sources: scripts/test builds one "
        "(.venv/bin/python scripts/build_compiled.py)"
    )
    root = tmp_path_factory.mktemp("compiled")
    shutil.copytree(ROOT / "chainledger", root / "chainledger")
    shutil.copytree(compiled.BUILD_DIR, root / compiled.BUILD_DIR.name)
    return root


def test_the_build_is_used_here_and_the_modules_left_out_stay_interpreted(copy: Path) -> None:
    active, verify, encoding, codec, merkle = where(copy)
    assert active == "True"
    build = str(copy / compiled.BUILD_DIR.name)
    for path in (verify, encoding, codec):
        assert path.startswith(build), path
        assert path.endswith(compiled.EXT_SUFFIX), path
    assert merkle == str(copy / "chainledger" / "merkle.py")  # not in HOT_MODULES


def test_switched_off_everything_runs_from_the_sources(copy: Path) -> None:
    active, *paths = where(copy, CHAINLEDGER_COMPILED="0")
    assert active == "False"
    assert all(p.startswith(str(copy / "chainledger")) and p.endswith(".py") for p in paths)


@pytest.mark.parametrize("edited", ["verify.py", "errors.py", "store/sqlite.py"])
def test_an_edit_anywhere_in_the_package_retires_the_build(copy: Path, edited: str) -> None:
    # errors.py is not compiled, but the compiled modules are built against its classes.
    source = copy / "chainledger" / edited
    original = source.read_bytes()
    try:
        source.write_bytes(original + b"\n# edited\n")
        active, *paths = where(copy)
        assert active == "False"
        assert all(p.endswith(".py") for p in paths)
    finally:
        source.write_bytes(original)
    assert where(copy)[0] == "True"  # the same bytes again: the build is good again


def test_the_digest_covers_every_module_and_nothing_else(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "sub" / "b.py").write_text("B = 2\n")
    first = compiled.source_digest(package)
    (package / "notes.txt").write_text("not a module\n")
    assert compiled.source_digest(package) == first
    (package / "sub" / "b.py").write_text("B = 3\n")
    assert compiled.source_digest(package) != first
    (package / "sub" / "b.py").write_text("B = 2\n")
    (package / "c.py").write_text("")
    assert compiled.source_digest(package) != first
