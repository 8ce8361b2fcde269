"""`withhold_reveal`: commit honestly, then reveal only when the reveal does not cost us slots.

The last-revealer strategy of RANDAO attacks (PROTOCOL section 6). Our REVEAL in epoch e decides
`mix[e+1]`, and with it the producers of epoch e+2, the only schedule that reveal can bias (later
mixes hash in salts nobody knows yet). So at the last slot of the reveal window whose REVEAL can
still be included, we end epoch e twice on scratch copies of the head state, by the real
epoch-end rules (`process_epoch`): once with our reveal and once without, both with the others'
reveals already on chain or pending in our mempool. Withholding is then priced by the rules
themselves: the penalty, and our key left out of the e+2 snapshot, so it draws 0 slots there. We
count the e+2 slots of the keys we work for (our own and `partners`) and reveal only if revealing
gives them at least as many as withholding. Alone (no partners) that never withholds: 0 slots is
never more. With partners it withholds when the partners gain more than we lose.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from porchain.behaviours.base import ADDRESSES, BOOL, Behaviour, Duty, Param
from porchain.consensus.beacon import EpochValue, reveal_window
from porchain.consensus.slots import process_epoch
from porchain.errors import InvalidTransaction
from porchain.state.objects import Reveal
from porchain.state.state import State
from porchain.types.transactions import TxKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from porchain.node import Node

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RevealChoice:
    """What we decided for one epoch's reveal, and the two slot counts it was decided on."""

    epoch: int
    reveal: bool
    slots_revealing: int
    slots_withholding: int


class WithholdReveal(Behaviour):
    """Commit in every epoch; reveal only when that gives our side at least as many slots."""

    name = "withhold_reveal"
    params = (
        Param("always", BOOL, False, "never reveal (a baseline), without comparing"),
        Param("partners", ADDRESSES, frozenset(), "keys whose slots count with ours (a,b,..)"),
    )

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        super().__init__(args)
        self.choice: RevealChoice | None = None  # the latest epoch's only: memory stays bounded

    def duty(self, node: Node, slot: int, due: Duty | None) -> Duty | None:
        if due is None or due[0] != TxKind.REVEAL:
            return due
        state = node.chain.state()
        epoch = slot // state.params.epoch_slots
        if slot < decision_slot(state, epoch):
            return None  # wait: the later we decide, the more reveals we see
        if self.choice is None or self.choice.epoch != epoch:
            self.choice = self.decide(node, epoch, due)
            if not self.choice.reveal:
                log.info(
                    "withheld reveal epoch=%d slots_revealing=%d slots_withholding=%d",
                    epoch,
                    self.choice.slots_revealing,
                    self.choice.slots_withholding,
                )
        return due if self.choice.reveal else None

    def decide(self, node: Node, epoch: int, due: Duty) -> RevealChoice:
        if self.args["always"]:
            return RevealChoice(epoch, False, 0, 0)
        assert node.address is not None
        handler = node.chain.rules.handler(TxKind.REVEAL)
        ours = Reveal(node.address, handler.decode(due[1]).value)
        others = pending_reveals(node, epoch)
        counted = self.args["partners"] | {node.address}
        revealing = slots_of(counted, ended_epoch(node, epoch, [*others, ours]), epoch + 2)
        withholding = slots_of(counted, ended_epoch(node, epoch, others), epoch + 2)
        return RevealChoice(epoch, revealing >= withholding, revealing, withholding)


def decision_slot(state: State, epoch: int) -> int:
    """The last slot of `epoch`'s reveal window whose REVEAL the next slot's block can still
    include: sent at its start, it reaches that block's producer in time."""
    window = reveal_window(state, epoch)
    return max(window.start, window.stop - 2)


def pending_reveals(node: Node, epoch: int) -> list[Reveal]:
    """Valid reveals for `epoch` in our mempool, not yet on chain (our own left out)."""
    state = node.pending_state()
    handler = node.chain.rules.handler(TxKind.REVEAL)
    found: dict[bytes, Reveal] = {}
    for tx in node.mempool.candidates():
        if tx.kind != TxKind.REVEAL or tx.sender == node.address or tx.sender in found:
            continue
        with contextlib.suppress(InvalidTransaction):
            payload: EpochValue = handler.decode(tx.payload)
            if payload.epoch == epoch:
                handler.validate(state, tx, payload)
                found[tx.sender] = Reveal(tx.sender, payload.value)
    return list(found.values())


def ended_epoch(node: Node, epoch: int, reveals: list[Reveal]) -> State:
    """A scratch state as of now with `reveals` added to `epoch`'s, after the real end of
    `epoch` (no further block assumed: the decision is at its last useful slot)."""
    state = node.pending_state()
    record = state.epoch_record(epoch)
    record.reveals.extend(reveals)
    record.reveals.sort(key=lambda r: r.address)
    process_epoch(state, epoch, node.chain.rules)
    return state


def slots_of(addresses: frozenset[bytes], state: State, epoch: int) -> int:
    """How many slots of `epoch`'s schedule in `state` go to `addresses`."""
    return sum(producer in addresses for producer in state.schedule(epoch).producers)
