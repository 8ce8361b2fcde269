"""The state transition: `process_block(state, block, rules)`, a pure function of its inputs.

Written as the consensus specs write it: a flat list of small `process_*` steps, each raising on
invalid input. The node, the builder, the network and the simulator all call these functions.
"""

from __future__ import annotations

from typing import Any

from porchain.consensus.asc import record_produced
from porchain.consensus.blockpools import pay_royalty
from porchain.consensus.modules import BlockContext, Rules, TxHandler
from porchain.consensus.pools import process_due_pools
from porchain.consensus.salary import distribute_block_fees, settle_salary, spendable_balance
from porchain.consensus.selection import check_block_slot, get_slot_producer
from porchain.consensus.slots import process_slots
from porchain.crypto.keys import to_checksum_address
from porchain.errors import InvalidBlock, InvalidTransaction
from porchain.state.state import State
from porchain.types.blocks import Block, Header, compute_tx_root
from porchain.types.transactions import Transaction
from porchain.units import format_amount

# -- transactions -------------------------------------------------------------------------------


def validate_transaction_form(
    state: State, tx: Transaction, rules: Rules
) -> tuple[TxHandler[Any], Any]:
    """Checks that do not depend on the sender's account: chain, size, fee, kind, signature."""
    params = state.params
    if tx.chain_id != state.chain.chain_id:
        raise InvalidTransaction(
            f"wrong chain id: this chain is {state.chain.chain_id}, the transaction is for "
            f"{tx.chain_id}"
        )
    if tx.size > params.max_tx_bytes:
        raise InvalidTransaction(
            f"transaction is {tx.size} bytes, over the limit of {params.max_tx_bytes}"
        )
    min_fee = params.min_tx_fee(tx.size)
    if tx.fee < min_fee:
        raise InvalidTransaction(
            f"fee too low: {format_amount(tx.fee)} $, at least {format_amount(min_fee)} $ for "
            f"{tx.size} bytes"
        )
    handler = rules.handler(tx.kind)
    payload = handler.decode(tx.payload)
    tx.sender  # noqa: B018 -- recovers the sender, raising InvalidTransaction on a bad signature
    return handler, payload


def check_nonce(next_nonce: int, nonce: int) -> None:
    if nonce < next_nonce:
        raise InvalidTransaction(
            f"nonce too low: {nonce} was already used, next is {next_nonce} (replayed?)"
        )
    if nonce > next_nonce:
        raise InvalidTransaction(f"nonce gap: next nonce is {next_nonce}, got {nonce}")


def check_funds(state: State, sender: bytes, needed: int, *, pending: int = 0) -> None:
    available = spendable_balance(state, state.account(sender))
    if available < needed:
        also = f" (with {pending} pending transactions)" if pending else ""
        raise InvalidTransaction(
            f"insufficient funds: {to_checksum_address(sender)} has {format_amount(available)} $"
            f", needs {format_amount(needed)} ${also}"
        )


def validate_transaction(state: State, tx: Transaction, rules: Rules) -> tuple[TxHandler[Any], Any]:
    """Check `tx` against `state` without changing it; return its handler and decoded payload."""
    handler, payload = validate_transaction_form(state, tx, rules)
    check_nonce(state.account(tx.sender).nonce, tx.nonce)
    check_funds(state, tx.sender, tx.fee + handler.spends(state, payload))
    handler.validate(state, tx, payload)
    return handler, payload


def apply_transaction(
    state: State, tx: Transaction, handler: TxHandler[Any], payload: Any, ctx: BlockContext
) -> None:
    sender = state.account(tx.sender)
    settle_salary(state, sender)
    sender.nonce += 1
    sender.balance -= tx.fee
    ctx.fees += tx.fee
    handler.apply(state, tx, payload, ctx)


def process_transaction(state: State, tx: Transaction, rules: Rules, ctx: BlockContext) -> None:
    handler, payload = validate_transaction(state, tx, rules)
    apply_transaction(state, tx, handler, payload, ctx)


# -- blocks -------------------------------------------------------------------------------------


def process_block_form(state: State, block: Block) -> None:
    """Checks of the block itself: limits, slot range, transaction root, producer signature."""
    process_body_form(state, block)
    if block.header.recover_producer() != block.header.producer:
        raise InvalidBlock("block signature is not the producer's")


def process_body_form(state: State, block: Block) -> None:
    """The checks of the block itself but its signature: also those of a builder's block,
    which its producer signs only once it has checked it (porchain.pbs)."""
    params = state.params
    check_block_slot(params.epoch_slots, block.slot)
    if block.size > params.max_block_bytes:
        raise InvalidBlock(
            f"block is {block.size} bytes, over the limit of {params.max_block_bytes}"
        )
    if len(block.transactions) > params.max_block_txs:
        raise InvalidBlock(
            f"block has {len(block.transactions)} transactions, over the limit of "
            f"{params.max_block_txs}"
        )
    if len(block.header.extra) > params.max_extra_bytes:
        raise InvalidBlock(f"extra data over {params.max_extra_bytes} bytes")
    if compute_tx_root(block.transactions) != block.header.tx_root:
        raise InvalidBlock("tx_root does not match the block's transactions")


def check_follows_parent(state: State, header: Header) -> None:
    """The header's number and slot against its parent's (`state`, before `prepare_block`):
    checked first, so no work is done for a height or slot the block cannot have."""
    chain = state.chain
    if header.number != chain.number + 1:
        raise InvalidBlock(f"block number {header.number} does not follow {chain.number}")
    if header.slot <= chain.slot:
        raise InvalidBlock(f"slot {header.slot} is not after the parent's slot {chain.slot}")


def check_producer(header: Header, expected: bytes | None) -> None:
    """The header's producer is the one scheduled for its slot (`expected`, None for nobody)."""
    if header.producer != expected:
        who = to_checksum_address(expected) if expected else "nobody"
        raise InvalidBlock(
            f"wrong producer for slot {header.slot}: scheduled {who}, got "
            f"{to_checksum_address(header.producer)}"
        )


def process_header(state: State, header: Header) -> None:
    check_follows_parent(state, header)
    chain = state.chain
    if header.wsc_id != state.wsc_id:
        raise InvalidBlock(f"block built under WSC #{header.wsc_id}, active is #{state.wsc_id}")
    check_producer(header, get_slot_producer(state, header.slot))
    chain.number = header.number
    chain.slot = header.slot
    record_produced(state, header.producer)


def process_transactions(state: State, block: Block, rules: Rules, ctx: BlockContext) -> None:
    for index, tx in enumerate(block.transactions):
        try:
            process_transaction(state, tx, rules, ctx)
        except InvalidTransaction as exc:
            raise InvalidBlock(f"transaction {index} ({tx.hash.hex()[:16]}..): {exc}") from None


def process_fees(state: State, ctx: BlockContext) -> None:
    """Mint the subsidy and pay fees plus subsidy out as REP and gREP salary."""
    subsidy = state.params.subsidy
    state.supply.dollars += subsidy
    distribute_block_fees(state, ctx.fees + subsidy)


def process_pools(state: State, number: int, rules: Rules) -> None:
    """Resolve the pools whose duration has passed; modules act on the outcomes."""
    for pool in process_due_pools(state, number):
        for module in rules.modules:
            module.pool_resolved(state, pool)


def prepare_block(state: State, slot: int, number: int, rules: Rules) -> None:
    """Everything that takes effect before a block's header is checked: the slots and epochs
    since the parent, and the modules' changes due at this height (a new WSC)."""
    process_slots(state, slot, rules)
    for module in rules.modules:
        module.start_block(state, number)


def begin_block(state: State, header: Header, rules: Rules) -> BlockContext:
    """The header's rules, pools due, begin-block hooks (after `prepare_block`)."""
    process_header(state, header)
    process_pools(state, header.number, rules)
    ctx = BlockContext(header)
    for module in rules.modules:
        module.begin_block(state, ctx)
    return ctx


def end_block(state: State, ctx: BlockContext, rules: Rules) -> None:
    for module in rules.modules:
        module.end_block(state, ctx)
    pay_royalty(state, ctx.royalty, rules.modules)
    process_fees(state, ctx)


def process_block(state: State, block: Block, rules: Rules) -> BlockContext:
    """Apply `block` to `state` (its parent's post-state); raise InvalidBlock and leave the
    caller to discard `state` if any rule fails."""
    process_block_form(state, block)
    return process_block_content(state, block, rules)


def process_block_content(state: State, block: Block, rules: Rules) -> BlockContext:
    """`process_block` after the block's form: its header against the parent, its
    transactions, its end."""
    check_follows_parent(state, block.header)
    prepare_block(state, block.slot, block.number, rules)
    ctx = begin_block(state, block.header, rules)
    process_transactions(state, block, rules, ctx)
    end_block(state, ctx, rules)
    return ctx
