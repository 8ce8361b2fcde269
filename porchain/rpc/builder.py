"""The `builder_` namespace: build and check blocks for external builders and relays.

Served only with `node run --builder-api` (devnets: for the `[[builder]]` and `[[relay]]`
processes): building and checking a block costs as much as importing one, so a public node
does not offer it. Both run off the event loop, on a chain snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from porchain.builder import build_unsigned
from porchain.consensus.slots import scheduled_producer
from porchain.crypto.keys import to_checksum_address
from porchain.errors import DecodeError, InvalidBlock, InvalidTransaction
from porchain.pbs.value import check_unsigned_block
from porchain.rpc import params
from porchain.rpc.errors import InvalidParams
from porchain.rpc.format import hex0x
from porchain.rpc.view import Offload, on_loop
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction

if TYPE_CHECKING:
    from porchain.chain import Chain
    from porchain.node import Node

MAX_FIRST_TXS = 16  # a builder's own transactions put first (its payment to the producer)
MAX_EXCLUDED = 1024  # senders a builder may leave out


class BuilderApi:
    def __init__(self, node: Node) -> None:
        self.node = node

    @on_loop
    def builder_buildBlock(self, slot: Any, first: Any = (), exclude: Any = ()) -> Offload:
        """An unsigned block for `slot` on the head, for its scheduled producer: the raw
        transactions `first` (a builder's payment), then the mempool's but those of the
        `exclude` senders, as the node's own builder fills a block."""
        chain = self.node.chain
        slot = params.integer(slot, "slot", chain.head.slot + 1, 2**63)
        own = [_transaction(raw) for raw in _bounded(first, "first", MAX_FIRST_TXS)]
        left_out = {
            params.address(a, "exclude") for a in _bounded(exclude, "exclude", MAX_EXCLUDED)
        }
        pool = self.node.mempool
        candidates = own + [tx for tx in pool.candidates() if tx.sender not in left_out]

        def finish(chain: Chain) -> dict[str, Any]:
            producer = scheduled_producer(chain.state(), slot, chain.rules)  # advances its state
            if producer is None:
                raise InvalidParams(f"no producer is drawn for slot {slot} yet")
            try:
                built = build_unsigned(
                    chain.state(), chain.head, slot, producer, candidates, chain.rules
                )
            except InvalidBlock as exc:
                raise InvalidParams(f"no block for slot {slot}: {exc}") from None
            refused = {tx.hash: reason for tx, reason in built.rejected}
            for tx in own:
                if tx.hash in refused:
                    raise InvalidParams(f"transaction 0x{tx.hash.hex()[:16]}..: {refused[tx.hash]}")
            checked = check_unsigned_block(chain.state(), built.block, chain.rules)
            return _block_answer(built.block, checked.value, checked.fees)

        return Offload(finish)

    def builder_checkBlock(self, raw: Any) -> dict[str, Any]:
        """Check an unsigned block on the head by every import rule but its signature, and
        what it is worth to its producer: `valid` false with the `error` otherwise."""
        chain = self.node.chain
        try:
            block = Block.decode(params.hex_bytes(raw, "block"))
        except DecodeError as exc:
            raise InvalidParams(f"not a block: {exc}") from None
        if block.header.parent_hash != chain.head.hash:
            return {"valid": False, "error": "not built on the head"}
        try:
            checked = check_unsigned_block(chain.state(), block, chain.rules)
        except InvalidBlock as exc:
            return {"valid": False, "error": str(exc)}
        return {"valid": True, **_block_answer(block, checked.value, checked.fees)}


def _bounded(value: Any, name: str, most: int) -> list[Any]:
    if not isinstance(value, list | tuple) or len(value) > most:
        raise InvalidParams(f"{name} must be a list of at most {most} items")
    return list(value)


def _transaction(raw: Any) -> Transaction:
    try:
        tx = Transaction.decode(params.hex_bytes(raw, "transaction"))
        tx.sender  # noqa: B018 -- a forged signature is refused here, not in the block
    except (DecodeError, InvalidTransaction) as exc:
        raise InvalidParams(f"not a signed transaction: {exc}") from None
    return tx


def _block_answer(block: Block, value: int, fees: int) -> dict[str, Any]:
    return {
        "block": hex0x(block.encode()),
        "hash": hex0x(block.header.signing_hash),
        "parent_hash": hex0x(block.header.parent_hash),
        "number": block.number,
        "slot": block.slot,
        "producer": to_checksum_address(block.header.producer),
        "transactions": len(block.transactions),
        "value": str(value),
        "fees": str(fees),
    }
