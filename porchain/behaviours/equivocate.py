"""`equivocate`: sign two different blocks for one slot, each sent to half of the peers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from porchain.behaviours.base import FRACTION, INT, Behaviour, Param, drawn
from porchain.builder import build_block
from porchain.net import messages as m
from porchain.types.blocks import Block

if TYPE_CHECKING:
    from collections.abc import Mapping

    from porchain.net.peer import Peer
    from porchain.node import Node

TWIN_EXTRA = b"equivocation"  # the second block's extra data: all that differs from the first
MAX_SPLIT_BLOCKS = 16  # our recent blocks remembered with the half of the peers they go to


class Equivocate(Behaviour):
    """From slot `from_slot`, in `fraction` of our slots, build a second block on the same
    parent with the same transactions and other extra data, valid and signed with our key: the
    first is imported and relayed to one half of the peers (by node id), the second sent to the
    other half. Both are valid, so honest nodes keep the one fork choice prefers and store the
    other on a side branch; the two signed headers prove the fault."""

    name = "equivocate"
    params = (
        Param("from_slot", INT, 0, "first slot to equivocate at"),
        Param("fraction", FRACTION, 1.0, "equivocate in this fraction of our slots (drawn)"),
        Param("seed", INT, 0, "seed of that draw, so a run can be reproduced"),
    )

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        super().__init__(args)
        self._halves: OrderedDict[bytes, int] = OrderedDict()  # encoded block -> half 0 or 1

    def equivocates_at(self, slot: int) -> bool:
        return slot >= self.args["from_slot"] and drawn(
            self.args["seed"], slot, self.args["fraction"]
        )

    def publish(self, node: Node, slot: int, block: Block) -> list[Block]:
        if not self.equivocates_at(slot) or node.key is None:
            return [block]
        chain = node.chain
        twin = build_block(
            chain.state(),
            chain.head,
            slot,
            node.key,
            block.transactions,
            chain.rules,
            extra=TWIN_EXTRA,
        ).block
        self._split(block, 0)
        self._split(twin, 1)
        return [block, twin]

    def gossip_targets(self, node: Node, peers: list[Peer], message: object) -> Iterable[Peer]:
        half = self._halves.get(message.block) if isinstance(message, m.NewBlock) else None
        if half is None:
            return peers
        ordered = sorted(peers, key=lambda peer: peer.node_id)
        return ordered[half::2]

    def _split(self, block: Block, half: int) -> None:
        self._halves[block.encode()] = half
        while len(self._halves) > MAX_SPLIT_BLOCKS:
            self._halves.popitem(last=False)
