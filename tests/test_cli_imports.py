"""A CLI command imports only what it needs: a query or a transfer does not load the node, the
simulator or the plotting stack (`porchain chain head` answers in a fraction of the time)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("porchain.node", "porchain.chain", "porchain.sim.runner", "matplotlib", "hypercorn")


def modules_after_loading(*commands: str) -> set[str]:
    script = (
        "import sys, json\n"
        "from porchain.cli.main import cli\n"
        f"for name in {list(commands)!r}:\n"
        "    assert cli.get_command(None, name) is not None, name\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("command", ["chain", "tx", "keys", "gov", "rep"])
def test_a_client_command_loads_no_node_simulator_or_plots(command: str) -> None:
    loaded = modules_after_loading(command)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_every_command_is_listed_and_loads() -> None:
    from porchain.cli.main import cli

    names = cli.list_commands(None)  # type: ignore[arg-type]
    assert {"chain", "tx", "node", "devnet", "sim", "gov", "jud"} <= set(names)
    assert all(cli.get_command(None, name) is not None for name in names)  # type: ignore[arg-type]
