"""Builder/relay separation on a simulated network: a real Builder, Relay and producer, their
HTTP in-process (httpx's ASGI transport), the node's RPC methods called on the event loop so
that the virtual clock stays deterministic."""

from __future__ import annotations

import json
from typing import Any

import httpx
import trio

from porchain.behaviours import Behaviour
from porchain.consensus.pool_codes import AGAINST, REJECTED
from porchain.crypto.keys import to_checksum_address
from porchain.net import messages as m
from porchain.node import Node
from porchain.pbs.attacks import CensoringBuilder
from porchain.pbs.client import RelayAddress
from porchain.pbs.record import BUILDER
from porchain.pbs.relay import Relay, node_checker
from porchain.pbs.relay_app import RelayApp
from porchain.rpc.builder import BuilderApi
from porchain.rpc.consensus import ConsensusApi
from porchain.rpc.methods import PorApi
from porchain.rpc.view import Offload
from porchain.types.transactions import Transaction
from tests.factories import CHAIN_ID, dollars, key, make_genesis
from tests.netsim import PRODUCER_KEYS, simulation
from tests.test_behaviours import INITIAL_REP, TARGET, rep, send_each_slot, sides

BUILDER_KEY, RELAY_KEY = key(700), key(701)
RELAY_URL = "http://relay.test"


class LoopRPC:
    """A node's RPC methods called on the event loop, answers through JSON as over HTTP."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.apis = [PorApi(node), ConsensusApi(node), BuilderApi(node)]

    async def call(self, method: str, *params: Any) -> Any:
        (api,) = [api for api in self.apis if hasattr(api, method)]
        result = getattr(api, method)(*params)
        if isinstance(result, Offload):
            result = result.finish(self.node.chain)
        await trio.lowlevel.checkpoint()
        return json.loads(json.dumps(result))


class Unheard(Behaviour):
    """Honest, but gossips the censored user's transactions to every peer but the producer's
    node: a network where they never reach it."""

    def __init__(self, producer_id: bytes) -> None:
        super().__init__()
        self.producer_id = producer_id

    def gossip_targets(self, node: Node, peers: list, message: object) -> list:
        if isinstance(message, m.Txs) and any(
            Transaction.decode(raw).sender == TARGET.address for raw in message.txs
        ):
            return [peer for peer in peers if peer.node_id != self.producer_id]
        return peers


def pbs_genesis():
    alloc = {k: {"balance": "1000", "rep_encumbered": "1000"} for k in PRODUCER_KEYS[:4]}
    alloc.update({TARGET: {"balance": "100000"}, BUILDER_KEY: {"balance": "100000"}})
    return make_genesis(alloc, preset="minimal")


async def test_a_censoring_builder_costs_its_producer_rep_and_is_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(pbs_genesis()) as sim:
        builder_node = await sim.start_node(1, builder_api=True)
        rpc = LoopRPC(builder_node)
        relay = Relay(RELAY_KEY, CHAIN_ID, node_checker(rpc), builder_node.clock.now_ms)
        relay_app = httpx.ASGITransport(app=RelayApp(relay))
        address = RelayAddress.parse(f"http://0x{RELAY_KEY.address.hex()}@relay.test")
        producer = await sim.start_node(0, relays=(address,), relay_transport=relay_app)
        assert producer.network is not None
        for i in (2, 3):
            await sim.start_node(i, behaviour=Unheard(producer.network.node_id))
        builder_node.behaviour = Unheard(producer.network.node_id)
        async with httpx.AsyncClient(mounts={RELAY_URL: relay_app}) as http:
            senders = frozenset({TARGET.address})
            builder = CensoringBuilder(
                BUILDER_KEY,
                rpc,
                [RELAY_URL],
                http,
                pay=dollars(1),
                clock=builder_node.clock,
                args={"senders": senders},
            )
            sim.nursery.start_soon(builder.run)
            await send_each_slot(builder_node, 120)
        assert producer.sourcing is not None
        taken = [e for e in producer.sourcing.produced.entries if e.source == "relay"]
        assert taken and taken[0].builder == to_checksum_address(BUILDER_KEY.address)
        first = producer.chain.get_block(bytes.fromhex(taken[0].block_hash[2:]))
        assert first is not None and not any(
            tx.sender == TARGET.address for tx in first.transactions
        )
        assert [sides(builder_node, first).get(k.address) for k in PRODUCER_KEYS[1:4]] == [
            AGAINST
        ] * 3
        state = builder_node.chain.state()
        assert state.pool(state.block_pool_id(first.number)).status == REJECTED
        assert taken[0].outcome == "rejected"
        assert rep(builder_node, PRODUCER_KEYS[0].address) < INITIAL_REP
        record = producer.sourcing.book.records[BUILDER, BUILDER_KEY.address]
        assert record.dropped and record.fault_count("rejected") == len(taken)
        # taken only until the first of its pools closed (a block pool lasts 2 blocks): never
        # again after that
        assert max(e.slot for e in taken) < record.dropped_at_slot <= taken[0].slot + 2 * 4
        later = [e for e in producer.sourcing.produced.entries if e.slot > record.dropped_at_slot]
        assert len(later) >= 5 and {e.source for e in later} == {"local"}
        assert builder.submitted > 60  # it kept bidding, for every slot
