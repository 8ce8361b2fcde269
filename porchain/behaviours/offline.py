"""`offline`: do none of our key's duties for a window of slots."""

from __future__ import annotations

from typing import TYPE_CHECKING

from porchain.behaviours.base import INT, ArgType, Behaviour, Duty, Param
from porchain.duties import VoteDecision
from porchain.types.blocks import Block

if TYPE_CHECKING:
    from porchain.node import Node

FOREVER = 2**63  # an `until_slot` never reached
SLOT = ArgType("slot", INT.parse, lambda slot: None if slot == FOREVER else slot)


class Offline(Behaviour):
    """From slot `from_slot` until (before) `until_slot`, produce no block, vote on nothing and
    send no duty (commit, reveal, encumber). The node still imports and relays, as one whose key
    is away."""

    name = "offline"
    params = (
        Param("from_slot", SLOT, 0, "first slot of the window"),
        Param("until_slot", SLOT, FOREVER, "first slot after the window (default: never)"),
    )

    def away(self, slot: int) -> bool:
        return self.args["from_slot"] <= slot < self.args["until_slot"]

    def produces(self, node: Node, slot: int) -> bool:
        return not self.away(slot)

    def vote(self, node: Node, block: Block, decision: VoteDecision | None) -> VoteDecision | None:
        return None if self.away(node.clock.current_slot()) else decision

    def duty(self, node: Node, slot: int, due: Duty | None) -> Duty | None:
        return None if self.away(slot) else due
