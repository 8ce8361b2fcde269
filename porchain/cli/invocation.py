"""How the user runs porchain, so that every command we print works as pasted: `porchain` when
that is on PATH and is this program, else the path it was run by (`.venv/bin/porchain` after
the README's install, which puts nothing on PATH), else `python -m porchain`."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path


def program(argv0: str | None = None, executable: str | None = None) -> str:
    """The shell words that run this porchain."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    if Path(argv0).name != "porchain":  # `python -m porchain`, or a test runner
        return f"{shlex.quote(executable)} -m porchain"
    on_path = shutil.which("porchain")
    if on_path is not None and Path(on_path).resolve() == Path(argv0).resolve():
        return "porchain"
    return shlex.quote(argv0)
