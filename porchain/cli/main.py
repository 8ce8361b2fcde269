"""`porchain`: the root command. Errors print as one line and exit non-zero, no traceback.

Each command group is imported when it is run (or listed by `--help`), so a query pays only for
the modules it uses: `porchain chain head` does not import the node, the simulator or matplotlib.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from porchain import __version__
from porchain.cli.common import DATADIR_ENV, DEFAULT_DATADIR, Home, running_dev_home
from porchain.errors import PorchainError, leaf_exceptions
from porchain.logs import configure_logging

# name -> "module:attribute" of the built-in command groups
BUILTIN_COMMANDS = {
    "keys": "porchain.cli.keys:keys",
    "genesis": "porchain.cli.genesis:genesis",
    "init": "porchain.cli.genesis:init",
    "node": "porchain.cli.node:node",
    "tx": "porchain.cli.tx:tx",
    "rep": "porchain.cli.rep:rep",
    "chain": "porchain.cli.chain:chain",
    "db": "porchain.cli.db:db",
    "devnet": "porchain.cli.devnet:devnet",
    "sim": "porchain.cli.sim:sim",
    "relay": "porchain.cli.relay:relay",
    "builder": "porchain.cli.builder:builder",
    "snapshot": "porchain.cli.snapshot:snapshot",
}
# the commands that act as a node's client with accounts (the others run or manage a node)
CLIENT_COMMANDS = frozenset({"tx", "chain", "rep", "gov", "jud"})


def plugin_commands() -> dict[str, EntryPoint]:
    """Commands of installed packages (governance: `gov`, judicial: `jud`)."""
    return {entry.name: entry for entry in entry_points(group="porchain.cli")}


class PorchainGroup(click.Group):
    """Load each command group on first use. Print user errors (ours, and the OS's) as one line
    each and exit 1; let bugs trace."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*BUILTIN_COMMANDS, *plugin_commands(), *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name in BUILTIN_COMMANDS:
                module, _, attribute = BUILTIN_COMMANDS[cmd_name].partition(":")
                self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
            elif (plugin := plugin_commands().get(cmd_name)) is not None:
                self.add_command(plugin.load(), cmd_name)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except (PorchainError, OSError, BaseExceptionGroup) as exc:
            leaves = leaf_exceptions(exc)
            if not all(isinstance(leaf, PorchainError | OSError) for leaf in leaves):
                raise
            for leaf in leaves:
                click.echo(f"Error: {_describe(leaf)}", err=True)
            sys.exit(1)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc)


@click.group(cls=PorchainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--datadir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=DATADIR_ENV,
    default=DEFAULT_DATADIR,
    show_default=True,
    help="Node data directory (keystore, chain database, genesis).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="porchain")
@click.pass_context
def cli(ctx: click.Context, datadir: Path, verbose: int) -> None:
    """porchain: a Proof-of-Reputation chain whose block producers form a DAO."""
    ctx.obj = Home(datadir.expanduser())
    if ctx.get_parameter_source("datadir") == ParameterSource.DEFAULT:
        ctx.obj = client_home(ctx.obj, ctx.invoked_subcommand)
    configure_logging(verbose)


def client_home(default: Home, command: str | None) -> Home:
    """For a command that uses accounts on a node, with no --datadir given: the default data
    directory if it holds keys, else the accounts of the one dev setup running (a devnet's, or
    `node run --dev`'s), so that `tx transfer bob 1 --from alice` works beside `devnet up`."""
    if command not in CLIENT_COMMANDS or default.holds_keys():
        return default
    return running_dev_home() or default


logging.captureWarnings(True)
