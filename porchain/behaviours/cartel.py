"""`cartel`: a named set of keys that vote FOR each other's blocks whatever they did, and keep
outsiders' votes out of their own blocks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from porchain.behaviours.base import ADDRESSES, BOOL, Behaviour, Param, Txs
from porchain.behaviours.censor import leave_out
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction, TxKind

if TYPE_CHECKING:
    from porchain.node import Node


class Cartel(Behaviour):
    """A member's block is never judged censoring by another member (so it gets their FOR
    votes); with `censor_outsiders`, our blocks leave out non-members' VOTEs, so only the
    cartel's votes reach the pools of the blocks that follow. Members' own transactions are
    included as the honest builder includes everyone's. Our key is a member, listed or not."""

    name = "cartel"
    params = (
        Param("members", ADDRESSES, frozenset(), "the cartel's other keys (a,b,..)"),
        Param("censor_outsiders", BOOL, True, "leave out non-members' VOTE transactions"),
    )

    def members(self, node: Node) -> frozenset[bytes]:
        own = frozenset() if node.address is None else {node.address}
        return self.args["members"] | own

    def judge(self, node: Node, block: Block) -> list[Transaction]:
        if block.header.producer in self.members(node):
            return []
        return node.censored_in(block)

    def candidates(self, node: Node, slot: int, txs: Txs) -> Txs:
        if not self.args["censor_outsiders"]:
            return txs
        members = self.members(node)
        return leave_out(txs, lambda tx: tx.kind == TxKind.VOTE and tx.sender not in members)
