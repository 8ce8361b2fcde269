"""`porchain keys new|list|show`: the node's keystore (Ethereum v3 key files)."""

from __future__ import annotations

from pathlib import Path

import click

from porchain.cli.common import (
    emit,
    fields,
    home,
    output_option,
    password_option,
    read_password,
)
from porchain.crypto.keys import to_checksum_address
from porchain.crypto.keystore import DEFAULT_SCRYPT_N, KeyEntry, SkippedFile

LIGHT_SCRYPT_N = 2**12  # for throwaway devnet keys: fast to unlock, weak against brute force


def entry_json(entry: KeyEntry) -> dict[str, str]:
    return {
        "name": entry.name,
        "address": to_checksum_address(entry.address),
        "path": str(entry.path),
    }


def skipped_json(skip: SkippedFile) -> dict[str, str]:
    return {"name": skip.name, "path": str(skip.path), "reason": skip.reason}


@click.group()
def keys() -> None:
    """Create and inspect keys."""


@keys.command("new")
@click.option("--name", help="Key name (default: key-<address prefix>).")
@password_option
@click.option("--light", is_flag=True, help="Cheap scrypt (n=4096), for devnet keys only.")
@output_option
@click.pass_context
def keys_new(
    ctx: click.Context, name: str | None, password_file: Path | None, light: bool, output: str
) -> None:
    """Generate a key and store it encrypted in the keystore (file mode 0600)."""
    password = read_password(password_file, confirm=True, what="new key")
    entry = home(ctx).keystore.create(
        password, name=name, scrypt_n=LIGHT_SCRYPT_N if light else DEFAULT_SCRYPT_N
    )
    emit(output, entry_json(entry), lambda d: fields(list(d.items())))


@keys.command("list")
@output_option
@click.pass_context
def keys_list(ctx: click.Context, output: str) -> None:
    """List the keys in the keystore, and say why any other file in it is skipped."""
    scan = home(ctx).keystore.scan()
    for skip in scan.skipped:
        click.echo(f"warning: skipped {skip.path}: {skip.reason}", err=True)
    data = {
        "keys": [entry_json(e) for e in scan.entries],
        "skipped": [skipped_json(s) for s in scan.skipped],
    }

    def render(data: dict[str, list[dict[str, str]]]) -> None:
        if not data["keys"]:
            click.echo(f"no keys in {home(ctx).keystore.directory} (create one: porchain keys new)")
            return
        # Plain lines, not a table that fits the terminal: a geth file name is 77 characters,
        # and neither it nor the address may be cut short.
        width = max(len(row["name"]) for row in data["keys"])
        click.echo(f"{'NAME':<{width}}  ADDRESS")
        for row in data["keys"]:
            click.echo(f"{row['name']:<{width}}  {row['address']}")

    emit(output, data, render)


@keys.command("show")
@click.argument("key")
@output_option
@click.pass_context
def keys_show(ctx: click.Context, key: str, output: str) -> None:
    """Show one key by name or address."""
    emit(output, entry_json(home(ctx).keystore.find(key)), lambda d: fields(list(d.items())))
