"""Many real nodes in one process over the in-memory network, on trio's virtual clock.

Same Node, same services as a real run; only the transport (MemoryNetwork) and the database
(MemoryDB) differ. Time 0 of the trio clock is the genesis time, so `await trio.sleep(t)` under
`trio.testing.MockClock(autojump_threshold=0)` runs the network for t seconds of chain time in a
fraction of that. Salts (the beacon's, and those of every plugin with a `new_salt`, as the
automatic jurors' ballots) come from the caller, so that runs repeat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import trio

from porchain.behaviours import Behaviour
from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.composition import default_rules
from porchain.crypto.keys import PrivateKey
from porchain.db.memory import MemoryDB
from porchain.duties import BeaconDuty
from porchain.genesis import Genesis
from porchain.net.memory import MemoryNetwork
from porchain.net.service import NetConfig
from porchain.node import Node, NodeConfig
from porchain.plugins import NodePlugin

Salts = Callable[[int], bytes]
S = TypeVar("S", bound="SimNetwork")
DIAL_INTERVAL = 0.5  # seconds between dials of missing peers


@dataclass
class SimNetwork:
    genesis: Genesis
    network: MemoryNetwork
    nursery: trio.Nursery
    nodes: list[Node] = field(default_factory=list)
    scopes: list[trio.CancelScope] = field(default_factory=list)

    async def add_node(self, address: str, key: PrivateKey, **options: Any) -> Node:
        """Start a node producing with `key` on a fresh database and count it in `nodes`;
        `options` as for `launch` (honest unless a `behaviour` is given)."""
        node, scope = await self.launch(address, key, **options)
        self.nodes.append(node)
        self.scopes.append(scope)
        return node

    async def launch(
        self,
        address: str,
        key: PrivateKey,
        *,
        node_key: PrivateKey,
        bootnodes: tuple[str, ...],
        salts: Callable[[str], Salts],
        behaviour: Behaviour | None = None,
        plugins: list[NodePlugin] | None = None,
        max_peers: int | None = None,
        **config: Any,
    ) -> tuple[Node, trio.CancelScope]:
        """A node started in the network's nursery, and the scope that stops it;
        `salts(purpose)` gives its salt source for "beacon" and for each plugin (by name) that
        draws salts; `config`, NodeConfig fields (relays, builder_api)."""
        chain = Chain.initialize(MemoryDB(), self.genesis, default_rules())
        genesis_ms = self.genesis.genesis_time_ms
        clock = SlotClock(genesis_ms, self.genesis.params.slot_ms, offset_ms=genesis_ms)
        net = NetConfig(listen=address, bootnodes=bootnodes, dial_interval=DIAL_INTERVAL)
        if max_peers is not None:
            net = dataclasses.replace(net, max_peers=max_peers)
        node = Node(
            chain,
            clock,
            key=key,
            # no recovery workers: a simulation is one process, measured in CPU time
            config=NodeConfig(
                rpc_port=None, behaviour=behaviour or Behaviour(), recovery_workers=0, **config
            ),
            transport=self.network.transport(address),
            node_key=node_key,
            net=net,
            plugins=plugins,
        )
        node.beacon_duty = BeaconDuty(chain.db, key, salts("beacon"))
        for plugin in node.plugins:
            if hasattr(plugin, "new_salt"):  # the plugin convention for salts (judicial.jurors)
                plugin.new_salt = salts(plugin.name)
        scope = trio.CancelScope()

        async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            with scope:
                await node.run(task_status=task_status)

        await self.nursery.start(run)
        return node, scope

    def stop_node(self, node: Node) -> None:
        self.scopes[self.nodes.index(node)].cancel()

    async def wait_closed(self, address: str) -> None:
        """Until the node that listened on `address` has stopped listening."""
        while address in self.network._listeners:
            await trio.sleep(0.01)

    def heads(self) -> set[bytes]:
        return {node.chain.head.hash for node in self.nodes}


@asynccontextmanager
async def open_network(
    genesis: Genesis, network: MemoryNetwork, kind: type[S] = SimNetwork
) -> AsyncIterator[S]:
    """A network (a `kind`) to add nodes to; every node stops when the block exits."""
    async with trio.open_nursery() as nursery:
        sim = kind(genesis, network, nursery)
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
