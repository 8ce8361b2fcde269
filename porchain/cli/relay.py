"""`porchain relay run`: a relay between builders and producers (porchain.pbs, docs/relays.md)."""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path

import click
import trio

from porchain.asgi import serve_app
from porchain.cli.common import rpc_client, rpc_option, unlock_key
from porchain.crypto.keys import to_checksum_address
from porchain.pbs.relay import Relay, node_checker
from porchain.pbs.relay_app import RelayApp

log = logging.getLogger(__name__)


@click.group()
def relay() -> None:
    """Run a relay: builders' blocks checked by a node, offered to producers."""


@relay.command("run")
@click.option("--key", "key_name", required=True, metavar="NAME", help="The relay's signing key.")
@click.option("--password-file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@rpc_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=18550, show_default=True)
@click.pass_context
def relay_run(
    ctx: click.Context,
    key_name: str,
    password_file: Path | None,
    rpc_url: str | None,
    host: str,
    port: int,
) -> None:
    """Serve the relay API; blocks are checked by the node at --rpc, which must run with
    --builder-api."""
    key = unlock_key(ctx, key_name, password_file)
    rpc = rpc_client(ctx, rpc_url)
    chain_id = rpc.call("por_chainId")
    relay = Relay(key, chain_id, node_checker(rpc), lambda: time.time_ns() // 10**6)
    trio.run(_serve, relay, host, port)


async def _serve(relay: Relay, host: str, port: int) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            hint = "another relay running? choose another --port"
            url = await nursery.start(serve_app, RelayApp(relay), host, port, "relay", hint)
            address = to_checksum_address(relay.key.address)
            log.info("relay listening url=%s relay=%s chain_id=%d", url, address, relay.chain_id)
            click.echo(f"relay {address} at {url.replace('://', f'://{address}@', 1)}")
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break
