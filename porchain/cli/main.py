"""`porchain`: the root command. Errors print as one line and exit non-zero, no traceback."""

from __future__ import annotations

import logging
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

from porchain import __version__
from porchain.cli import chain, db, devnet, genesis, keys, node, rep, sim, tx
from porchain.cli.common import DEFAULT_DATADIR, Home
from porchain.errors import PorchainError, leaf_exceptions
from porchain.logs import configure_logging


class PorchainGroup(click.Group):
    """Print user errors (ours, and the OS's) as one line each and exit 1; let bugs trace."""

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
    envvar="PORCHAIN_DATADIR",
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
    configure_logging(verbose)


for group in (
    keys.keys,
    genesis.genesis,
    genesis.init,
    node.node,
    tx.tx,
    rep.rep,
    chain.chain,
    db.db,
    devnet.devnet,
    sim.sim,
):
    cli.add_command(group)

for entry in sorted(entry_points(group="porchain.cli"), key=lambda e: e.name):
    cli.add_command(entry.load())  # commands of installed packages (governance: `gov`)

logging.captureWarnings(True)
