"""Many real nodes in one process over the in-memory network, on trio's virtual clock.

Same Node, same services as a real run; only the transport (MemoryNetwork) and the database
(MemoryDB) differ. Time 0 of the trio clock is the genesis time, so `await trio.sleep(t)` under
`autojump_clock` runs the network for t seconds of chain time in a fraction of that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from porchain.behaviours import Behaviour
from porchain.clock import SlotClock
from porchain.composition import default_rules
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey
from porchain.duties import BeaconDuty
from porchain.genesis import Genesis
from porchain.net.memory import MemoryNetwork
from porchain.net.service import NetConfig
from porchain.node import Node, NodeConfig
from porchain.plugins import NodePlugin
from tests.factories import GENESIS_TIME_MS, key, make_genesis, new_chain

PRODUCER_KEYS = tuple(key(100 + i) for i in range(8))


def address(index: int) -> str:
    return f"node{index}:30400"


def network_genesis(producers: int, **wsc: int) -> Genesis:
    alloc = {k: {"balance": "1000", "rep_encumbered": "1000"} for k in PRODUCER_KEYS[:producers]}
    return make_genesis(alloc, preset="minimal", wsc=wsc)


@dataclass
class Sim:
    genesis: Genesis
    network: MemoryNetwork
    nursery: trio.Nursery
    nodes: list[Node] = field(default_factory=list)
    scopes: list[trio.CancelScope] = field(default_factory=list)

    async def start_node(
        self,
        index: int,
        *,
        bootnodes: tuple[str, ...] | None = None,
        behaviour: Behaviour | None = None,
        plugins: list[NodePlugin] | None = None,
    ) -> Node:
        """Start node `index` (its key is PRODUCER_KEYS[index]) on a fresh database, honest
        unless `behaviour` says otherwise, with the installed node plugins unless `plugins`
        ([]: none)."""
        boot = (
            bootnodes
            if bootnodes is not None
            else tuple(address(i) for i in range(len(self.nodes)) if i != index)
        )
        node, scope = await self._launch(index, boot, behaviour or Behaviour(), plugins)
        self.nodes.append(node)
        self.scopes.append(scope)
        return node

    async def restart_node(self, index: int, *, bootnodes: tuple[str, ...]) -> Node:
        """Stop node `index` if it runs and start it again, same keys, on a fresh database."""
        self.scopes[index].cancel()
        while address(index) in self.network._listeners:  # the old node is still stopping
            await trio.sleep(0.01)
        behaviour = self.nodes[index].behaviour
        self.nodes[index], self.scopes[index] = await self._launch(index, bootnodes, behaviour)
        return self.nodes[index]

    async def _launch(
        self,
        index: int,
        boot: tuple[str, ...],
        behaviour: Behaviour,
        plugins: list[NodePlugin] | None = None,
    ) -> tuple[Node, trio.CancelScope]:
        chain = new_chain(self.genesis, rules=default_rules())
        clock = SlotClock(GENESIS_TIME_MS, self.genesis.params.slot_ms, offset_ms=GENESIS_TIME_MS)
        node = Node(
            chain,
            clock,
            key=PRODUCER_KEYS[index],
            config=NodeConfig(rpc_port=None, behaviour=behaviour),
            transport=self.network.transport(address(index)),
            node_key=PrivateKey(PRODUCER_KEYS[index].secret[::-1]),
            net=NetConfig(listen=address(index), bootnodes=boot, dial_interval=0.5),
            plugins=plugins,
        )
        # Seeded salts: every mix, and with it every schedule, is the same on every run.
        node.beacon_duty = BeaconDuty(
            chain.db, PRODUCER_KEYS[index], lambda epoch: keccak(b"salt %d %d" % (index, epoch))
        )
        scope = trio.CancelScope()

        async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            with scope:
                await node.run(task_status=task_status)

        await self.nursery.start(run)
        return node, scope

    def stop_node(self, node: Node) -> None:
        self.scopes[self.nodes.index(node)].cancel()

    def heads(self) -> set[bytes]:
        return {node.chain.head.hash for node in self.nodes}


@asynccontextmanager
async def simulation(genesis: Genesis, *, latency: float = 0.005) -> AsyncIterator[Sim]:
    async with trio.open_nursery() as nursery:
        sim = Sim(genesis, MemoryNetwork(latency=latency), nursery)
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
