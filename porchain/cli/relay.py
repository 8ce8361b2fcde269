"""`porchain relay run`: a relay between builders and producers (porchain.pbs, docs/relays.md)."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from typing import Any

import click
import httpx
import trio

from porchain.asgi import serve_app
from porchain.cli.common import attack_options, service_options, start_service
from porchain.crypto.keys import to_checksum_address
from porchain.pbs.attacks import relay_kind
from porchain.pbs.relay import Relay, node_checker
from porchain.pbs.relay_app import RelayApp
from porchain.rpc.async_client import AsyncRPCClient

log = logging.getLogger(__name__)


@click.group()
def relay() -> None:
    """Run a relay: builders' blocks checked by a node, offered to producers."""


@relay.command("run")
@service_options("The relay's signing key.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=18550, show_default=True)
@attack_options("withhold, overstate, unchecked, censor")
@click.pass_context
def relay_run(ctx: click.Context, host: str, port: int, **options: Any) -> None:
    """Serve the relay API; blocks are checked by the node at --rpc, which must run with
    --builder-api."""
    s = start_service(ctx, "relay", relay_kind, options)

    def relay_on(rpc: AsyncRPCClient) -> Relay:
        relay: Relay = s.kind(s.key, s.chain_id, node_checker(rpc), wall_ms, args=s.args)
        return relay

    trio.run(_serve, relay_on, s.rpc_url, host, port)


def wall_ms() -> int:
    return time.time_ns() // 10**6


async def _serve(
    relay_on: Callable[[AsyncRPCClient], Relay], rpc_url: str, host: str, port: int
) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with httpx.AsyncClient(timeout=10) as http, trio.open_nursery() as nursery:
            relay = relay_on(AsyncRPCClient(rpc_url, http))
            hint = "another relay running? choose another --port"
            url = await nursery.start(serve_app, RelayApp(relay), host, port, "relay", hint)
            address = to_checksum_address(relay.key.address)
            log.info(
                "relay listening url=%s relay=%s chain_id=%d behaviour=%s",
                url,
                address,
                relay.chain_id,
                relay.name,
            )
            click.echo(f"relay {address} at {url.replace('://', f'://{address}@', 1)}")
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break
