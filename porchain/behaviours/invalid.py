"""`invalid_block`: publish, instead of our block, one that breaks a named consensus rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from porchain.behaviours.base import INT, ArgType, Behaviour, Param
from porchain.consensus.asc import Amount
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey
from porchain.duties import sign_duty
from porchain.types.blocks import Block, compute_tx_root
from porchain.types.transactions import TxKind

if TYPE_CHECKING:
    from porchain.node import Node

NONCE_GAP = 1000  # how far ahead of our next nonce the `transaction` rule's transaction is


def _other_key(node: Node, purpose: bytes) -> PrivateKey:
    """A key derived from ours, the same on every run (never scheduled: nobody encumbered it)."""
    assert node.key is not None
    return PrivateKey(keccak(node.key.secret + purpose))


def _resigned(node: Node, block: Block, key: PrivateKey | None = None, **fields: Any) -> Block:
    """`block` with some header fields changed, signed again (with our key unless `key`)."""
    signer = key or node.key
    assert signer is not None
    header = replace(block.header, **fields)
    return Block(header.signed(signer), block.transactions)


def wrong_state_root(node: Node, block: Block) -> Block:
    return _resigned(
        node, block, state_root=keccak(b"not the state root" + block.header.state_root)
    )


def wrong_tx_root(node: Node, block: Block) -> Block:
    wrong = keccak(b"not the tx root" + block.header.tx_root)
    return _resigned(node, block, tx_root=wrong)


def wrong_signature(node: Node, block: Block) -> Block:
    """Our block as it is, signed by a key that is not its producer's."""
    return _resigned(node, block, _other_key(node, b"not the producer"))


def wrong_producer(node: Node, block: Block) -> Block:
    """Our block claimed and validly signed by a key that is not scheduled for the slot."""
    impostor = _other_key(node, b"impostor")
    return _resigned(node, block, impostor, producer=impostor.address)


def slot_not_after_parent(node: Node, block: Block) -> Block:
    """Our block at its parent's slot: slots must increase along the chain."""
    return _resigned(node, block, slot=node.chain.head.slot)


def invalid_transaction(node: Node, block: Block) -> Block:
    """Our block with one more transaction of ours that the rules refuse (a nonce gap)."""
    assert node.key is not None
    state = node.chain.state()
    nonce = state.account(node.key.address).nonce + NONCE_GAP
    bad = sign_duty(node.key, state, nonce, TxKind.ENCUMBER, Amount(1).to_rlp())
    transactions = (*block.transactions, bad)
    header = replace(block.header, tx_root=compute_tx_root(transactions))
    return Block(header.signed(node.key), transactions)


RULES: dict[str, Callable[[Node, Block], Block]] = {
    "state_root": wrong_state_root,
    "tx_root": wrong_tx_root,
    "signature": wrong_signature,
    "producer": wrong_producer,
    "slot": slot_not_after_parent,
    "transaction": invalid_transaction,
}


def _rule(text: str) -> str:
    if text not in RULES:
        raise ValueError(f"unknown rule {text!r}: one of {', '.join(RULES)}")
    return text


RULE = ArgType("rule", _rule)


class InvalidBlockBehaviour(Behaviour):
    """From slot `from_slot`, build our block as usual, break rule `rule` in it (signed again
    where the rule allows), and send it to the peers without importing it. Honest nodes refuse
    it (InvalidBlock) and ban us as its sender; our slot stays empty on their chain."""

    name = "invalid_block"
    params = (
        Param("rule", RULE, "state_root", f"the rule the block breaks: {', '.join(RULES)}"),
        Param("from_slot", INT, 0, "first slot to publish an invalid block at"),
    )

    def publish(self, node: Node, slot: int, block: Block) -> list[Block]:
        if slot < self.args["from_slot"] or node.key is None:
            return [block]
        return [RULES[self.args["rule"]](node, block)]
