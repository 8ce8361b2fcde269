"""`porchain builder run`: an external builder bidding for producers' slots through relays
(porchain.pbs.builder, docs/relays.md)."""

from __future__ import annotations

import logging
import signal
from typing import Any

import click
import httpx
import trio

from porchain.cli.common import Service, attack_options, service_options, start_service
from porchain.cli.tx import amount_arg
from porchain.crypto.keys import to_checksum_address
from porchain.pbs.attacks import builder_kind
from porchain.pbs.builder import Builder, relay_base_url
from porchain.rpc.async_client import AsyncRPCClient

log = logging.getLogger(__name__)


@click.group()
def builder() -> None:
    """Run a builder: the most valuable block for each coming slot, bid through relays."""


@builder.command("run")
@service_options("Signs bids and pays.")
@click.option(
    "--relay",
    "relays",
    multiple=True,
    required=True,
    metavar="URL",
    help="A relay to submit blocks to (http://host:port). Repeatable.",
)
@click.option(
    "--pay",
    default="0.1",
    show_default=True,
    callback=amount_arg,
    help="$ paid to the producer in each block, the first transaction.",
)
@click.option(
    "--lead-ms",
    type=click.IntRange(0),
    help="Build this long before each slot  [default: half the censorship grace]",
)
@attack_options("censor")
@click.pass_context
def builder_run(
    ctx: click.Context,
    relays: tuple[str, ...],
    pay: int,
    lead_ms: int | None,
    **options: Any,
) -> None:
    """Build on the node at --rpc (run with --builder-api) and bid to every --relay."""
    for relay in relays:
        try:
            relay_base_url(relay)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--relay") from None
    service = start_service(ctx, "builder", builder_kind, options)
    trio.run(_run, service, relays, pay, lead_ms)


async def _run(s: Service, relays: tuple[str, ...], pay: int, lead_ms: int | None) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with httpx.AsyncClient(timeout=10) as http, trio.open_nursery() as nursery:
            rpc = AsyncRPCClient(s.rpc_url, http)
            built: Builder = s.kind(s.key, rpc, relays, http, pay=pay, lead_ms=lead_ms, args=s.args)
            await nursery.start(built.run)
            address = to_checksum_address(s.key.address)
            log.info("builder running builder=%s behaviour=%s", address, built.name)
            click.echo(f"builder {address} on {s.rpc_url}, bidding to {', '.join(built.relays)}")
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break
