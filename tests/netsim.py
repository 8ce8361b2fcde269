"""Tests' view of the simulator's network (porchain.sim.network): the test keys as producers,
node `i` listening on `node{i}:30400`, salts seeded by node index.

Same Node, same services as a real run; only the transport (MemoryNetwork) and the database
(MemoryDB) differ. Time 0 of the trio clock is the genesis time, so `await trio.sleep(t)` under
`autojump_clock` runs the network for t seconds of chain time in a fraction of that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from porchain.behaviours import Behaviour
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey
from porchain.genesis import Genesis
from porchain.net.memory import MemoryNetwork
from porchain.node import Node
from porchain.plugins import NodePlugin
from porchain.sim.network import Salts, SimNetwork, open_network
from tests.factories import key, make_genesis

PRODUCER_KEYS = tuple(key(100 + i) for i in range(8))


def address(index: int) -> str:
    return f"node{index}:30400"


def network_genesis(producers: int, **wsc: int) -> Genesis:
    alloc = {k: {"balance": "1000", "rep_encumbered": "1000"} for k in PRODUCER_KEYS[:producers]}
    return make_genesis(alloc, preset="minimal", wsc=wsc)


def node_salts(index: int):
    """Seeded salts: every mix, and with it every schedule, is the same on every run."""

    def of(purpose: str) -> Salts:
        if purpose == "beacon":
            return lambda epoch: keccak(b"salt %d %d" % (index, epoch))
        return lambda number: keccak(b"%s salt %d %d" % (purpose.encode(), index, number))

    return of


class Sim(SimNetwork):
    async def start_node(
        self,
        index: int,
        *,
        bootnodes: tuple[str, ...] | None = None,
        behaviour: Behaviour | None = None,
        plugins: list[NodePlugin] | None = None,
        **config: Any,
    ) -> Node:
        """Start node `index` (its key is PRODUCER_KEYS[index]) on a fresh database, honest
        unless `behaviour` says otherwise, with the installed node plugins unless `plugins`
        ([]: none); `config`, NodeConfig fields."""
        boot = (
            bootnodes
            if bootnodes is not None
            else tuple(address(i) for i in range(len(self.nodes)) if i != index)
        )
        return await self.add_node(
            address(index),
            **self._identity(index),
            bootnodes=boot,
            behaviour=behaviour,
            plugins=plugins,
            **config,
        )

    async def restart_node(self, index: int, *, bootnodes: tuple[str, ...]) -> Node:
        """Stop node `index` if it runs and start it again, same keys, on a fresh database."""
        self.scopes[index].cancel()
        await self.wait_closed(address(index))  # the old node is still stopping
        self.nodes[index], self.scopes[index] = await self.launch(
            address(index),
            **self._identity(index),
            bootnodes=bootnodes,
            behaviour=self.nodes[index].behaviour,
        )
        return self.nodes[index]

    @staticmethod
    def _identity(index: int) -> dict:
        return {
            "key": PRODUCER_KEYS[index],
            "node_key": PrivateKey(PRODUCER_KEYS[index].secret[::-1]),
            "salts": node_salts(index),
        }


@asynccontextmanager
async def simulation(genesis: Genesis, *, latency: float = 0.005) -> AsyncIterator[Sim]:
    async with open_network(genesis, MemoryNetwork(latency=latency), Sim) as sim:
        yield sim
