"""The composition root: which modules make up the rules a node runs.

Core modules are listed here; other packages (governance) plug theirs in through the
`porchain.modules` entry point group, so the core never imports them.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from porchain.consensus.asc import AscModule
from porchain.consensus.beacon import BeaconModule
from porchain.consensus.blockpools import BlockPoolsModule
from porchain.consensus.modules import Module, Rules
from porchain.consensus.transfer import TransferModule

ENTRY_POINT_GROUP = "porchain.modules"


def core_modules() -> list[Module]:
    """In order: their hooks run in this order (unbonding before the beacon's snapshot)."""
    return [TransferModule(), AscModule(), BeaconModule(), BlockPoolsModule()]


def plugin_modules() -> list[Module]:
    """Modules registered by installed packages, in entry point name order."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    return [ep.load()() for ep in found]


@cache
def default_rules() -> Rules:
    """One rule set per process: the nodes of a simulation share it, and so share the block
    executions kept for it (porchain.consensus.executions)."""
    return Rules([*core_modules(), *plugin_modules()])
