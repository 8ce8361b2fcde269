"""Node.pending_state: advanced through slots once per head and slot, handed out as forks."""

from __future__ import annotations

import trio

from porchain.clock import SlotClock
from porchain.consensus.slots import advance_to_slot
from porchain.node import Node, NodeConfig
from tests.factories import GENESIS_TIME_MS, extend, new_chain
from tests.netsim import PRODUCER_KEYS, network_genesis


async def test_pending_states_are_independent_forks_of_one_advance(autojump_clock) -> None:
    genesis = network_genesis(2)
    params = genesis.params
    clock = SlotClock(GENESIS_TIME_MS, params.slot_ms, offset_ms=GENESIS_TIME_MS)
    node = Node(new_chain(genesis), clock, key=PRODUCER_KEYS[0], config=NodeConfig(rpc_port=None))
    await trio.sleep((params.epoch_slots + 1.5) * params.slot_ms / 1000)  # an epoch ended
    slot = clock.current_slot()
    fresh = advance_to_slot(node.chain.state(), slot, node.chain.rules)
    user = PRODUCER_KEYS[1].address
    first = node.pending_state()
    first.account(user).balance += 5
    second = node.pending_state()
    assert second.changes() == fresh.changes() != []  # the epoch's end, done as it would be
    assert first.account(user).balance == second.account(user).balance + 5
    assert second.chain.slot == slot

    extend(node.chain, keys=PRODUCER_KEYS[:2], slot=slot)  # a new head: advanced anew
    after = node.pending_state()
    assert after.chain.number == 1 and after.chain.slot == slot + 1
