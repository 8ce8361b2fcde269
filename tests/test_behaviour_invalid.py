"""`invalid_block` (PROTOCOL section 13): a producer that publishes, for its slot, a block
breaking a named consensus rule. Honest nodes refuse it (InvalidBlock), ban its sender and go on
without it, on real nodes over the in-memory network and virtual time (tests/netsim.py)."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from porchain.behaviours import make_behaviour
from porchain.behaviours.invalid import RULES
from porchain.builder import build_block
from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.errors import InvalidBlock
from porchain.node import Node, NodeConfig
from tests.factories import GENESIS_TIME_MS, new_chain
from tests.netsim import PRODUCER_KEYS, network_genesis, simulation

SLOT_SECONDS = 0.1  # minimal preset
ATTACKER = PRODUCER_KEYS[3]
FROM_SLOT = 10

# what an honest node says about each rule's block (its ban reason)
REFUSALS = {
    "state_root": "state_root mismatch: the block says 0x",
    "tx_root": "tx_root does not match the block's transactions",
    "signature": "block signature is not the producer's",
    "producer": "wrong producer for slot",
    "slot": "is not after the parent's slot",
    "transaction": "nonce gap: next nonce is",
}


def test_every_rule_has_its_refusal_checked() -> None:
    assert set(RULES) == set(REFUSALS)


def test_invalid_block_is_registered_with_its_arguments() -> None:
    behaviour = make_behaviour("invalid_block", ["rule=producer", "from_slot=4"])
    assert behaviour.info() == {
        "name": "invalid_block",
        "args": {"rule": "producer", "from_slot": 4},
    }
    assert make_behaviour("invalid_block").info()["args"] == {"rule": "state_root", "from_slot": 0}


def produced_by(chain: Chain, producer: bytes, from_slot: int) -> list[int]:
    return [
        b.slot
        for b in chain.iter_canonical(1)
        if b.header.producer == producer and b.slot >= from_slot
    ]


def banned_by_all(honest: list[Node], attacker: Node) -> bool:
    now = trio.current_time()
    assert attacker.network is not None
    return all(
        n.network is not None and n.network.banned.is_banned(attacker.network.node_id, now)
        for n in honest
    )


@pytest.mark.parametrize("rule", sorted(RULES))
async def test_an_invalid_block_is_refused_and_its_sender_banned(
    rule: str, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="porchain.net.service")
    async with simulation(network_genesis(4)) as sim:
        for i in range(3):
            await sim.start_node(i)
        behaviour = make_behaviour("invalid_block", [f"rule={rule}", f"from_slot={FROM_SLOT}"])
        attacker = await sim.start_node(3, behaviour=behaviour)
        honest = sim.nodes[:3]
        with trio.fail_after(80 * SLOT_SECONDS):
            while not banned_by_all(honest, attacker):
                await trio.sleep(SLOT_SECONDS)
        banned_at = [n.chain.head.number for n in honest]
        bans = [r.getMessage() for r in caplog.records if "banning peer=" in r.getMessage()]
        assert len(bans) >= len(honest)
        assert all("invalid block #" in b and REFUSALS[rule] in b for b in bans), bans
        await trio.sleep(40 * SLOT_SECONDS)
        for node, before in zip(honest, banned_at, strict=True):
            assert node.chain.head.number >= before + 20  # three producers in four go on
            assert produced_by(node.chain, ATTACKER.address, FROM_SLOT) == []
            assert produced_by(node.chain, ATTACKER.address, 0)  # its blocks before counted
        heights = [n.chain.head.number for n in honest]
        assert max(heights) - min(heights) <= 1  # together, at most a block in flight apart
        assert produced_by(attacker.chain, ATTACKER.address, FROM_SLOT) == []  # never imported


def test_each_rule_breaks_that_rule_alone() -> None:
    """Each rule's block, made from a real node's block for its head, fails import for that
    rule, and the honest block for the same slot imports."""
    genesis = network_genesis(1)
    clock = SlotClock(GENESIS_TIME_MS, genesis.params.slot_ms, offset_ms=GENESIS_TIME_MS)
    node = Node(new_chain(genesis), clock, key=PRODUCER_KEYS[0], config=NodeConfig(rpc_port=None))
    chain = node.chain
    for rule, twist in RULES.items():
        slot = chain.head.slot + 1
        block = build_block(chain.state(), chain.head, slot, PRODUCER_KEYS[0], [], chain.rules)
        with pytest.raises(InvalidBlock) as refused:
            chain.import_block(twist(node, block.block))
        assert REFUSALS[rule] in str(refused.value)
        assert chain.import_block(block.block).status == "head"
