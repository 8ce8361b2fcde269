"""Advancing the state through slots: epoch transitions and missed slots.

Before a block at slot s is applied, every epoch that ended since the parent's slot is processed
(the modules' `end_epoch` hooks: unbonding, beacon penalties, mix and schedule), and each skipped
slot counts as missed for the producer scheduled in it.

A gap of more than an epoch without any block is an outage of the whole network, not of its
producers: misses are not counted across it, and the epochs nobody produced in are caught up in
one step (`skip_epochs`), however long the outage was. So the work done for a block is bounded
whatever its slot: at most `epoch_slots` slots one by one, or one catch-up step; and a slot too
high for its schedules to be drawn is refused before either (`check_block_slot`).
"""

from __future__ import annotations

from porchain.consensus.asc import record_missed_slot
from porchain.consensus.modules import Rules
from porchain.consensus.selection import check_block_slot, get_slot_producer
from porchain.state.state import State


def process_epoch(state: State, epoch: int, rules: Rules) -> None:
    for module in rules.modules:
        module.end_epoch(state, epoch)


def process_slots(state: State, slot: int, rules: Rules) -> None:
    """Process the epoch ends and missed slots between the last block and `slot`."""
    epoch_slots = state.params.epoch_slots
    check_block_slot(epoch_slots, slot)
    last = state.chain.slot
    if slot - last > epoch_slots:
        first, target = last // epoch_slots, slot // epoch_slots
        process_epoch(state, first, rules)
        if target - 1 > first:
            for module in rules.modules:
                module.skip_epochs(state, first + 1, target - 1)
        return
    for t in range(last + 1, slot + 1):
        if t % epoch_slots == 0:
            process_epoch(state, t // epoch_slots - 1, rules)
        producer = get_slot_producer(state, t) if t < slot else None
        if producer is not None:
            record_missed_slot(state, producer, t)


def advance_to_slot(state: State, slot: int, rules: Rules) -> State:
    """A scratch state as the next block at `slot` will see it before its header applies:
    for scheduling, and for validating transactions that depend on the slot."""
    if slot > state.chain.slot:
        process_slots(state, slot, rules)
        state.chain.slot = slot
    return state


def scheduled_producer(state: State, slot: int, rules: Rules) -> bytes | None:
    """Who may produce the next block at `slot` on top of `state` (a scratch state: this
    advances it, as if no block came before `slot`)."""
    return get_slot_producer(advance_to_slot(state, slot, rules), slot)
