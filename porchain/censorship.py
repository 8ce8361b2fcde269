"""The censorship rule a node judges each block by (PROTOCOL section 9, after FOCIL).

Block B censored transaction T when T was first seen by this node at least `censor_grace_ms`
before B's slot began, T is not in B, T pays at least the WSC minimum fee, T would still have been
valid appended to B's post-state (nonce, balance, every rule of its kind) and T fits in B's
remaining room. Each node judges by its own first-seen log, so honest nodes can disagree about
a transaction that reached them late; the grace period keeps that rare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from porchain.builder import HEADER_RESERVE_BYTES, TX_OVERHEAD_BYTES
from porchain.consensus.modules import Rules
from porchain.consensus.transition import validate_transaction
from porchain.errors import InvalidTransaction
from porchain.state.state import State
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction


def censored_transactions(
    block: Block,
    post_state: Callable[[], State],
    pending: Iterable[Transaction],
    first_seen_ms: Callable[[bytes], int | None],
    slot_start_ms: int,
    rules: Rules,
) -> list[Transaction]:
    """The pending transactions `block` left out that it should have included.

    `post_state` makes a scratch copy of the state right after `block`.
    """
    state = post_state()
    params = state.params
    deadline = slot_start_ms - params.censor_grace_ms
    used = sum(tx.size + TX_OVERHEAD_BYTES for tx in block.transactions)
    room = params.max_block_bytes - HEADER_RESERVE_BYTES - used  # as the builder counts it
    included = {tx.hash for tx in block.transactions}
    if len(block.transactions) >= params.max_block_txs:
        return []
    censored = []
    for tx in pending:
        seen = first_seen_ms(tx.hash)
        if tx.hash in included or seen is None or seen > deadline:
            continue
        if tx.size + TX_OVERHEAD_BYTES > room:
            continue
        try:
            validate_transaction(state, tx, rules)
        except InvalidTransaction:
            continue
        censored.append(tx)
    return censored
