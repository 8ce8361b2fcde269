"""Automatic whistleblowing on a network (PROTOCOL section 11, issue 12): an `equivocate` or an
`invalid_block` producer is slashed by EVIDENCE an honest node sent on its own, within a bounded
number of slots; every node agrees on the state afterwards, and the offender is no longer
scheduled once the schedules drawn after the slash take effect. Real nodes, in-memory network,
virtual time (tests/netsim.py)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from judicial.evidence import Offence, punished_offences
from judicial.slashes import EQUIVOCATION, INVALID_BLOCK, slash_history
from judicial.whistleblower import Whistleblower, turn
from porchain.behaviours import make_behaviour
from porchain.crypto.keys import to_checksum_address
from porchain.node import Node
from tests.netsim import PRODUCER_KEYS, Sim, network_genesis, simulation
from tests.test_behaviour_equivocate import rpc

SLOT_SECONDS = 0.1  # minimal preset: epochs of 4 slots
OFFENDER = PRODUCER_KEYS[3]
FROM_SLOT = 10
# The offence to its slash: the first of the honest nodes in the offence's order sends at once
# and the next producer includes it; a few slots more if that one is the offender's next slot.
SLASH_BOUND_SLOTS = 8


def punished(node: Node) -> list[Offence]:
    return [
        o for o in punished_offences(node.chain.state()).entries if o.producer == OFFENDER.address
    ]


async def run_until_slashed(sim: Sim, honest: list[Node]) -> Offence:
    with trio.fail_after(120 * SLOT_SECONDS):
        while not all(punished(n) for n in honest):
            await trio.sleep(SLOT_SECONDS)
    first = punished(honest[0])[0]
    same = {(o.slot, o.number, o.tx) for o in (punished(n)[0] for n in honest)}
    assert same == {(first.slot, first.number, first.tx)}  # one offence, the same block
    return first


async def check_agreement_and_schedule(honest: list[Node], offence: Offence) -> None:
    """Every honest node on the same chain, the offender without REP and out of the schedules
    drawn after the slash."""
    epoch_slots = honest[0].chain.state().params.epoch_slots
    slash_epoch = honest[0].chain.get_block_by_number(offence.number).slot // epoch_slots
    with trio.fail_after(60 * SLOT_SECONDS):
        while min(n.chain.head.slot for n in honest) < (slash_epoch + 3) * epoch_slots:
            await trio.sleep(SLOT_SECONDS)
    height = min(n.chain.head.number for n in honest) - 2
    assert len({n.chain.get_canonical_hash(height) for n in honest}) == 1
    roots = {n.chain.get_block_by_number(height).header.state_root for n in honest}
    assert len(roots) == 1
    for node in honest:
        state = node.chain.state()
        # out of the ASC; what REP it has it earned since, from its pools before the slash
        assert state.account(OFFENDER.address).asc_weight == 0
        assert OFFENDER.address not in state.asc_members.addresses
        history = slash_history(state, OFFENDER.address)
        assert history.count == len(punished(node))  # each offence once
        # the slash, and what it forfeited while barred
        assert history.recent[0].amount == punished(node)[0].amount >= offence.amount > 0
        assert history.total == sum(o.amount for o in punished(node))
        for epoch in range(slash_epoch + 2, node.chain.head.slot // epoch_slots + 1):
            assert OFFENDER.address not in state.schedule(epoch).producers, epoch
        produced_late = [
            b.number
            for b in node.chain.iter_canonical(node.chain.head.number - 2 * epoch_slots)
            if b.header.producer == OFFENDER.address and b.slot >= (slash_epoch + 2) * epoch_slots
        ]
        assert produced_late == []


def check_whistleblower(honest: list[Node], offence: Offence) -> None:
    assert offence.whistleblower in {n.address for n in honest}
    assert offence.reward == offence.amount * 50_000 // 1_000_000
    tx_block = honest[0].chain.get_block_by_number(offence.number)
    (tx,) = [t for t in tx_block.transactions if t.hash == offence.tx]
    assert tx.sender == offence.whistleblower


async def test_an_equivocator_is_slashed_by_an_honest_nodes_own_evidence(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(network_genesis(4)) as sim:
        for i in range(3):
            await sim.start_node(i)
        behaviour = make_behaviour("equivocate", [f"from_slot={FROM_SLOT}"])
        await sim.start_node(3, behaviour=behaviour)
        honest = sim.nodes[:3]
        offence = await run_until_slashed(sim, honest)
        assert offence.kind == EQUIVOCATION and offence.slot >= FROM_SLOT
        slash_slot = honest[0].chain.get_block_by_number(offence.number).slot
        assert slash_slot - offence.slot <= SLASH_BOUND_SLOTS
        check_whistleblower(honest, offence)
        await check_agreement_and_schedule(honest, offence)
        listed = (await rpc(honest[1], "jud_listEvidence"))["result"]
        assert [e["slot"] for e in listed] == [offence.slot]
        assert listed[0]["producer"] == to_checksum_address(OFFENDER.address)
        assert listed[0]["evidence"] == "equivocation"
        slashes = await rpc(honest[2], "jud_getSlashes", to_checksum_address(OFFENDER.address))
        assert slashes["result"]["count"] == 1
        (slash,) = slashes["result"]["recent"]  # the slash, and what it has forfeited since
        assert (
            int(slash["amount"]) >= offence.amount and slashes["result"]["total"] == slash["amount"]
        )
        plugin = next(p for p in sim.nodes[3].plugins if isinstance(p, Whistleblower))
        assert plugin.queued == {} and not plugin.handled  # it never accused its own key


@pytest.mark.parametrize("rule", ["state_root", "transaction", "slot"])
async def test_an_invalid_block_producer_is_slashed_by_an_honest_nodes_own_evidence(
    rule: str, autojump_clock: trio.testing.MockClock
) -> None:
    async with simulation(network_genesis(4)) as sim:
        for i in range(3):
            await sim.start_node(i)
        behaviour = make_behaviour("invalid_block", [f"rule={rule}", f"from_slot={FROM_SLOT}"])
        await sim.start_node(3, behaviour=behaviour)
        honest = sim.nodes[:3]
        offence = await run_until_slashed(sim, honest)
        assert offence.kind == INVALID_BLOCK
        slash_slot = honest[0].chain.get_block_by_number(offence.number).slot
        assert slash_slot - offence.slot <= SLASH_BOUND_SLOTS
        check_whistleblower(honest, offence)
        await check_agreement_and_schedule(honest, offence)


async def test_blocks_that_prove_nothing_slash_nobody(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A block whose body does not match its header, or signed by a key with no REP, is
    refused, and nobody is slashed for it."""
    async with simulation(network_genesis(4)) as sim:
        for i in range(3):
            await sim.start_node(i)
        behaviour = make_behaviour("invalid_block", ["rule=tx_root", f"from_slot={FROM_SLOT}"])
        await sim.start_node(3, behaviour=behaviour)
        await trio.sleep(60 * SLOT_SECONDS)
        for node in sim.nodes[:3]:
            assert punished_offences(node.chain.state()).entries == []
            assert node.chain.state().account(OFFENDER.address).rep_weight > 0


def test_the_order_of_whistleblowers_is_a_permutation_drawn_per_offence() -> None:
    members = sorted(k.address for k in PRODUCER_KEYS[:5])
    for offence in (b"\x01" * 28, b"\x02" * 28):
        assert sorted(turn(offence, members, m) for m in members) == list(range(5))
    assert turn(b"\x01" * 28, members, b"\x09" * 20) == 5  # not a member: after all of them
    orders = {tuple(turn(bytes([i]) * 28, members, m) for m in members) for i in range(8)}
    assert len(orders) > 1
