"""What every command shares: the data directory, output format, passwords, the RPC client."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from porchain.constants import DEFAULT_RPC_PORT
from porchain.crypto.keys import PrivateKey, parse_address
from porchain.crypto.keystore import Keystore
from porchain.errors import DecodeError, KeystoreError, PorchainError
from porchain.rpc.client import RPCClient

DEFAULT_DATADIR = Path("~/.porchain").expanduser()
PASSWORD_ENV = "PORCHAIN_PASSWORD"

console = Console(highlight=False, soft_wrap=True)


@dataclass
class Home:
    """A node's data directory and where its parts live."""

    datadir: Path

    @property
    def keystore(self) -> Keystore:
        return Keystore(self.datadir / "keystore")

    @property
    def chaindata(self) -> Path:
        return self.datadir / "chaindata"

    @property
    def genesis_file(self) -> Path:
        return self.datadir / "genesis.json"

    @property
    def info_file(self) -> Path:
        return self.datadir / "node.json"

    def rpc_url(self) -> str:
        """The running node's RPC URL, read from its info file, else the default."""
        try:
            return json.loads(self.info_file.read_text())["rpc"]
        except (OSError, ValueError, KeyError, TypeError):
            return f"http://127.0.0.1:{DEFAULT_RPC_PORT}"


def home(ctx: click.Context) -> Home:
    return ctx.find_object(Home) or Home(DEFAULT_DATADIR)


def resolve_account(h: Home, text: str) -> bytes:
    """An address, or the name of a key in the keystore."""
    try:
        return parse_address(text)
    except DecodeError:
        try:
            return h.keystore.find(text).address
        except KeystoreError:
            raise PorchainError(
                f"{text!r} is neither an address nor a key in the keystore"
            ) from None


output_option = click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)

rpc_option = click.option(
    "--rpc",
    "rpc_url",
    envvar="PORCHAIN_RPC",
    default=None,
    help="Node RPC URL (default: the datadir's running node, else http://127.0.0.1:8645).",
)


def rpc_client(ctx: click.Context, url: str | None) -> RPCClient:
    return RPCClient(url or home(ctx).rpc_url())


def emit(output: str, data: Any, render: Callable[[Any], None]) -> None:
    """Print `data` as JSON for `-o json`, else through its human renderer."""
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        render(data)


def table(*columns: str, rows: list[list[str]], title: str | None = None) -> None:
    t = Table(*columns, title=title, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        t.add_row(*row)
    console.print(t)


def fields(pairs: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        click.echo(f"{key:<{width}}  {value}")


def read_password(password_file: Path | None, *, confirm: bool = False, what: str = "key") -> str:
    """From --password-file, then $PORCHAIN_PASSWORD, then an interactive prompt."""
    if password_file is not None:
        try:
            return password_file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise PorchainError(f"cannot read password file {password_file}: {exc}") from None
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise PorchainError(
            f"no password for the {what}: use --password-file or set {PASSWORD_ENV}"
        )
    return click.prompt(f"Password for the {what}", hide_input=True, confirmation_prompt=confirm)


password_option = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"File holding the key's password (else ${PASSWORD_ENV}, else a prompt).",
)


def unlock_key(ctx: click.Context, name: str, password_file: Path | None) -> PrivateKey:
    keystore = home(ctx).keystore
    entry = keystore.find(name)
    return keystore.unlock(entry.name, read_password(password_file, what=f"key {entry.name}"))
