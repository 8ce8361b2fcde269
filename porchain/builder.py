"""Block building: fill a block from candidate transactions under the active WSC, then sign it.

The builder runs the very same rule functions as import (`begin_block`, `validate_transaction`,
`apply_transaction`, `end_block`) on a scratch state, so a block it builds is valid by
construction and its `state_root` is the one importers will compute.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from porchain.consensus.modules import Rules
from porchain.consensus.transition import (
    apply_transaction,
    begin_block,
    end_block,
    prepare_block,
    validate_transaction,
)
from porchain.crypto.hashing import ZERO_HASH
from porchain.crypto.keys import PrivateKey
from porchain.errors import InvalidTransaction
from porchain.state.state import State
from porchain.types.blocks import Block, Header, compute_tx_root
from porchain.types.transactions import Transaction

log = logging.getLogger(__name__)

HEADER_RESERVE_BYTES = 512  # a signed header with maximal extra data, plus list prefixes
TX_OVERHEAD_BYTES = 5  # RLP string prefix of one transaction in the body


@dataclass
class BuiltBlock:
    block: Block
    rejected: list[tuple[Transaction, str]] = field(default_factory=list)


def build_block(
    state: State,
    parent: Header,
    slot: int,
    key: PrivateKey,
    candidates: Iterable[Transaction],
    rules: Rules,
    *,
    extra: bytes = b"",
) -> BuiltBlock:
    """Build and sign a block on `parent` (whose post-state is `state`) for `slot`."""
    built = build_unsigned(state, parent, slot, key.address, candidates, rules, extra=extra)
    block = built.block
    return BuiltBlock(Block(block.header.signed(key), block.transactions), built.rejected)


def build_unsigned(
    state: State,
    parent: Header,
    slot: int,
    producer: bytes,
    candidates: Iterable[Transaction],
    rules: Rules,
    *,
    extra: bytes = b"",
) -> BuiltBlock:
    """Build a block for `producer` without its signature (what an external builder offers,
    porchain.pbs); `state` ends as the block's post-state."""
    prepare_block(state, slot, parent.number + 1, rules)
    params = state.params  # the block's own: a new WSC may take effect at this height
    header = Header(
        parent_hash=parent.hash,
        number=parent.number + 1,
        slot=slot,
        producer=producer,
        state_root=ZERO_HASH,
        tx_root=ZERO_HASH,
        wsc_id=state.wsc_id,
        extra=extra,
    )
    ctx = begin_block(state, header, rules)
    included: list[Transaction] = []
    rejected: list[tuple[Transaction, str]] = []
    failed_senders: set[bytes] = set()
    room = params.max_block_bytes - HEADER_RESERVE_BYTES
    for tx in candidates:
        if len(included) >= params.max_block_txs:
            break
        cost = tx.size + TX_OVERHEAD_BYTES
        if cost > room:
            continue
        try:
            if tx.sender in failed_senders:
                raise InvalidTransaction("an earlier transaction of its sender was left out")
            handler, payload = validate_transaction(state, tx, rules)
        except InvalidTransaction as exc:
            rejected.append((tx, str(exc)))
            with contextlib.suppress(InvalidTransaction):
                failed_senders.add(tx.sender)
            continue
        apply_transaction(state, tx, handler, payload, ctx)
        included.append(tx)
        room -= cost
    end_block(state, ctx, rules)
    header = replace(header, tx_root=compute_tx_root(included), state_root=state.root())
    return BuiltBlock(Block(header, tuple(included)), rejected)
