"""Optional dependencies. A node needs none of them; the research tools do:

    research    matplotlib (the plots of `sim run`/`sim report`, `gov graph --png`) and Dask
                (`sim sweep`): `.venv/bin/pip install -e '.[research]'`

A command that needs a missing one refuses at once, saying what to install.
"""

from __future__ import annotations

import importlib.util

from porchain.errors import PorchainError

RESEARCH_MODULES = ("matplotlib", "distributed")
INSTALL_RESEARCH = ".venv/bin/pip install -e '.[research]'"


class MissingExtra(PorchainError):
    """A command needs an optional dependency that is not installed."""


def require_research(what: str) -> None:
    """Refuse `what` (a command, as the user typed it) unless matplotlib and Dask are here."""
    missing = [name for name in RESEARCH_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(
            f"{what} needs {' and '.join(missing)}, in the research extra: {INSTALL_RESEARCH}"
        )
