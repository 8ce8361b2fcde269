"""`porchain snapshot create|sign|verify`: trust-net state snapshots (docs/snapshots.md)."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import click
from rich.progress import Progress

from porchain.cli.common import (
    emit,
    fields,
    home,
    output_option,
    password_option,
    rpc_client,
    rpc_option,
    unlock_key,
)
from porchain.composition import default_rules
from porchain.crypto.keys import to_checksum_address
from porchain.integrity import open_chain
from porchain.rpc.format import hex0x
from porchain.snapshot.check import verify
from porchain.snapshot.format import SnapshotError, SnapshotHeader
from porchain.snapshot.make import write_snapshot
from porchain.snapshot.sign import add_signature
from porchain.snapshot.trustnet import TrustNet

CREATE_TIMEOUT_SECONDS = 3600.0


def header_json(header: SnapshotHeader) -> dict[str, Any]:
    return {
        "number": header.number,
        "block_hash": hex0x(header.block_hash),
        "state_root": hex0x(header.state_root),
        "chain_id": header.chain_id,
        "genesis_hash": hex0x(header.genesis_hash),
        "entries": header.entry_count,
    }


@contextmanager
def progress_of(what: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (when it is a terminal) advanced by the entries done."""
    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(what, total=total)
        yield lambda done: bar.advance(task, done)


def trust_options(snapshot_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--snapshot FILE|URL and --trustnet FILE, for the commands that start a node from one."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--trustnet",
            "trustnet_file",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="The authorities whose signatures --snapshot needs, and how many (k).",
        )(command)
        return click.option(
            "--snapshot", "snapshot_source", metavar="FILE|URL", help=snapshot_help
        )(command)

    return decorate


def load_trust(snapshot_source: str | None, trustnet_file: Path | None) -> TrustNet | None:
    """The trust net --snapshot needs: refused without one, None without --snapshot."""
    if snapshot_source is None:
        return None
    if trustnet_file is None:
        raise click.UsageError("--snapshot needs --trustnet FILE: the authorities to trust")
    return TrustNet.load(trustnet_file)


def at_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--at",
        default="finalized",
        show_default=True,
        metavar="finalized|N",
        help="The finalized block whose state to write (within the node's last 1024 blocks).",
    )(func)


def parse_at(text: str) -> int | None:
    if text == "finalized":
        return None
    if text.isdigit():
        return int(text)
    raise click.BadParameter("give `finalized` or a block number", param_hint="--at")


@click.group()
def snapshot() -> None:
    """State snapshots signed by trust-net authorities (docs/snapshots.md)."""


@snapshot.command("create")
@at_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write it.")
@rpc_option
@click.option("--offline", is_flag=True, help="Read the stopped node's data directory directly.")
@output_option
@click.pass_context
def snapshot_create(
    ctx: click.Context, at: str, out: Path | None, rpc_url: str | None, offline: bool, output: str
) -> None:
    """Write the whole state after a finalized block to a snapshot file: by the running node
    (kept in its data directory's snapshots/, which it serves, and copied to --out), or with
    --offline from a stopped node's data directory."""
    number = parse_at(at)
    if offline:
        if out is None:
            raise click.UsageError("--offline needs --out")
        database, chain = open_chain(home(ctx).chaindata, default_rules())
        with database, progress_of("writing entries", None) as advance:
            header = write_snapshot(chain, out, at=number, progress=advance)
        data = {"path": str(out), **header_json(header)}
    else:
        client = rpc_client(ctx, rpc_url)
        client.timeout = CREATE_TIMEOUT_SECONDS
        made = client.call("por_createSnapshot", "finalized" if number is None else number)
        data = dict(made)
        if out is not None:
            download(f"{client.url.rstrip('/')}/snapshots/{made['name']}", out)
            data["path"] = str(out)
    emit(output, data, lambda d: fields(list(d.items())))


def download(url: str, out: Path) -> None:
    tmp = out.with_name(out.name + ".tmp")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as sink:
            while chunk := response.read(1 << 20):
                sink.write(chunk)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SnapshotError(f"cannot download {url}: {exc}") from None
    tmp.replace(out)


@contextmanager
def opened(source: str) -> Iterator[BinaryIO]:
    """A snapshot file, or one served at an http(s) URL, for reading."""
    try:
        if source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=60) as response:
                yield response
        else:
            with open(source, "rb") as file:
                yield file
    except OSError as exc:
        raise SnapshotError(f"cannot read the snapshot {source}: {exc}") from None


@snapshot.command("sign")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--key", "key_name", required=True, help="The authority's key (name or address).")
@password_option
@rpc_option
@output_option
@click.pass_context
def snapshot_sign(
    ctx: click.Context,
    path: Path,
    key_name: str,
    password_file: Path | None,
    rpc_url: str | None,
    output: str,
) -> None:
    """Sign a snapshot as an authority, after checking it: its entries give its state root,
    and its block is final on your own node's chain (--rpc)."""
    with opened(str(path)) as source, progress_of("checking entries", None) as advance:
        header = verify(source, progress=advance).header
    client = rpc_client(ctx, rpc_url)
    block = client.call("por_getBlockByNumber", header.number)
    if block is None or block["hash"] != hex0x(header.block_hash) or not block["finalized"]:
        raise SnapshotError(
            f"the snapshot's {header.describe()} is not a finalized block of your node's chain "
            f"({client.url}): not signed"
        )
    key = unlock_key(ctx, key_name, password_file)
    added = add_signature(path, key)
    data = {"path": str(path), "signer": to_checksum_address(key.address), "added": added}
    data.update(header_json(header))
    emit(output, data, lambda d: fields(list(d.items())))


@snapshot.command("verify")
@click.argument("source", metavar="FILE|URL")
@click.option(
    "--trust",
    "trust_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A trust-net file: refuse the snapshot unless k of its authorities signed it.",
)
@output_option
def snapshot_verify(source: str, trust_path: Path | None, output: str) -> None:
    """Recompute a snapshot's state root from its entries and count its signatures."""
    trust = TrustNet.load(trust_path) if trust_path is not None else None
    with opened(source) as stream, progress_of("checking entries", None) as advance:
        checked = verify(stream, trust=trust, progress=advance)
    signed = checked.signatures
    data = {
        "ok": True,
        **header_json(checked.header),
        "trusted_signers": signed.trusted,
        "other_signers": [to_checksum_address(a) for a in signed.strangers],
        "k": trust.k if trust is not None else None,
    }
    emit(output, data, lambda d: fields(list(d.items())))
