"""Whether what answers on a devnet node's RPC port is that node, before anything it says is used.

The ports in devnet.json are kept across restarts, so while a devnet is stopped another network
can take them (a second devnet created meanwhile prefers the same ports). Our node then dies with
`Address already in use` while the port still answers: counting that answer as our node up, or
showing its height and producers, would report another network as ours. So an answer counts only
when it carries this devnet's genesis hash (`por_nodeInfo`) and this node's P2P id
(`net_nodeInfo`, the id of DATADIR/nodekey that devnet.json keeps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from porchain.devnet.layout import Devnet
from porchain.rpc.client import RPCClient, RPCClientError

SHOWN_HEX = 10  # "0x" and 8 digits of a hash or id in a message


@dataclass(frozen=True)
class Answer:
    info: dict[str, Any]  # por_nodeInfo, meaningful only when `foreign` is None
    peers: int | None
    foreign: str | None  # one line saying who answered instead of the node; None: the node


def ask(devnet: Devnet, name: str, *, timeout: float) -> Answer:
    """What answers on the node's RPC port, checked; RPCClientError if nothing does, RemoteError
    if it refuses a method."""
    node = devnet.node(name)
    client = RPCClient(node.rpc_url, timeout=timeout)
    info = client.call("por_nodeInfo")
    if not isinstance(info, dict):
        raise RPCClientError(f"{node.rpc_url} answered por_nodeInfo with {type(info).__name__}")
    genesis = info.get("genesis_hash")
    if genesis != devnet.genesis_hash:
        chain = info.get("chain_id")
        return Answer(
            info,
            None,
            f"port {node.rpc_port} answers for another network (genesis {_short(genesis)}, "
            f"chain {chain}), not devnet {devnet.manifest.name}",
        )
    network = client.call("net_nodeInfo")
    node_id = str(network.get("node_id") if isinstance(network, dict) else None).lower()
    if node_id != node.node_id.lower():
        ours = {n.node_id.lower(): n.name for n in devnet.nodes}
        who = ours.get(node_id, f"node {_short(node_id)}")
        return Answer(info, None, f"port {node.rpc_port} answers as {who}, not {name}")
    peers = network.get("peers")
    return Answer(info, peers if isinstance(peers, int) else None, None)


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= SHOWN_HEX else text[:SHOWN_HEX] + ".."
