"""Producer selection: the REP-weighted draw of PROTOCOL section 6, and the epoch schedule.

For slot s, `r = int(keccak(mix || s)) mod total_weight`, then a binary search over the
cumulative weights of the ASC snapshot, sorted by address. Policy `weighted` draws every slot
from the whole snapshot; `cycle` leaves out who was already drawn until every member has been
drawn once (the seed's "more stable selection").

A slot is drawn as 8 bytes, so every slot a schedule covers must be below 2^64: `max_block_slot`
is the rules' bound on a block's slot (a header's slot is an integer from outside).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from porchain.crypto.hashing import keccak
from porchain.errors import InvalidBlock
from porchain.state.objects import Weight
from porchain.state.state import State

SLOT_BYTES = 8  # a slot's width in the draw (and an epoch's in the schedule keys)


def draw(mix: bytes, slot: int, snapshot: Sequence[Weight]) -> bytes:
    """The member drawn for `slot` from a non-empty snapshot."""
    cumulative = list(accumulate(w.weight for w in snapshot))
    r = int.from_bytes(keccak(mix + slot.to_bytes(8, "big")), "big") % cumulative[-1]
    return snapshot[bisect_right(cumulative, r)].address


def max_block_slot(epoch_slots: int) -> int:
    """The last slot a block may have: applying a block at slot s draws the schedules up to the
    epoch after s's, and each of their slots must fit in `SLOT_BYTES`."""
    return (2 ** (8 * SLOT_BYTES) // epoch_slots - 1) * epoch_slots - 1


def check_block_slot(epoch_slots: int, slot: int) -> None:
    """Refuse a slot whose schedules cannot be drawn, before any work is done for it."""
    highest = max_block_slot(epoch_slots)
    if slot > highest:
        raise InvalidBlock(
            f"slot {slot} is over the highest slot a block may have, {highest} "
            f"(the schedules it draws need slots below 2^{8 * SLOT_BYTES})"
        )


def compute_schedule(
    mix: bytes,
    snapshot: Sequence[Weight],
    first_slot: int,
    slots: int,
    policy: str,
    cycle_drawn: Sequence[bytes] = (),
) -> tuple[list[bytes], list[bytes]]:
    """Producers of `slots` slots from `first_slot`, and who the cycle has drawn after them."""
    if not snapshot:
        return [], list(cycle_drawn)
    if policy == "weighted":
        return [draw(mix, first_slot + i, snapshot) for i in range(slots)], list(cycle_drawn)
    members = {w.address for w in snapshot}
    drawn = {a for a in cycle_drawn if a in members}
    producers = []
    for slot in range(first_slot, first_slot + slots):
        if drawn == members:
            drawn = set()
        candidates = [w for w in snapshot if w.address not in drawn]
        producer = draw(mix, slot, candidates)
        drawn.add(producer)
        producers.append(producer)
    return producers, sorted(drawn)


def get_slot_producer(state: State, slot: int) -> bytes | None:
    """The producer scheduled for `slot`, or None when nobody is (the state must have been
    advanced to within one epoch of `slot`)."""
    epoch_slots = state.params.epoch_slots
    producers = state.schedule(slot // epoch_slots).producers
    index = slot % epoch_slots
    return producers[index] if index < len(producers) else None
