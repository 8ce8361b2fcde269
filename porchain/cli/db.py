"""`porchain db verify|repair|export|import`: offline work on a stopped node's data directory."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.progress import Progress

from porchain.chain import Chain
from porchain.cli.common import emit, fields, home, output_option
from porchain.composition import default_rules
from porchain.crypto.recovery import RecoveryPool
from porchain.db.level import LevelDB, repair
from porchain.history import export_blocks, import_blocks, read_blocks
from porchain.integrity import Watermark
from porchain.integrity import open_chain as open_checked
from porchain.rpc.params import hex0x
from porchain.verify import VerifyReport, verify_chain

PLAIN_PROGRESS_EVERY = 100


def open_chain(ctx: click.Context) -> tuple[LevelDB, Chain]:
    """The data directory, refused if the start-up check finds it damaged (as `node run` does)."""
    return open_checked(home(ctx).chaindata, default_rules())


def verified(ctx: click.Context) -> dict[str, object]:
    database, chain = open_chain(ctx)
    with database:
        report: VerifyReport = verify_chain(chain)
    return {
        "ok": True,
        "head": report.head_number,
        "head_hash": hex0x(report.head_hash),
        "state_entries": report.state_entries,
        "state_root": hex0x(report.state_root),
        "transactions": report.transactions,
        "first_seen": report.first_seen,
    }


@click.group()
def db() -> None:
    """Offline database tools (stop the node first)."""


@db.command("verify")
@output_option
@click.pass_context
def db_verify(ctx: click.Context, output: str) -> None:
    """Check every canonical block, the transaction index and the first-seen log, and recompute
    the state commitment from every entry."""
    emit(output, verified(ctx), lambda d: fields(list(d.items())))


@db.command("repair")
@output_option
@click.pass_context
def db_repair(ctx: click.Context, output: str) -> None:
    """Run LevelDB's repair (it drops what fails its checksums), then verify the result."""
    repair(home(ctx).chaindata)
    click.echo("LevelDB repair done; verifying", err=True)
    emit(output, {"repaired": True, **verified(ctx)}, lambda d: fields(list(d.items())))


@db.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "start", type=click.IntRange(1), default=1, show_default=True)
@click.option("--to", "end", type=click.IntRange(1), help="Last block (default: the head).")
@output_option
@click.pass_context
def db_export(ctx: click.Context, path: Path, start: int, end: int | None, output: str) -> None:
    """Write canonical blocks to a history file."""
    database, chain = open_chain(ctx)
    with database:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as out:
            count = export_blocks(chain, out, start, end)
        tmp.replace(path)
    emit(output, {"path": str(path), "blocks": count}, lambda d: fields(list(d.items())))


@db.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@output_option
@click.pass_context
def db_import(ctx: click.Context, path: Path, output: str) -> None:
    """Import a history file, validating every block; safe to interrupt and run again."""
    database, chain = open_chain(ctx)
    count = 0
    with database, path.open("rb") as source, RecoveryPool() as recovery:
        blocks = read_blocks(source, chain.genesis_hash)
        now_ms = int(time.time() * 1000)
        imported = import_blocks(chain, blocks, now_ms=now_ms, recovery=recovery)
        if sys.stderr.isatty():
            with Progress(transient=True) as progress:
                task = progress.add_task("importing", total=None)
                for block in imported:
                    count += 1
                    progress.update(task, advance=1, description=f"#{block.number}")
        else:
            for block in imported:
                count += 1
                if count % PLAIN_PROGRESS_EVERY == 0:
                    click.echo(f"imported #{block.number}", err=True)
        head = chain.head
        Watermark.of(database).advance(chain.finalized)
    emit(
        output,
        {"imported": count, "head": head.number, "head_hash": hex0x(head.hash)},
        lambda d: fields(list(d.items())),
    )
