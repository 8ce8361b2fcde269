"""The `net_` namespace (peers) and the `dev_` one (network and behaviour control for devnets
and tests).

They read or change the live network service, so they run on the event loop (all cheap).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from porchain.behaviours import BehaviourError, make_behaviour
from porchain.crypto.keys import to_checksum_address
from porchain.rpc import params
from porchain.rpc.errors import InvalidParams, RPCError
from porchain.rpc.params import hex0x
from porchain.rpc.view import on_loop

if TYPE_CHECKING:
    from porchain.net.service import NetworkService
    from porchain.node import Node

log = logging.getLogger(__name__)

NO_NETWORK = -32010
MAX_BEHAVIOUR_NAME_CHARS = 64
MAX_BEHAVIOUR_ARGS = 32  # `key=value` arguments dev_setBehaviour takes
MAX_BEHAVIOUR_ARG_CHARS = 4096  # each (a censor's address list fits many addresses)


class NetApi:
    def __init__(self, node: Node) -> None:
        self.node = node

    def _network(self) -> NetworkService:
        if self.node.network is None:
            raise RPCError(NO_NETWORK, "this node runs without P2P (started with --no-p2p)")
        return self.node.network

    @on_loop
    def net_peerCount(self) -> int:
        return 0 if self.node.network is None else len(self.node.network.peers)

    @on_loop
    def net_peers(self) -> list[dict[str, Any]]:
        if self.node.network is None:
            return []
        return [
            {
                "node_id": hex0x(peer.node_id),
                "address": peer.listen or peer.conn.remote,
                "direction": "outbound" if peer.outbound else "inbound",
                "head": {"number": peer.head_number, "hash": hex0x(peer.head_hash)},
                "finalized": peer.finalized,
                "dropped_messages": peer.dropped,
            }
            for peer in self.node.network.peers.values()
        ]

    @on_loop
    def net_nodeInfo(self) -> dict[str, Any]:
        network = self._network()
        return {
            "node_id": hex0x(network.node_id),
            "listen": network.listen_address,
            "peers": len(network.peers),
            "known_addresses": sorted(network.addresses),
            "banned": [to_checksum_address(node_id) for node_id in network.banned],
        }


class DevApi:
    """Served only with `node run --dev-rpc`."""

    def __init__(self, node: Node) -> None:
        self.node = node

    @on_loop
    def dev_partition(self, node_ids: Any) -> int:
        """Cut this node off from the listed peers until dev_heal; return how many."""
        if not isinstance(node_ids, list):
            raise InvalidParams("node_ids must be a list of 0x-hex node ids")
        cut = {params.hex_bytes(n, "node id", 20) for n in node_ids}
        NetApi(self.node)._network().cut_off(cut)
        return len(cut)

    @on_loop
    def dev_heal(self) -> bool:
        NetApi(self.node)._network().heal()
        return True

    @on_loop
    def dev_setBehaviour(self, name: Any, args: Any = None) -> dict[str, Any]:
        """Switch this node's behaviour now (`node run --behaviour NAME --behaviour-arg ...`);
        the new behaviour's {name, args}. A bad name or argument changes nothing."""
        if not isinstance(name, str) or len(name) > MAX_BEHAVIOUR_NAME_CHARS:
            raise InvalidParams('name must be a behaviour\'s name, e.g. "honest"')
        args = [] if args is None else args
        if (
            not isinstance(args, list)
            or len(args) > MAX_BEHAVIOUR_ARGS
            or not all(isinstance(a, str) and len(a) <= MAX_BEHAVIOUR_ARG_CHARS for a in args)
        ):
            raise InvalidParams(
                f'args must be a list of at most {MAX_BEHAVIOUR_ARGS} "key=value" strings'
            )
        try:
            behaviour = make_behaviour(name, args)
        except BehaviourError as exc:
            raise InvalidParams(str(exc)) from None
        self.node.behaviour = behaviour
        log.info("behaviour switched to %s %s", behaviour.name, " ".join(args))
        return behaviour.info()
