"""Side blocks are checked and bounded (issue 10, finding 4): a side block by a key not scheduled
for its slot is invalid, the side blocks kept are bounded per height and in all, and the ones
finality leaves behind are deleted.

As in tests/test_forkchoice.py, P0 builds our chain and P1 a competing branch on another chain
from the same genesis; P1's blocks lose the tie, so they are stored as side blocks.
"""

from __future__ import annotations

import pytest

from porchain import sideblocks
from porchain.chain import Chain
from porchain.composition import core_modules
from porchain.consensus.modules import Rules
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.errors import InvalidBlock, SideBlocksFull
from porchain.sideblocks import MAX_SIDE_BLOCKS_PER_HEIGHT, SideIndex
from porchain.types.blocks import Block
from tests.factories import key, next_slot, resign
from tests.test_forkchoice import (
    P0,
    P1,
    Finalizer,
    assert_refused,
    chains,
    grow,
    resign_above,
)

OUTSIDER = key(100)  # holds nothing, is in no ASC


def assert_side_index_matches(chain: Chain) -> None:
    """The counts kept in memory are the marks in the database (as a restart counts them)."""
    stored = SideIndex(chain.db)
    assert (chain.side.count, chain.side.bytes) == (stored.count, stored.bytes)


def fork_at_one() -> tuple[Chain, Chain, Block]:
    """Our chain at #2 and theirs at #1, sharing block #1; and P1's losing block #2 on theirs."""
    ours, theirs = chains(2)
    theirs.import_block(grow(ours, P0))
    a2 = grow(ours, P0)
    return ours, theirs, grow(theirs, P1, above=a2.hash)


def forged(block: Block, impostor: PrivateKey, rival: Block) -> Block:
    """`block` signed by `impostor` as its producer, losing the tie to `rival`."""
    return resign_above(block, impostor, above=rival.hash, producer=impostor.address)


def wrong_producer(block: Block, impostor: PrivateKey) -> str:
    scheduled = to_checksum_address(block.header.producer)
    return f"^wrong producer for slot {block.slot}: scheduled {scheduled}, got " + (
        f"{to_checksum_address(impostor.address)}$"
    )


# -- the producer -------------------------------------------------------------------------------


@pytest.mark.parametrize("impostor", [P0, OUTSIDER], ids=["other-asc-member", "outsider"])
def test_side_block_on_our_chain_by_a_key_not_scheduled_is_invalid(impostor: PrivateKey) -> None:
    ours, _, b2 = fork_at_one()
    bad = forged(b2, impostor, ours.get_block_by_number(2))
    assert bad.header.recover_producer() == impostor.address  # the signature itself is fine
    assert_refused(ours, bad, wrong_producer(b2, impostor))  # plain InvalidBlock: a ban
    assert_refused(ours, bad, "^known invalid block")
    assert ours.import_block(b2).status == "side"  # the scheduled producer's block is kept


def test_side_block_on_a_side_parent_within_the_fork_schedules_is_checked() -> None:
    """A branch shares our schedules of its fork's epoch and the next one."""
    ours, theirs, b2 = fork_at_one()
    ours.import_block(b2)
    grow(ours, P0)
    grow(ours, P0)
    fork = ours.get_block_by_number(1).header
    epoch_slots = ours.state().params.epoch_slots
    slot, _ = next_slot(theirs, b2.slot, [P1])
    assert slot // epoch_slots <= fork.slot // epoch_slots + 1
    b3 = grow(theirs, P1)
    assert b3.slot == slot
    bad = forged(b3, OUTSIDER, ours.get_block_by_number(3))
    assert_refused(ours, bad, wrong_producer(b3, OUTSIDER))
    assert ours.import_block(b3).status == "side"
    assert_side_index_matches(ours)


# -- the bounds ---------------------------------------------------------------------------------


def side_blocks_at_two(count: int) -> tuple[Chain, list[Block]]:
    """Our chain at #2 and `count` blocks P1 signed for its slot at #2, each losing the tie."""
    ours, _, b2 = fork_at_one()
    a2 = ours.get_block_by_number(2)
    assert a2 is not None
    variants = (resign(b2, P1, extra=bytes([200, n])) for n in range(256))
    blocks = [b2, *(b for b in variants if b.hash > a2.hash)][:count]
    assert len(blocks) == count
    return ours, blocks


def test_side_blocks_at_one_height_are_bounded() -> None:
    """A producer signing many blocks for its slot fills one height, then is refused (no ban:
    the bound says nothing of the sender)."""
    ours, blocks = side_blocks_at_two(MAX_SIDE_BLOCKS_PER_HEIGHT + 1)
    for block in blocks[:-1]:
        assert ours.import_block(block).status == "side"
    assert_refused(
        ours,
        blocks[-1],
        f"^side block #2 0x[0-9a-f]{{16}}.. refused: {MAX_SIDE_BLOCKS_PER_HEIGHT} side blocks "
        "are already kept at height #2$",
        SideBlocksFull,
    )
    assert ours.side.count == MAX_SIDE_BLOCKS_PER_HEIGHT
    assert_side_index_matches(ours)


@pytest.mark.parametrize("bound", ["MAX_SIDE_BLOCKS", "MAX_SIDE_BLOCK_BYTES"])
def test_side_blocks_in_all_are_bounded(monkeypatch: pytest.MonkeyPatch, bound: str) -> None:
    ours, blocks = side_blocks_at_two(3)
    limit = 2 if bound == "MAX_SIDE_BLOCKS" else sum(b.size for b in blocks[:2])
    monkeypatch.setattr(sideblocks, bound, limit)
    for block in blocks[:2]:
        assert ours.import_block(block).status == "side"
    assert_refused(ours, blocks[2], "^side block #2 .* until finality prunes them$", SideBlocksFull)
    assert (ours.side.count, ours.side.bytes) == (2, blocks[0].size + blocks[1].size)


# -- finality prunes ----------------------------------------------------------------------------


def test_side_blocks_finality_leaves_behind_are_deleted() -> None:
    ours, theirs = chains(2, Rules([*core_modules(), Finalizer(lag=2)]))
    a1 = grow(ours, P0)
    a2 = grow(ours, P0)
    b1 = grow(theirs, P1, above=a1.hash)
    b2 = grow(theirs, P1, above=a2.hash)
    assert [ours.import_block(b).status for b in (b1, b2)] == ["side", "side"]
    assert ours.side.count == 2
    grow(ours, P0)
    assert ours.finalized == a1.header  # b1 is at the finalized height: its branch is dead
    assert ours.get_block(b1.hash) is None and ours.get_block(b2.hash) is None
    assert ours.side.count == 0
    assert_side_index_matches(ours)
    assert ours.get_block(a2.hash) == a2


def test_a_reorg_moves_the_side_marks() -> None:
    ours, theirs, b2 = fork_at_one()
    ours.import_block(b2)
    b3 = grow(theirs, P1)
    a2 = ours.get_block_by_number(2)
    assert ours.import_block(b3).status == "reorg"
    assert ours.side.count == 1 and ours.side.at_height(2) == 1  # a2, no longer b2
    assert_side_index_matches(ours)
    with pytest.raises(InvalidBlock, match="already known"):
        ours.import_block(a2)
