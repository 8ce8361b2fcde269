"""Fork choice and reorgs: the longest chain, ties to the lower hash, never past finality.

Two producers (KEYS[0] and KEYS[1]) build competing branches on separate chains from the same
genesis; a chain that only ever saw the winning branch is the reference a reorg must reproduce.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from porchain.chain import MAX_FUTURE_DRIFT_MS, Chain, ImportResult, TxLocation
from porchain.composition import core_modules
from porchain.consensus.modules import BlockContext, Module, Rules
from porchain.crypto.hashing import ZERO_HASH, keccak
from porchain.crypto.keys import PrivateKey
from porchain.db import Database, schema
from porchain.errors import (
    BlockAlreadyKnown,
    ConflictsWithFinalized,
    DatabaseError,
    FutureBlock,
    InvalidBlock,
    SideBlocksFull,
    UnknownParent,
)
from porchain.genesis import Genesis
from porchain.state.state import State, load_lthash
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction
from tests.factories import (
    GENESIS_TIME_MS,
    KEYS,
    build_on_head,
    core_rules,
    key,
    make_genesis,
    new_chain,
    resign,
    state_entries,
    transfer,
)

P0, P1 = KEYS[0], KEYS[1]  # the two producers
ALICE, BOB, CAROL = KEYS[2], KEYS[3], KEYS[4]
OUTSIDER = key(100)


class Finalizer(Module):
    """Test-only finality: each block makes the block `lag` below it final."""

    name = "test-finalizer"

    def __init__(self, lag: int) -> None:
        self.lag = lag

    def end_block(self, state: State, ctx: BlockContext) -> None:
        state.chain.finalized = max(state.chain.finalized, ctx.header.number - self.lag)


def two_producer_genesis() -> Genesis:
    alloc = {k: {"balance": "1000"} for k in KEYS}
    for producer in (P0, P1):
        alloc[producer] = {"balance": "1000", "rep_encumbered": "100"}
    return make_genesis(alloc)


def chains(count: int, rules: Rules | None = None) -> list[Chain]:
    """`count` fresh chains on the same two-producer genesis."""
    genesis = two_producer_genesis()
    return [new_chain(genesis, rules=rules or core_rules()) for _ in range(count)]


def grow(
    chain: Chain,
    producer: PrivateKey,
    txs: Sequence[Transaction] = (),
    *,
    above: bytes = b"",
    below: bytes = b"\xff" * 33,
) -> Block:
    """Build `producer`'s next block on the head (its hash between `above` and `below`, by
    its extra data) and import it."""
    for n in range(256):
        block = build_on_head(chain, txs, keys=[producer], extra=bytes([n] if n else [])).block
        if above < block.hash < below:
            break
    else:
        raise AssertionError("no extra data gives a hash in that range")
    assert len(block.transactions) == len(txs)
    assert chain.import_block(block).status == "head"
    return block


def resign_above(block: Block, signer: PrivateKey, *, above: bytes, **changes: object) -> Block:
    """`block` with header `changes`, signed again, varying its extra data until its hash is
    above `above` (so it loses a tie)."""
    for n in range(256):
        changed = resign(block, signer, extra=bytes([n]), **changes)
        if changed.hash > above:
            return changed
    raise AssertionError("no extra data gives a hash that high")


def canonical_contents(db: Database) -> list[tuple[bytes, bytes]]:
    """Everything but stored blocks, the child index and the side marks: state, lthash,
    indexes, journals, head."""
    stored = (schema.block_key(b""), schema.children_prefix(b""), schema.SIDE_PREFIX)
    return [(k, v) for k, v in db.iterate() if not k.startswith(stored)]


def assert_same_canonical_chain(chain: Chain, reference: Chain) -> None:
    assert chain.head == reference.head
    assert load_lthash(chain.db).root() == chain.head.state_root
    assert state_entries(chain.db) == state_entries(reference.db)
    assert canonical_contents(chain.db) == canonical_contents(reference.db)
    assert list(chain.iter_canonical()) == list(reference.iter_canonical())
    assert Chain(chain.db, chain.rules).head == reference.head  # the stored head pointer too


def assert_refused(
    chain: Chain, block: Block, message: str, error: type[InvalidBlock] = InvalidBlock, **kw: int
) -> None:
    before = list(chain.db.iterate()), chain.head
    with pytest.raises(error, match=message) as raised:
        chain.import_block(block, **kw)
    assert type(raised.value) is error
    assert (list(chain.db.iterate()), chain.head) == before


# -- the longest chain --------------------------------------------------------------------------


def test_longer_branch_wins_and_reproduces_its_state_exactly() -> None:
    ours, theirs = chains(2)
    common = grow(ours, P0, [transfer(ALICE, BOB.address, 1, nonce=0)])
    theirs.import_block(common)
    a2 = grow(ours, P0, [transfer(CAROL, BOB.address, 7, nonce=0)])
    b2 = grow(theirs, P1, [transfer(BOB, CAROL.address, 9, nonce=0)], above=a2.hash)
    b3 = grow(theirs, P1, [transfer(ALICE, CAROL.address, 3, nonce=1)])

    assert ours.import_block(b2) == ImportResult("side")
    assert ours.head == a2.header
    result = ours.import_block(b3)

    assert (result.status, result.applied, result.reverted) == ("reorg", (b2, b3), (a2,))
    assert [ctx.header for ctx in result.contexts] == [b2.header, b3.header]
    assert [ctx.fees for ctx in result.contexts] == [b2.transactions[0].fee, b3.transactions[0].fee]
    assert_same_canonical_chain(ours, theirs)
    assert ours.get_block(a2.hash) == a2  # kept as a side block, for a reorg back
    assert ours.state().account(CAROL.address).nonce == 0  # a2's transfer is undone


def test_reorg_back_replays_the_stored_blocks_of_the_old_branch() -> None:
    ours, a_only, b_only = chains(3)
    a1 = grow(ours, P0, [transfer(ALICE, BOB.address, 5, nonce=0)])
    a_only.import_block(a1)
    b1 = grow(b_only, P1, above=a1.hash)
    b2 = grow(b_only, P1, below=b"\x80")  # so that a2 can lose the tie to it
    ours.import_block(b1)
    assert ours.import_block(b2).status == "reorg"

    a2 = grow(a_only, P0, [transfer(ALICE, BOB.address, 5, nonce=1)], above=b2.hash)
    a3 = grow(a_only, P0)
    assert ours.import_block(a2) == ImportResult("side")
    result = ours.import_block(a3)

    assert (result.status, result.applied, result.reverted) == ("reorg", (a1, a2, a3), (b2, b1))
    assert_same_canonical_chain(ours, a_only)


@pytest.mark.parametrize("x_first", [True, False], ids=["x-first", "y-first"])
def test_equal_length_the_lower_hash_wins_whatever_the_arrival_order(x_first: bool) -> None:
    ours, x_only, y_only = chains(3)
    x = grow(x_only, P0)
    y = grow(y_only, P1)
    winner, reference = (x, x_only) if x.hash < y.hash else (y, y_only)
    first, second = (x, y) if x_first else (y, x)

    assert ours.import_block(first).status == "head"
    result = ours.import_block(second)

    if second is winner:
        assert (result.status, result.applied, result.reverted) == ("reorg", (second,), (first,))
    else:
        assert result == ImportResult("side")
    assert_same_canonical_chain(ours, reference)


def test_shorter_or_tied_higher_hash_branch_stays_side() -> None:
    ours, theirs = chains(2)
    a1 = grow(ours, P0)
    a2 = grow(ours, P0)
    b1 = grow(theirs, P1)
    b2 = grow(theirs, P1, above=a2.hash)
    state_before = canonical_contents(ours.db)
    blocks_before = dict(ours.db.iterate(schema.block_key(b"")))

    assert ours.import_block(b1) == ImportResult("side")  # shorter
    assert ours.import_block(b2) == ImportResult("side")  # as long, higher hash

    assert ours.head == a2.header
    assert canonical_contents(ours.db) == state_before
    assert dict(ours.db.iterate(schema.block_key(b""))) == {
        **blocks_before,
        schema.block_key(b1.hash): b1.encode(),
        schema.block_key(b2.hash): b2.encode(),
    }
    assert [ours.get_block_by_number(n) for n in (1, 2)] == [a1, a2]
    assert ours.get_canonical_hash(3) is None


def test_reorg_moves_the_transaction_index_to_the_new_branch() -> None:
    ours, theirs = chains(2)
    shared = transfer(ALICE, BOB.address, 5, nonce=0)
    only_ours = transfer(CAROL, BOB.address, 7, nonce=0)
    only_theirs = transfer(BOB, CAROL.address, 9, nonce=0)
    a1 = grow(ours, P0, [shared, only_ours])
    b1 = grow(theirs, P1, [only_theirs, shared], above=a1.hash)
    b2 = grow(theirs, P1)
    assert ours.get_tx_location(shared.hash) == TxLocation(a1.hash, 0)

    ours.import_block(b1)
    assert ours.get_tx_location(only_theirs.hash) is None  # side blocks are not indexed
    assert ours.import_block(b2).status == "reorg"

    assert ours.get_tx_location(only_ours.hash) is None
    assert ours.get_tx_location(only_theirs.hash) == TxLocation(b1.hash, 0)
    assert ours.get_tx_location(shared.hash) == TxLocation(b1.hash, 1)
    assert ours.db.get(schema.journal_key(a1.hash)) is None
    assert ours.db.get(schema.journal_key(b1.hash)) == theirs.db.get(schema.journal_key(b1.hash))


# -- invalid branches ---------------------------------------------------------------------------


def test_reorg_onto_an_invalid_block_changes_nothing_and_forgets_the_branch() -> None:
    ours, theirs = chains(2)
    grow(ours, P0)
    a2 = grow(ours, P0)
    a3 = grow(ours, P0)
    b1, b2, b3, b4 = (grow(theirs, P1) for _ in range(4))
    bad2 = resign_above(b2, P1, state_root=ZERO_HASH, above=a2.hash)  # ties with a2, loses
    bad3 = resign_above(b3, P1, parent_hash=bad2.hash, above=a3.hash)  # valid but for its parent
    bad4 = resign(b4, P1, parent_hash=bad3.hash)
    ours.import_block(b1)
    before = list(ours.db.iterate())
    assert ours.import_block(bad2) == ImportResult("side")  # no state check on a side branch
    assert ours.import_block(bad3) == ImportResult("side")

    with pytest.raises(InvalidBlock) as raised:
        ours.import_block(bad4)

    assert type(raised.value) is InvalidBlock
    assert str(raised.value).startswith(
        f"block #2 0x{bad2.hash.hex()[:16]}.. on the branch of #4: state_root mismatch"
    )
    assert list(ours.db.iterate()) == before  # bad2 and bad3 deleted, bad4 never stored
    assert ours.head == a3.header
    assert all(ours.get_block(b.hash) is None for b in (bad2, bad3, bad4))
    assert ours.get_block(b1.hash) == b1  # the valid part of the branch stays
    for block in (bad2, bad3, bad4):
        assert_refused(ours, block, f"^known invalid block #{block.number} ")
    sibling = resign(bad3, P1, extra=b"sibling")  # a block arriving later on the bad branch
    assert_refused(ours, sibling, f"builds on known invalid block 0x{bad2.hash.hex()[:16]}")
    # The genuine branch still wins.
    for block in (b2, b3):
        ours.import_block(block)
    assert ours.import_block(b4).status in ("head", "reorg")
    assert_same_canonical_chain(ours, theirs)


def test_invalid_head_block_is_remembered_but_a_mismatched_body_is_not(chain: Chain) -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=0)
    block = build_on_head(chain, [tx]).block
    signer = KEYS[0]
    bad = resign(block, signer, state_root=ZERO_HASH)
    assert_refused(chain, bad, "^state_root mismatch")
    assert_refused(chain, bad, "^known invalid block #1 ")
    # Same header (same hash), a body that does not match it: the header is not to blame.
    no_body = Block(block.header, ())
    assert no_body.hash == block.hash
    assert_refused(chain, no_body, "^tx_root does not match")
    assert chain.import_block(block).status == "head"


@pytest.mark.parametrize(
    ("defect", "message"),
    [
        ({"signer": OUTSIDER}, "^block signature is not the producer's$"),
        ({"number": 2}, "^block number 2 does not follow 0$"),
        ({"slot": 0}, "^slot 0 is not after the parent's slot 0$"),
        ({"extra": b"x" * 33}, "^extra data over 32"),
        ({"tx_root": ZERO_HASH}, "^tx_root does not match"),
    ],
)
def test_side_block_gets_the_checks_that_need_no_state(defect: dict, message: str) -> None:
    ours, theirs = chains(2)
    grow(ours, P0)
    side = build_on_head(theirs, keys=[P1]).block
    signer = defect.pop("signer", P1)
    assert_refused(ours, resign(side, signer, **defect), message)


def test_side_block_from_the_future_is_refused() -> None:
    ours, theirs = chains(2)
    grow(ours, P0)
    side = build_on_head(theirs, keys=[P1]).block
    slot_start = GENESIS_TIME_MS + side.slot * theirs.state().params.slot_ms
    early = slot_start - MAX_FUTURE_DRIFT_MS - 1
    assert_refused(
        ours, side, f"^block slot {side.slot} has not started yet", FutureBlock, now_ms=early
    )
    assert ours.import_block(side, now_ms=early + 1).status in ("side", "reorg")


def test_orphan_is_an_unknown_parent() -> None:
    ours, theirs = chains(2)
    grow(ours, P0)
    block = build_on_head(theirs, keys=[P1]).block
    orphan = resign(block, P1, parent_hash=keccak(b"nowhere"))
    assert_refused(ours, orphan, "^unknown parent 0x", UnknownParent)


def test_stored_blocks_are_already_known() -> None:
    ours, theirs = chains(2)
    a1 = grow(ours, P0)
    b1 = grow(theirs, P1, above=a1.hash)
    assert ours.import_block(b1).status == "side"
    assert_refused(
        ours, b1, f"^block #1 0x{b1.hash.hex()[:16]}.. already known$", BlockAlreadyKnown
    )
    assert_refused(ours, a1, "already known$", BlockAlreadyKnown)


# -- finality -----------------------------------------------------------------------------------


def test_no_branch_may_revert_a_finalized_block() -> None:
    ours, theirs = chains(2, Rules([*core_modules(), Finalizer(lag=2)]))
    a1 = grow(ours, P0)
    a2 = grow(ours, P0)
    b1 = grow(theirs, P1)
    b2 = grow(theirs, P1, above=a2.hash)
    b3 = grow(theirs, P1)
    assert ours.import_block(b1).status == "side"  # nothing is final yet
    assert ours.import_block(b2).status == "side"
    assert ours.finalized == ours.get_block_by_number(0).header
    a3 = grow(ours, P0)
    a4 = grow(ours, P0)
    assert ours.finalized == a2.header
    assert ours.get_block(b1.hash) is None and ours.get_block(b2.hash) is None  # pruned

    # b3's branch forks off at genesis, below #2: its blocks there were pruned with finality.
    assert_refused(ours, b3, "^unknown parent 0x", UnknownParent)
    fresh = resign(b1, P1, extra=b"other")  # a new block at a finalized height
    assert_refused(
        ours, fresh, "^block #1 conflicts with finalized block #2$", ConflictsWithFinalized
    )
    assert [ours.get_block_by_number(n) for n in (1, 2, 3, 4)] == [a1, a2, a3, a4]


def test_branch_forking_at_the_finalized_block_may_win() -> None:
    ours, theirs = chains(2, Rules([*core_modules(), Finalizer(lag=2)]))
    for _ in range(2):
        theirs.import_block(grow(ours, P0))
    a3 = grow(ours, P0)
    a4 = grow(ours, P0)
    assert ours.finalized.number == 2
    c3 = grow(theirs, P1, above=a3.hash)
    c4 = grow(theirs, P1, above=a4.hash)
    c5 = grow(theirs, P1)
    ours.import_block(c3)
    ours.import_block(c4)

    result = ours.import_block(c5)

    assert (result.status, result.applied, result.reverted) == ("reorg", (c3, c4, c5), (a4, a3))
    assert_same_canonical_chain(ours, theirs)
    assert ours.finalized == c3.header


def test_revert_head_refuses_a_finalized_block() -> None:
    (chain,) = chains(1, Rules([*core_modules(), Finalizer(lag=0)]))
    block = grow(chain, P0)
    assert chain.finalized == block.header
    before = list(chain.db.iterate())
    with pytest.raises(DatabaseError, match=r"^cannot revert block #1: it is final"):
        chain.revert_head()
    assert list(chain.db.iterate()) == before
    assert chain.head == block.header


# -- monotonic finality -------------------------------------------------------------------------


class VoteFinalizer(Module):
    """Test-only finality driven by the block: a block whose extra data starts with F stands for
    a block carrying the FOR votes that make its grandparent final; any other block carries none.
    """

    name = "test-vote-finalizer"

    def end_block(self, state: State, ctx: BlockContext) -> None:
        if ctx.header.extra.startswith(b"F") and ctx.header.number >= 2:
            state.chain.finalized = max(state.chain.finalized, ctx.header.number - 2)


VOTE_RULES = Rules([*core_modules(), VoteFinalizer()])


def branch(prefix: Sequence[Block], votes: str, tag: int) -> list[Block]:
    """Blocks built on top of `prefix` (a chain from genesis), one per letter of `votes`: F for
    a block with finalizing votes, - for one without; `tag` keeps branches apart."""
    (builder,) = chains(1, VOTE_RULES)
    for block in prefix:
        builder.import_block(block)
    built = []
    for vote in votes:
        extra = (b"F" if vote == "F" else b"-") + tag.to_bytes(4, "big")
        block = build_on_head(builder, keys=[P0, P1], extra=extra).block
        builder.import_block(block)
        built.append(block)
    return built


def canonical(chain: Chain, upto: int | None = None) -> list[Block]:
    return list(chain.iter_canonical())[1 : None if upto is None else upto + 1]


def test_finality_survives_a_branch_whose_state_forgot_it() -> None:
    """Issue 9: #3 final on A; a longer branch forking at #3 without the votes wins (its state
    says nothing is final); a branch forking at #2 must still be refused."""
    (ours,) = chains(1, VOTE_RULES)
    for block in branch([], "---FF", tag=0):
        ours.import_block(block)
    a3 = ours.get_block_by_number(3)
    assert ours.finalized == a3.header

    for block in branch(canonical(ours, 3), "----", tag=1):  # forks at #3: contains it
        ours.import_block(block)
    assert ours.head.number == 7 and ours.state().chain.finalized == 0
    assert ours.finalized == a3.header  # the node still knows #3 is final

    late = branch(canonical(ours, 2), "------", tag=2)  # forks at #2: would revert #3
    assert_refused(
        ours, late[0], "^block #3 conflicts with finalized block #3$", ConflictsWithFinalized
    )
    for block in late[1:]:
        with pytest.raises(UnknownParent):  # its branch was never stored
            ours.import_block(block)
    assert ours.get_block_by_number(3) == a3
    assert Chain(ours.db, ours.rules).finalized == a3.header  # persisted


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.text("F-", min_size=1, max_size=5)), min_size=1, max_size=8
    )
)
def test_no_sequence_of_branches_reverts_a_final_block(forks: list[tuple[int, str]]) -> None:
    """Competing branches with and without finalizing votes, forking anywhere below the head:
    once a block is final it stays canonical, and the finalized block only moves up. (A side
    block over the bounds of `porchain.sideblocks` is refused too; it is not stored.)"""
    (ours,) = chains(1, VOTE_RULES)
    ever_final: dict[int, bytes] = {}
    for tag, (depth, votes) in enumerate(forks):
        fork = max(0, ours.head.number - depth)
        for block in branch(canonical(ours, fork), votes, tag):
            before = ours.finalized.number
            with contextlib.suppress(
                ConflictsWithFinalized, BlockAlreadyKnown, UnknownParent, SideBlocksFull
            ):
                ours.import_block(block)
            assert ours.finalized.number >= before
            ever_final[ours.finalized.number] = ours.finalized.hash
            for number, block_hash in ever_final.items():
                assert ours.get_canonical_hash(number) == block_hash
    assert Chain(ours.db, ours.rules).finalized == ours.finalized
