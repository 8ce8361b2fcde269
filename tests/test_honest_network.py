"""An honest network judges no block censored (PROTOCOL section 9: no false positives).

Four real nodes over the in-memory network on virtual time, users sending transfers to random
nodes every slot, every node running its duties (votes, commits, reveals, encumbering what it
earns). Nobody misbehaves, so no block may draw an AGAINST vote and no pool may be rejected.
"""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing

from porchain.consensus.pool_codes import AGAINST, REJECTED
from porchain.errors import InvalidTransaction
from porchain.genesis import Genesis
from porchain.node import Node
from tests.factories import dollars, key, make_genesis, transfer
from tests.netsim import PRODUCER_KEYS, simulation

USERS = tuple(key(500 + i) for i in range(6))


def loaded_genesis(preset: str) -> Genesis:
    alloc = {k: {"balance": "1000", "rep_encumbered": "1000"} for k in PRODUCER_KEYS[:4]}
    alloc.update({user: {"balance": "100000"} for user in USERS})
    return make_genesis(alloc, preset=preset)


async def send_transfers(nodes: list[Node], slots: int, slot_seconds: float, seed: int) -> None:
    """Three transfers a slot, each from a random user to a random node's RPC entry point."""
    rng = random.Random(seed)
    nonces = dict.fromkeys(USERS, 0)
    for _ in range(slots):
        await trio.sleep(slot_seconds)
        for _ in range(3):
            user = rng.choice(USERS)
            tx = transfer(user, rng.choice(USERS).address, dollars(1), nonce=nonces[user])
            try:
                rng.choice(nodes).submit_transaction(tx.encoded)
            except InvalidTransaction:
                continue  # that node's mempool is full of the user's queue: try later
            nonces[user] += 1


def judged_pools(node: Node) -> tuple[int, int, int]:
    """(resolved block pools, pools with an AGAINST vote, rejected pools) on `node`'s chain."""
    state = node.chain.state()
    resolved = against = rejected = 0
    for number in range(1, node.chain.finalized.number + 1):
        pool = state.pool(state.block_pool_id(number))
        resolved += 1
        against += any(stake.side == AGAINST for stake in pool.stakes)
        rejected += pool.status == REJECTED
    return resolved, against, rejected


@pytest.mark.parametrize(("preset", "slot_seconds"), [("minimal", 0.1), ("devnet", 1.0)])
async def test_no_block_is_judged_censored_in_1000_slots_under_load(
    preset: str, slot_seconds: float, autojump_clock: trio.testing.MockClock
) -> None:
    async with simulation(loaded_genesis(preset)) as sim:
        for i in range(4):
            await sim.start_node(i)
        await send_transfers(sim.nodes, 1000, slot_seconds, seed=1)
        resolved, against, rejected = judged_pools(sim.nodes[0])
        assert resolved >= 900
        assert (against, rejected) == (0, 0)
        included = sum(len(b.transactions) for b in sim.nodes[0].chain.iter_canonical())
        assert included >= 2500  # the load really went in
