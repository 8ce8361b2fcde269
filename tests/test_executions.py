"""The process-wide cache of block executions: one run of the rules per block and rule set,
bounded, errors kept as errors, and every caller's context its own."""

from __future__ import annotations

import pytest

from porchain.composition import core_modules
from porchain.consensus.executions import Executions
from porchain.consensus.modules import Module, Rules
from porchain.errors import InvalidBlock
from porchain.state.state import State
from tests.factories import KEYS, build_on_head, new_chain, resign, state_entries, transfer


class BlockCount(Module):
    """Counts the blocks the rules were run on (their `start_block` hook)."""

    name = "block-count"

    def __init__(self) -> None:
        self.runs = 0

    def start_block(self, state: State, number: int) -> None:
        self.runs += 1


@pytest.fixture
def counted() -> tuple[Rules, BlockCount]:
    count = BlockCount()
    return Rules([*core_modules(), count]), count


def test_chains_with_the_same_rules_run_a_block_once_and_store_the_same_state(
    counted: tuple[Rules, BlockCount],
) -> None:
    rules, count = counted
    ours, theirs = new_chain(rules=rules), new_chain(rules=rules)
    block = build_on_head(ours, [transfer(KEYS[0], KEYS[1].address, 5, nonce=0)]).block
    count.runs = 0
    ours.import_block(block)
    theirs.import_block(block)
    assert count.runs == 1
    assert theirs.head == ours.head == block.header
    assert state_entries(theirs.db) == state_entries(ours.db)
    assert theirs.journal(1) == ours.journal(1)


def test_an_invalid_block_is_refused_by_every_chain_with_the_same_error(
    counted: tuple[Rules, BlockCount],
) -> None:
    rules, count = counted
    ours, theirs = new_chain(rules=rules), new_chain(rules=rules)
    block = build_on_head(ours).block
    impostor = next(k for k in KEYS if k.address != block.header.producer)
    forged = resign(block, impostor, producer=impostor.address)
    count.runs = 0
    errors = []
    for chain in (ours, theirs):
        with pytest.raises(InvalidBlock) as caught:
            chain.import_block(forged)
        errors.append(str(caught.value))
        assert chain.head.number == 0
    assert count.runs == 1
    assert errors[0] == errors[1] and "producer" in errors[0]


def test_the_cache_is_bounded_least_recently_used_out(counted: tuple[Rules, BlockCount]) -> None:
    rules, count = counted
    chain = new_chain(rules=rules)
    first, second, third = (build_on_head(chain, extra=bytes([n])).block for n in range(3))
    executions = Executions(max_entries=2)
    count.runs = 0
    for block in (first, second, first, third):  # `second` is the least recent when full
        executions.execute(chain.db, block, rules)
    assert len(executions) == 2 and count.runs == 3
    executions.execute(chain.db, first, rules)
    assert count.runs == 3
    executions.execute(chain.db, second, rules)
    assert count.runs == 4


def test_each_caller_gets_its_own_block_context(counted: tuple[Rules, BlockCount]) -> None:
    rules, _ = counted
    chain = new_chain(rules=rules)
    block = build_on_head(chain, [transfer(KEYS[0], KEYS[1].address, 5, nonce=0)]).block
    executions = Executions()
    ctx = executions.execute(chain.db, block, rules).ctx
    fees = ctx.fees
    assert fees > 0
    ctx.fees += 1
    assert executions.execute(chain.db, block, rules).ctx.fees == fees


def test_another_rule_set_runs_the_block_again(counted: tuple[Rules, BlockCount]) -> None:
    rules, count = counted
    chain = new_chain(rules=rules)
    block = build_on_head(chain).block
    executions = Executions()
    count.runs = 0
    executions.execute(chain.db, block, rules)
    executions.execute(chain.db, block, Rules([*core_modules(), count]))
    assert count.runs == 2
