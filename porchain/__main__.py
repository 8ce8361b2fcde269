"""`python -m porchain` runs the CLI.

`python -m` puts the working directory first on sys.path. Run from a directory holding a
`porchain/` folder without `__init__.py` (a checkout's parent), that folder is imported as an
empty namespace package in place of this one, and the CLI's first import fails. Then drop the
working directory from sys.path and import the real package. (A folder that is a package itself,
with an `__init__.py`, wins before this file runs: use the `porchain` script or `python -P`.)
"""

import os
import sys

if getattr(sys.modules["porchain"], "__file__", None) is None:
    shadowed = ("", os.getcwd())
    sys.path[:] = [entry for entry in sys.path if entry not in shadowed]
    del sys.modules["porchain"]

from porchain.cli.main import cli

cli()
