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
from porchain.rpc.client import RPCClient, node_url

DEFAULT_DATADIR = Path("~/.porchain").expanduser()
DEV_CHAIN_ID = 1337  # as the devnet manifests' default
DEVNET_CHAIN_IDS = frozenset({DEV_CHAIN_ID})  # where --behaviour needs no confirmation
PASSWORD_ENV = "PORCHAIN_PASSWORD"
DATADIR_ENV = "PORCHAIN_DATADIR"

console = Console(highlight=False, soft_wrap=True)


@dataclass
class Home:
    """A node's data directory and where its parts live."""

    datadir: Path
    found: str | None = None  # why this one, when the CLI found it rather than was told

    def holds_keys(self) -> bool:
        return any(self.keystore.directory.glob("*"))

    def where(self) -> str:
        """Which data directory this is and how to choose another, for errors."""
        why = f", {self.found}" if self.found else ""
        return f"{self.datadir}{why}; --datadir or {DATADIR_ENV} chooses another"

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
    def snapshot_dir(self) -> Path:
        return self.datadir / "snapshots"

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
                f"{text!r} is neither an address nor a key in the keystore of {h.where()}"
            ) from None


def running(info_file: Path) -> bool:
    """Whether the node that wrote `info_file` (its node.json) is running."""
    try:
        os.kill(int(json.loads(info_file.read_text())["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError, OverflowError):
        return False
    return True


def running_dev_home() -> Home | None:
    """The accounts of the one dev setup running under the default data directory: a devnet's
    (`devnet up`), or a dev node's (`node run --dev`); None if none is, or both are."""
    devnet = DEFAULT_DATADIR / "devnet"
    found = []
    if any(running(info) for info in devnet.glob("*/node.json")):
        found.append(Home(devnet / "accounts", found="the running devnet's accounts"))
    if running(DEFAULT_DATADIR / "dev" / "node.json"):
        found.append(Home(DEFAULT_DATADIR / "dev", found="the running dev node's"))
    return found[0] if len(found) == 1 else None


output_option = click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


def _rpc_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return node_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


rpc_option = click.option(
    "--rpc",
    "rpc_url",
    envvar="PORCHAIN_RPC",
    default=None,
    callback=_rpc_url,
    help="Node RPC URL, http://HOST:PORT or HOST:PORT (default: the datadir's running node, "
    "else http://127.0.0.1:8645).",
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
    return click.prompt(  # Enter alone is the empty password (a dev account's)
        f"Password for the {what}",
        hide_input=True,
        confirmation_prompt=confirm,
        default="",
        show_default=False,
    )


password_option = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"File holding the key's password (else ${PASSWORD_ENV}, else a prompt).",
)


def unlock_key(ctx: click.Context, name: str, password_file: Path | None) -> PrivateKey:
    h = home(ctx)
    keystore = h.keystore
    try:
        entry = keystore.find(name)
    except KeystoreError as exc:
        raise KeystoreError(f"{exc} (the keystore of {h.where()})") from None
    return keystore.unlock(entry.name, read_password(password_file, what=f"key {entry.name}"))


def attack_options(names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--behaviour NAME (one of `names`, honest by default), --behaviour-arg KEY=VALUE and
    --i-know-this-is-an-attack, for a relay or a builder (docs/relays.md)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(
            [
                click.option(
                    "--behaviour",
                    "behaviour_name",
                    default="honest",
                    show_default=True,
                    metavar="NAME",
                    help=f"Misbehave as NAME ({names}), for research on devnets.",
                ),
                click.option(
                    "--behaviour-arg",
                    "behaviour_args",
                    multiple=True,
                    metavar="KEY=VALUE",
                    help="An argument of --behaviour. Repeatable.",
                ),
                click.option(
                    "--i-know-this-is-an-attack",
                    "attack_confirmed",
                    is_flag=True,
                    help="Allow --behaviour on a chain that is not a devnet.",
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


def refuse_attack_off_devnet(
    what: str, chain_id: int, remedy: str = "--i-know-this-is-an-attack"
) -> None:
    """An attack runs on a devnet's chain id unless confirmed."""
    if chain_id in DEVNET_CHAIN_IDS:
        return
    raise click.UsageError(
        f"--behaviour makes this {what} attack chain {chain_id}, which is not a devnet "
        f"(chain id {DEV_CHAIN_ID}): add {remedy}"
    )


def service_options(key_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--key NAME, --password-file and --rpc: what a relay or a builder runs with."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = rpc_option(command)
        command = click.option(
            "--password-file", type=click.Path(dir_okay=False, exists=True, path_type=Path)
        )(command)
        return click.option("--key", "key_name", required=True, metavar="NAME", help=key_help)(
            command
        )

    return decorate


@dataclass(frozen=True)
class Service:
    """A relay's or a builder's start: its key, its node, and its behaviour."""

    key: PrivateKey
    rpc_url: str
    chain_id: int
    kind: type
    args: dict[str, Any]


def start_service(
    ctx: click.Context,
    what: str,
    kind_of: Callable[[str, tuple[str, ...]], tuple[type, dict[str, Any]]],
    options: dict[str, Any],
) -> Service:
    """Check the behaviour chosen (`kind_of`: porchain.pbs.attacks), unlock the key, ask the
    node its chain id, and refuse an attack off a devnet unless confirmed."""
    from porchain.behaviours.base import BehaviourError  # the command's, not every command's

    try:
        kind, args = kind_of(options["behaviour_name"], options["behaviour_args"])
    except BehaviourError as exc:
        raise click.BadParameter(str(exc), param_hint="--behaviour") from None
    key = unlock_key(ctx, options["key_name"], options["password_file"])
    url = options["rpc_url"] or home(ctx).rpc_url()
    chain_id = rpc_client(ctx, url).call("por_chainId")
    if kind.name != "honest" and not options["attack_confirmed"]:
        refuse_attack_off_devnet(what, chain_id)
    return Service(key, url, chain_id, kind, args)
