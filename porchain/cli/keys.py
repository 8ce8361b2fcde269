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
    table,
)
from porchain.crypto.keys import to_checksum_address
from porchain.crypto.keystore import DEFAULT_SCRYPT_N, KeyEntry

LIGHT_SCRYPT_N = 2**12  # for throwaway devnet keys: fast to unlock, weak against brute force


def entry_json(entry: KeyEntry) -> dict[str, str]:
    return {
        "name": entry.name,
        "address": to_checksum_address(entry.address),
        "path": str(entry.path),
    }


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
    """List the keys in the keystore."""
    entries = [entry_json(e) for e in home(ctx).keystore.list()]

    def render(rows: list[dict[str, str]]) -> None:
        if not rows:
            click.echo(f"no keys in {home(ctx).keystore.directory} (create one: porchain keys new)")
            return
        table("NAME", "ADDRESS", rows=[[r["name"], r["address"]] for r in rows])

    emit(output, entries, render)


@keys.command("show")
@click.argument("key")
@output_option
@click.pass_context
def keys_show(ctx: click.Context, key: str, output: str) -> None:
    """Show one key by name or address."""
    emit(output, entry_json(home(ctx).keystore.find(key)), lambda d: fields(list(d.items())))
