"""The command line of a child interpreter that runs this copy of chainledger.

The sequencer's process and the signature workers start ``python -c CODE`` (not ``-m``:
a compiled module, see `chainledger.compiled`, cannot run as ``__main__``). ``-c`` puts
the working directory first on ``sys.path``, and a directory that holds another checkout
of chainledger would then be imported instead of this one; so the command puts this
package's parent directory first. (Computed here, in a module that is never compiled: a
compiled module's own ``__file__`` is in the build directory.)
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["python_command"]

#: The directory holding this copy of the package.
ROOT = str(Path(__file__).resolve().parent.parent)


def python_command(code: str) -> list[str]:
    """``[this interpreter, "-c", ...]`` running ``code`` with this package first on the path."""
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {ROOT!r}); {code}"]
