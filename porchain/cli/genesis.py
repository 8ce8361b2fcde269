"""`porchain genesis new` writes a genesis file; `porchain init` starts a chain from one."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import click

from porchain.chain import Chain
from porchain.cli.common import emit, fields, home, output_option, resolve_account
from porchain.composition import default_rules
from porchain.db.level import LevelDB
from porchain.errors import (
    DatabaseError,
    InvalidGenesis,
    PorchainError,
)
from porchain.genesis import Genesis
from porchain.integrity import open_chain
from porchain.params import preset_names
from porchain.rpc.params import hex0x
from porchain.units import parse_amount

DEFAULT_CHAIN_ID = 1337
DEFAULT_PRODUCER_REP = "1000"
DEFAULT_PRODUCER_BALANCE = "1000"


def split_amount(spec: str, default: str | None, what: str) -> tuple[str, str]:
    who, sep, amount = spec.partition(":")
    if not sep:
        if default is None:
            raise click.BadParameter(f"expected ACCOUNT:AMOUNT, got {spec!r}", param_hint=what)
        amount = default
    try:
        parse_amount(amount)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=what) from None
    return who, amount


def parse_override(text: str) -> tuple[str, int | str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"expected KEY=VALUE, got {text!r}", param_hint="--set")
    try:
        return key, int(value.replace("_", ""))
    except ValueError:
        return key, value


@click.group()
def genesis() -> None:
    """Genesis files."""


@genesis.command("new")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (default: DATADIR/genesis.json).",
)
@click.option(
    "--chain-id", type=click.IntRange(1, 2**63 - 1), default=DEFAULT_CHAIN_ID, show_default=True
)
@click.option("--preset", type=click.Choice(preset_names()), default="devnet", show_default=True)
@click.option("--genesis-time", type=click.IntRange(0), help="Unix milliseconds (default: now).")
@click.option(
    "--producer",
    "producers",
    multiple=True,
    metavar="ACCOUNT[:REP]",
    help=f"Encumbered REP for a producer (key name or address; default "
    f"{DEFAULT_PRODUCER_REP} REP and {DEFAULT_PRODUCER_BALANCE} $). Repeatable.",
)
@click.option(
    "--alloc", "allocs", multiple=True, metavar="ACCOUNT:AMOUNT", help="A `$` balance. Repeatable."
)
@click.option(
    "--grep",
    "greps",
    multiple=True,
    metavar="ACCOUNT:AMOUNT",
    help="A gREP allocation. Repeatable.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a WSC #0 parameter of the preset. Repeatable.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@output_option
@click.pass_context
def genesis_new(
    ctx: click.Context,
    out: Path | None,
    chain_id: int,
    preset: str,
    genesis_time: int | None,
    producers: tuple[str, ...],
    allocs: tuple[str, ...],
    greps: tuple[str, ...],
    overrides: tuple[str, ...],
    force: bool,
    output: str,
) -> None:
    """Write a genesis file: producers with encumbered REP, balances, WSC #0 parameters."""
    h = home(ctx)
    if not producers:
        raise click.UsageError("give at least one --producer (a key name or an address)")
    alloc: dict[str, dict[str, str]] = {}

    def put(spec: str, field: str, default: str | None, what: str) -> None:
        who, amount = split_amount(spec, default, what)
        address = "0x" + resolve_account(h, who).hex()
        alloc.setdefault(address, {})[field] = amount

    for spec in producers:
        put(spec, "rep_encumbered", DEFAULT_PRODUCER_REP, "--producer")
    for spec in allocs:
        put(spec, "balance", None, "--alloc")
    for spec in greps:
        put(spec, "grep", None, "--grep")
    for entry in alloc.values():
        if "rep_encumbered" in entry:
            entry.setdefault("balance", DEFAULT_PRODUCER_BALANCE)
    data = {
        "chain_id": chain_id,
        "genesis_time": genesis_time if genesis_time is not None else int(time.time() * 1000),
        "preset": preset,
        "wsc": dict(parse_override(o) for o in overrides),
        "alloc": alloc,
    }
    parsed = Genesis.from_json(data)  # validate before writing anything
    target = out or h.genesis_file
    if target.exists() and not force:
        raise PorchainError(f"{target} exists (use --force to overwrite)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(parsed.to_json(), indent=2) + "\n")
    tmp.replace(target)
    summary = {"path": str(target), "chain_id": chain_id, "accounts": len(parsed.alloc)}
    emit(output, summary, lambda d: fields(list(d.items())))


def _holds_anything(path: Path) -> bool:
    try:
        return any(path.iterdir())
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise DatabaseError(f"cannot read the chain directory {path}: {exc}") from None


@click.command()
@click.option(
    "--genesis",
    "genesis_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Genesis file (default: DATADIR/genesis.json).",
)
@output_option
@click.pass_context
def init(ctx: click.Context, genesis_path: Path | None, output: str) -> None:
    """Create the chain database in DATADIR from a genesis file.

    Run again on the intact chain of the same genesis it does nothing; it never writes into a
    chain directory holding anything else (another chain, a damaged database, stray files)."""
    h = home(ctx)
    source = genesis_path or h.genesis_file
    parsed = Genesis.load(source)
    h.datadir.mkdir(parents=True, exist_ok=True)
    created = not _holds_anything(h.chaindata)
    if created:
        db, chain = LevelDB(h.chaindata), None
    else:
        try:
            db, chain = open_chain(h.chaindata, default_rules())
        except DatabaseError as exc:
            raise DatabaseError(
                f"{h.chaindata} is not empty and holds no intact chain, so `porchain init` "
                f"leaves it alone: {exc}"
            ) from None
    with db:
        chain = Chain.initialize(db, parsed, default_rules())  # writes only into a new database
        result = {
            "datadir": str(h.datadir),
            "chain_id": parsed.chain_id,
            "genesis_hash": hex0x(chain.genesis_hash),
            "head": chain.head.number,
            "created": created,
        }
    if source.resolve() != h.genesis_file.resolve():
        try:
            shutil.copyfile(source, h.genesis_file)
        except OSError as exc:
            raise InvalidGenesis(f"cannot copy genesis into {h.datadir}: {exc}") from None
    emit(output, result, lambda d: fields(list(d.items())))
