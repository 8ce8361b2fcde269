"""What a block is worth to its producer, and the check a block gets before its producer signs.

The value is the change of the producer's spendable `$` (balance plus claimable salary) from
the parent's post-state to the block's: a builder's payment, plus the producer's salary from
the block's fees, minus the fees of the producer's own transactions in it. The relay computes
it for its bid and the producer again for the body it receives; both run the importers' rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from porchain.chain import check_state_root
from porchain.consensus.modules import Rules
from porchain.consensus.salary import spendable_balance
from porchain.consensus.transition import process_block_content, process_body_form
from porchain.state.state import State
from porchain.types.blocks import Block


@dataclass(frozen=True)
class Checked:
    value: int  # `$` base units the producer gains (negative: it pays)
    fees: int  # the block's fees, which mint REP and pay salaries
    state: State  # the block's post-state (a scratch fork)


def producer_value(before: State, after: State, producer: bytes) -> int:
    return spendable_balance(after, after.account(producer)) - spendable_balance(
        before, before.account(producer)
    )


def check_unsigned_block(parent_state: State, block: Block, rules: Rules) -> Checked:
    """Every rule an importer applies to `block` on `parent_state` (its parent's post-state,
    left unchanged) but the producer's signature, its state root included; what the block is
    worth to its producer. Raises InvalidBlock."""
    state = parent_state.fork()
    process_body_form(state, block)
    ctx = process_block_content(state, block, rules)
    check_state_root(block, state.root())
    return Checked(producer_value(parent_state, state, block.header.producer), ctx.fees, state)
