"""A process-wide cache of block executions: `execute_block` applies a block once per rule set.

Applying a block is a pure function of the rule set, the block's bytes (its header, so its
parent's hash, and its body) and the parent's post-state, reads included of the parent's
ancestry (evidence re-runs read canonical hashes and undo journals). The parent's hash fixes that
state and that ancestry, and it is in the block's bytes: a chain that applies a block on its
parent, as every caller here does, gets the same result as any other chain with the same rules.
So the result (the state diff, the block context, or the InvalidBlock raised) is kept by
`(rules, block bytes)`, and the nodes of one process (a simulation) that import the same block
each write the diff into their own database instead of running the rules again. Errors other
than InvalidBlock (a database fault) are not kept. See docs/decisions.md.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

from porchain.consensus.modules import BlockContext, Rules
from porchain.consensus.transition import process_block
from porchain.errors import InvalidBlock
from porchain.state.state import Readable, State, StateDiff
from porchain.types.blocks import Block

MAX_EXECUTIONS = 64  # blocks kept, most recently used last


@dataclass(frozen=True)
class Execution:
    diff: StateDiff
    ctx: BlockContext


class Executions:
    """Results of `process_block`, by rule set and block bytes, bounded (least recent out)."""

    def __init__(self, max_entries: int = MAX_EXECUTIONS) -> None:
        self.max_entries = max_entries
        self._results: OrderedDict[tuple[Rules, bytes], Execution | InvalidBlock] = OrderedDict()

    def __len__(self) -> int:
        return len(self._results)

    def clear(self) -> None:
        self._results.clear()

    def execute(self, parent_state: Readable, block: Block, rules: Rules) -> Execution:
        """Apply `block` to `parent_state`, which must read as the state after the block's
        parent; raise InvalidBlock as the rules do. The context returned is the caller's."""
        key = (rules, block.encode())
        result = self._results.get(key)
        if result is None:
            result = self._run(parent_state, block, rules)
            self._results[key] = result
            if len(self._results) > self.max_entries:
                self._results.popitem(last=False)
        else:
            self._results.move_to_end(key)
        if isinstance(result, InvalidBlock):
            raise type(result)(*result.args)
        return Execution(result.diff, replace(result.ctx))

    @staticmethod
    def _run(parent_state: Readable, block: Block, rules: Rules) -> Execution | InvalidBlock:
        state = State(parent_state)
        try:
            ctx = process_block(state, block, rules)
        except InvalidBlock as exc:
            return exc
        return Execution(state.diff(), ctx)


EXECUTIONS = Executions()


def execute_block(parent_state: Readable, block: Block, rules: Rules) -> Execution:
    """`Executions.execute` on the process's cache."""
    return EXECUTIONS.execute(parent_state, block, rules)
