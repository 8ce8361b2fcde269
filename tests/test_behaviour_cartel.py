"""`cartel` (PROTOCOL section 13): a 25% cartel, 2 of 8 producers, that keeps outsiders' votes
out of its blocks and votes FOR its members' blocks. Real nodes over the in-memory network,
virtual time, minimal preset."""

from __future__ import annotations

import trio
import trio.testing

from porchain.behaviours import make_behaviour
from porchain.consensus.pool_codes import ACCEPTED, AGAINST, FOR, NO_QUORUM, OPEN, REJECTED
from porchain.crypto.keys import to_checksum_address
from porchain.node import Node
from porchain.types.blocks import Block
from porchain.types.transactions import TxKind
from tests.factories import dollars
from tests.netsim import PRODUCER_KEYS, network_genesis, simulation
from tests.test_behaviours import rep, sides

SLOT_SECONDS = 0.1  # minimal preset
SLOTS = 160
EPOCH_SLOTS = 4  # minimal preset
INITIAL_REP = dollars(1000)  # each producer's, encumbered at genesis
HONEST = [k.address for k in PRODUCER_KEYS[:6]]
CARTEL = [k.address for k in PRODUCER_KEYS[6:8]]


def pool_of(node: Node, block: Block):
    state = node.chain.state()
    return state.pool(state.block_pool_id(block.number))


def resolved(node: Node, producers: list[bytes]) -> list[Block]:
    return [
        b
        for b in node.chain.iter_canonical(1)
        if b.header.producer in producers and pool_of(node, b).status != OPEN
    ]


async def test_a_quarter_cartel_censors_rival_votes_and_its_blocks_are_rejected(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(network_genesis(8)) as sim:
        for i in range(6):
            await sim.start_node(i)
        for i, other in ((6, CARTEL[1]), (7, CARTEL[0])):  # each lists the other only
            cartel = make_behaviour("cartel", [f"members={to_checksum_address(other)}"])
            await sim.start_node(i, behaviour=cartel)
        await trio.sleep(SLOTS * SLOT_SECONDS)
        observer = sim.nodes[0]

        cartel_blocks = resolved(observer, CARTEL)
        assert len(cartel_blocks) >= 20
        for block in cartel_blocks:
            votes = [tx for tx in block.transactions if tx.kind == TxKind.VOTE]
            assert {tx.sender for tx in votes} <= set(CARTEL)  # no outsider's vote got in
            assert [sides(observer, block).get(a) for a in CARTEL] == [FOR, FOR]
        outcome = {b.number: pool_of(observer, b).status for b in cartel_blocks}
        rejected = [b for b in cartel_blocks if outcome[b.number] == REJECTED]
        assert len(rejected) >= 10
        for block in rejected:  # it left out the honest votes on its parent
            assert [sides(observer, block).get(a) for a in HONEST] == [AGAINST] * 6
        for block in cartel_blocks:  # after a run of the cartel's, no honest vote got in
            if outcome[block.number] == NO_QUORUM:
                assert set(sides(observer, block)) == set(CARTEL)
        assert list(outcome.values()).count(ACCEPTED) <= len(cartel_blocks) // 10

        honest_blocks = resolved(observer, HONEST)
        assert len(honest_blocks) >= 100
        for block in honest_blocks:
            assert AGAINST not in sides(observer, block).values()
            assert pool_of(observer, block).status in (ACCEPTED, NO_QUORUM)
        accepted = [b for b in honest_blocks if pool_of(observer, b).status == ACCEPTED]
        assert len(accepted) >= len(honest_blocks) * 9 // 10

        assert max(rep(observer, a) for a in CARTEL) < INITIAL_REP
        assert min(rep(observer, a) for a in HONEST) > INITIAL_REP


async def test_without_censoring_a_cartel_looks_honest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """`censor_outsiders=false`: its blocks keep every vote, so nobody votes AGAINST them."""
    async with simulation(network_genesis(4)) as sim:
        for i in range(3):
            await sim.start_node(i)
        cartel = make_behaviour("cartel", ["censor_outsiders=false"])
        await sim.start_node(3, behaviour=cartel)
        await trio.sleep(100 * SLOT_SECONDS)
        observer = sim.nodes[0]
        blocks = resolved(observer, [PRODUCER_KEYS[3].address])
        assert len(blocks) >= 5
        outsiders = {k.address for k in PRODUCER_KEYS[:3]}
        assert any(tx.sender in outsiders for b in blocks for tx in b.transactions)
        for block in blocks:
            assert set(sides(observer, block).values()) == {FOR}
            assert pool_of(observer, block).status == ACCEPTED
