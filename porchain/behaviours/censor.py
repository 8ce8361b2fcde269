"""`censor`: build blocks that leave out chosen transactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from porchain.behaviours.base import (
    ADDRESSES,
    BOOL,
    FRACTION,
    INT,
    KINDS,
    Behaviour,
    BehaviourError,
    Param,
    Txs,
    drawn,
)
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction, TxKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from porchain.node import Node

BEACON_KINDS = (TxKind.COMMIT, TxKind.REVEAL)
TARGETS = ("senders", "kinds", "rival_votes", "beacon")


class Censor(Behaviour):
    """Leave the targeted transactions out of our blocks (in `fraction` of them), and with each
    one the later transactions of its sender, which could not follow it."""

    name = "censor"
    params = (
        Param("senders", ADDRESSES, frozenset(), "leave out these senders' transactions (a,b,..)"),
        Param("kinds", KINDS, frozenset(), "leave out transactions of these kinds (TRANSFER,..)"),
        Param("rival_votes", BOOL, False, "leave out the VOTE transactions of everyone else"),
        Param("beacon", BOOL, False, "leave out the COMMIT and REVEAL of everyone else"),
        Param("fraction", FRACTION, 1.0, "censor in this fraction of our blocks, drawn per slot"),
        Param("seed", INT, 0, "seed of that draw, so a run can be reproduced"),
    )

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        super().__init__(args)
        if not any(self.args[target] for target in TARGETS):
            raise BehaviourError(f"censor needs a target: one of {', '.join(TARGETS)}")

    def candidates(self, node: Node, slot: int, txs: Txs) -> Txs:
        if not self.censors_at(slot):
            return txs
        return self._without_targets(node.address, txs)

    def judge(self, node: Node, block: Block) -> list[Transaction]:
        """Our own blocks censored nothing, as we see it: we vote FOR them."""
        if block.header.producer == node.address:
            return []
        return node.censored_in(block)

    def censors_at(self, slot: int) -> bool:
        """Whether our block for `slot` censors: a draw seeded by (seed, slot), reproducible."""
        return drawn(self.args["seed"], slot, self.args["fraction"])

    def targets(self, own: bytes | None, tx: Transaction) -> bool:
        if tx.sender in self.args["senders"] or tx.kind in self.args["kinds"]:
            return True
        if tx.sender == own:
            return False
        return (self.args["rival_votes"] and tx.kind == TxKind.VOTE) or (
            self.args["beacon"] and tx.kind in BEACON_KINDS
        )

    def _without_targets(self, own: bytes | None, txs: Txs) -> Iterator[Transaction]:
        return leave_out(txs, lambda tx: self.targets(own, tx))


def leave_out(txs: Txs, targeted: Callable[[Transaction], bool]) -> Iterator[Transaction]:
    """`txs` without the targeted ones, nor any later transaction of their senders (whose
    nonces could no longer follow)."""
    cut: set[bytes] = set()  # senders with a transaction left out
    for tx in txs:
        if tx.sender in cut or targeted(tx):
            cut.add(tx.sender)
            continue
        yield tx
