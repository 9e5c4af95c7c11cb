"""Compile chainledger's hot modules with mypyc into ``.native/`` (`chainledger.compiled`).

    .venv/bin/python scripts/build_compiled.py [--force]

Does nothing when the build's digest is the digest of the sources now on disk. Otherwise
it compiles `HOT_MODULES` as one mypyc group in a scratch directory (its ``DIGEST``
written last, so a half-written build is never used), puts it in place and checks in a
fresh interpreter that it loads and is used. On failure (no C compiler, a mypyc error, a
build that does not load) it prints why, keeps no build and exits 1: chainledger then
runs interpreted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chainledger.compiled import BUILD_DIR, GROUP, HOT_MODULES, source_digest  # noqa: E402

_CHECK = """
import chainledger.compiled as c, chainledger.verify as v, chainledger.store.entry_codec as e
assert c.active(), "the build is not used"
assert v.__file__.endswith(c.EXT_SUFFIX) and e.__file__.endswith(c.EXT_SUFFIX), v.__file__
"""


def build(scratch: Path) -> None:
    """Compile into ``scratch`` (``scratch/chainledger/...``), output shown only on failure."""
    from mypyc.build import mypycify
    from setuptools import Distribution
    from setuptools.command.build_ext import build_ext

    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            extensions = mypycify(
                [f"chainledger/{rel}" for rel in HOT_MODULES],
                opt_level="3",
                group_name=GROUP,
                target_dir=str(scratch / "c"),
                multi_file=True,  # one C file per module
            )
            for ext in extensions:  # mypyc writes a dotted group's headers one level down
                ext.include_dirs.append(str(scratch / "c" / GROUP.rpartition(".")[0]))
            dist = Distribution({"name": "chainledger-compiled", "ext_modules": extensions})
            cmd = build_ext(dist)
            cmd.build_lib = str(scratch)
            cmd.build_temp = str(scratch / "obj")
            cmd.ensure_finalized()
            cmd.run()
    except (Exception, SystemExit):
        sys.stderr.write(log.getvalue()[-4000:])
        raise
    shutil.rmtree(scratch / "c")
    shutil.rmtree(scratch / "obj")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="build even when up to date")
    args = parser.parse_args()
    os.chdir(ROOT)  # mypyc names modules by their paths from here
    digest = source_digest()
    digest_file = BUILD_DIR / "DIGEST"
    if not args.force and digest_file.is_file() and digest_file.read_text().strip() == digest:
        return 0
    scratch = BUILD_DIR.with_name(BUILD_DIR.name + ".tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    started = time.monotonic()
    print(f"compiling {len(HOT_MODULES)} hot modules with mypyc...", file=sys.stderr)
    try:
        build(scratch)
        (scratch / "DIGEST").write_text(digest + "\n")
        # A fresh interpreter must load the build from its final place: swap, then check.
        shutil.rmtree(BUILD_DIR, ignore_errors=True)
        scratch.rename(BUILD_DIR)
        subprocess.run([sys.executable, "-c", _CHECK], check=True, cwd=ROOT, env=_env())
    except (Exception, SystemExit) as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(BUILD_DIR, ignore_errors=True)
        print(
            f"warning: compiling failed ({type(exc).__name__}: {exc}); chainledger runs "
            "interpreted (correct, slower)",
            file=sys.stderr,
        )
        return 1
    print(f"compiled in {time.monotonic() - started:.0f} s into {BUILD_DIR}", file=sys.stderr)
    return 0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CHAINLEDGER_COMPILED", None)
    return env


if __name__ == "__main__":
    sys.exit(main())
