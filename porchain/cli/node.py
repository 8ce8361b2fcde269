"""`porchain node run`: run a node on the data directory until Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click
import trio

from porchain.allocator import pin_mmap_threshold, release_free_memory_periodically
from porchain.behaviours import HONEST, Behaviour, BehaviourError, make_behaviour
from porchain.chain import Chain
from porchain.cli.common import (
    DEV_CHAIN_ID,
    Home,
    home,
    password_option,
    refuse_attack_off_devnet,
    unlock_key,
)
from porchain.cli.keys import LIGHT_SCRYPT_N
from porchain.cli.snapshot import load_trust, progress_of, trust_options
from porchain.clock import SlotClock
from porchain.composition import default_rules
from porchain.constants import DEFAULT_RPC_PORT
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.db.level import LevelDB
from porchain.genesis import Genesis
from porchain.integrity import open_chain
from porchain.net.identity import NODE_KEY_FILE, load_node_key
from porchain.net.service import NetConfig
from porchain.net.transport import TcpTransport, split_address
from porchain.node import Node, NodeConfig, run_until_signalled
from porchain.pbs.client import RelayAddress
from porchain.rpc.server import parse_cors
from porchain.snapshot.bootstrap import open_from_snapshot

log = logging.getLogger("porchain.node")

DEFAULT_P2P_PORT = 30400
DEV_ACCOUNTS = ("dev", "alice", "bob", "carol")
DEV_BALANCE = "1000000"
DEV_PRODUCER_REP = "1000"


@click.group()
def node() -> None:
    """Run a node."""


@node.command("run")
@click.option("--key", "key_name", help="Producer key (name or address) to produce blocks with.")
@password_option
@click.option("--rpc-host", default="127.0.0.1", show_default=True)
@click.option(
    "--rpc-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_RPC_PORT,
    show_default=True,
    help="0 picks a free port.",
)
@click.option("--no-rpc", is_flag=True, help="Do not serve JSON-RPC.")
@click.option(
    "--rpc-cors",
    metavar="ORIGINS",
    help="Let browser pages from these origins call RPC: a comma-separated list "
    "(https://host:port,...) or * for any. Off by default: a request carrying another "
    "Origin is refused.",
)
@click.option(
    "--p2p-host",
    default="127.0.0.1",
    show_default=True,
    help="Address to accept peers on (0.0.0.0 for every interface).",
)
@click.option(
    "--p2p-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_P2P_PORT,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--p2p-advertise",
    metavar="HOST",
    help="Host peers should dial us on (default: --p2p-host; needed with 0.0.0.0).",
)
@click.option("--no-p2p", is_flag=True, help="Run alone: no peers.")
@click.option(
    "--bootnode",
    "bootnodes",
    multiple=True,
    metavar="HOST:PORT",
    help="A peer to join the network through. Repeatable.",
)
@click.option("--max-peers", type=click.IntRange(1, 1000), default=16, show_default=True)
@click.option(
    "--no-auto-encumber",
    is_flag=True,
    help="Do not encumber earned REP each epoch (it stays free).",
)
@click.option(
    "--dev-rpc",
    is_flag=True,
    help="Serve the dev_ RPC methods (network partitions, for devnets and tests).",
)
@click.option(
    "--builder-api",
    is_flag=True,
    help="Serve the builder_ RPC methods, which build and check blocks for external builders "
    "and relays (docs/relays.md): each costs a block import, so keep it off a public RPC.",
)
@click.option(
    "--relay",
    "relays",
    multiple=True,
    metavar="URL",
    help="Ask this relay for builders' blocks at our slots (http://0x<relay address>@host:port, "
    "as `relay run` prints it; docs/relays.md). Repeatable.",
)
@click.option(
    "--relay-wait-ms",
    type=click.IntRange(1),
    help="How long to wait for relays' headers, then for a body  [default: a sixth of the slot]",
)
@click.option(
    "--behaviour",
    "behaviour_name",
    metavar="NAME",
    help="Misbehave as NAME (censor, lazy_voter, offline: docs/attacks.md), for research on "
    "devnets: refused without --dev-rpc on a chain id other than 1337.",
)
@click.option(
    "--behaviour-arg",
    "behaviour_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="An argument of --behaviour. Repeatable.",
)
@click.option(
    "--i-know-this-is-an-attack",
    "attack_confirmed",
    is_flag=True,
    help="Allow --behaviour on any chain.",
)
@trust_options(
    "Start a new node from this state snapshot (a file, or a peer's "
    "http://host:port/snapshots/latest) instead of replaying every block: only if k of the "
    "--trustnet authorities signed it (docs/snapshots.md)."
)
@click.option("--mempool-size", type=click.IntRange(1), default=10_000, show_default=True)
@click.option(
    "--dev",
    is_flag=True,
    help="Single-node dev chain (no peers): create keys (empty password) and a genesis in "
    "the data directory on first run (default DATADIR/dev), then produce every slot.",
)
@click.pass_context
def node_run(
    ctx: click.Context,
    key_name: str | None,
    password_file: Path | None,
    rpc_host: str,
    rpc_port: int,
    no_rpc: bool,
    rpc_cors: str | None,
    p2p_host: str,
    p2p_port: int,
    p2p_advertise: str | None,
    no_p2p: bool,
    bootnodes: tuple[str, ...],
    max_peers: int,
    no_auto_encumber: bool,
    dev_rpc: bool,
    builder_api: bool,
    relays: tuple[str, ...],
    relay_wait_ms: int | None,
    behaviour_name: str | None,
    behaviour_args: tuple[str, ...],
    attack_confirmed: bool,
    snapshot_source: str | None,
    trustnet_file: Path | None,
    mempool_size: int,
    dev: bool,
) -> None:
    """Run the node: produce blocks on its slots and serve RPC."""
    h = home(ctx)
    try:
        cors = parse_cors(rpc_cors) if rpc_cors is not None else ()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--rpc-cors") from None
    behaviour = chosen_behaviour(behaviour_name, behaviour_args)
    try:
        relay_addresses = tuple(RelayAddress.parse(relay) for relay in relays)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--relay") from None
    key: PrivateKey | None = None
    if dev:
        if ctx.find_root().get_parameter_source("datadir").name == "DEFAULT":
            h = Home(h.datadir / "dev")
            ctx.find_root().obj = h
        key = setup_dev_chain(h)
    elif key_name is not None:
        key = unlock_key(ctx, key_name, password_file)
    if relay_addresses and key is None:
        raise click.UsageError("--relay is for a producer: give its --key")
    for address in bootnodes:
        try:
            split_address(address)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--bootnode") from None
    net = None
    if not (no_p2p or dev):
        net = NetConfig(
            listen=f"{p2p_host}:{p2p_port}",
            advertise=p2p_advertise,
            bootnodes=bootnodes,
            max_peers=max_peers,
        )
    trust = load_trust(snapshot_source, trustnet_file)
    node_key = load_node_key(h.datadir / NODE_KEY_FILE)
    if snapshot_source is not None and trust is not None:
        with progress_of("checking the snapshot's entries", None) as advance:
            db, chain = open_from_snapshot(
                h.chaindata, default_rules(), snapshot_source, trust, h.snapshot_dir, advance
            )
    else:
        db, chain = open_chain(h.chaindata, default_rules())
    with db:
        if behaviour.name != HONEST and not (dev_rpc or attack_confirmed):
            remedy = "--dev-rpc on a devnet, or --i-know-this-is-an-attack"
            refuse_attack_off_devnet("node", chain.state().chain.chain_id, remedy)
        config = NodeConfig(
            rpc_host=rpc_host,
            rpc_port=None if no_rpc else rpc_port,
            rpc_cors=cors,
            mempool_max_txs=mempool_size,
            info_file=h.info_file,
            snapshot_dir=h.snapshot_dir,
            dev_rpc=dev_rpc,
            builder_api=builder_api,
            relays=relay_addresses,
            relay_wait_ms=relay_wait_ms,
            auto_encumber=not no_auto_encumber,
            behaviour=behaviour,
        )
        pin_mmap_threshold()  # so memory freed after large frames goes back to the system
        try:
            trio.run(_run, chain, key, config, node_key, net)
        finally:
            h.info_file.unlink(missing_ok=True)
    log.info("stopped head=#%d", chain.head.number)


def chosen_behaviour(name: str | None, args: tuple[str, ...]) -> Behaviour:
    if name is None:
        if args:
            raise click.BadParameter("needs --behaviour", param_hint="--behaviour-arg")
        return Behaviour()
    try:
        return make_behaviour(name, args)
    except BehaviourError as exc:
        raise click.BadParameter(str(exc), param_hint="--behaviour") from None


async def _run(
    chain: Chain,
    key: PrivateKey | None,
    config: NodeConfig,
    node_key: PrivateKey,
    net: NetConfig | None,
) -> None:
    state = chain.state()
    clock = SlotClock(state.chain.genesis_time_ms, state.params.slot_ms)
    node = Node(
        chain,
        clock,
        key=key,
        config=config,
        transport=TcpTransport(receive_budget=net.receive_budget) if net is not None else None,
        node_key=node_key,
        net=net,
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(release_free_memory_periodically)
        await run_until_signalled(node)
        nursery.cancel_scope.cancel()


def setup_dev_chain(h: Home) -> PrivateKey:
    """Create the dev keys, genesis and database once; return the producer key."""
    keystore = h.keystore
    existing = {entry.name for entry in keystore.list()}
    for name in DEV_ACCOUNTS:
        if name not in existing:
            keystore.create("", name=name, scrypt_n=LIGHT_SCRYPT_N)
    producer = keystore.unlock("dev", "")
    if not h.chaindata.exists():
        alloc = {
            to_checksum_address(keystore.find(name).address): {"balance": DEV_BALANCE}
            for name in DEV_ACCOUNTS
        }
        alloc[to_checksum_address(producer.address)]["rep_encumbered"] = DEV_PRODUCER_REP
        genesis = Genesis.from_json(
            {"chain_id": DEV_CHAIN_ID, "genesis_time": int(time.time() * 1000), "alloc": alloc}
        )
        h.datadir.mkdir(parents=True, exist_ok=True)
        h.genesis_file.write_text(json.dumps(genesis.to_json(), indent=2) + "\n")
        with LevelDB(h.chaindata) as db:
            Chain.initialize(db, genesis, default_rules())
        log.info("dev chain created datadir=%s accounts=%s", h.datadir, ",".join(DEV_ACCOUNTS))
    return producer
