"""Chain: genesis, block import, every rejection leaving the database untouched, reverts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from porchain.chain import MAX_FUTURE_DRIFT_MS, Chain, ImportResult
from porchain.composition import core_modules
from porchain.consensus.modules import Module, Rules
from porchain.consensus.slots import scheduled_producer
from porchain.constants import INCINERATOR
from porchain.crypto.hashing import ZERO_HASH, keccak
from porchain.crypto.keys import PrivateKey, to_checksum_address
from porchain.db import Database, LevelDB, MemoryDB, schema
from porchain.errors import BlockAlreadyKnown, DatabaseError, InvalidBlock, UnknownParent
from porchain.state.lthash import LtHash
from porchain.state.state import State, load_lthash
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction
from tests.factories import (
    GENESIS_TIME_MS,
    KEYS,
    PRODUCER,
    build_on_head,
    core_rules,
    default_alloc,
    extend,
    key,
    keys_by_address,
    make_genesis,
    new_chain,
    next_slot,
    resign,
    state_entries,
    transfer,
)

ALICE, BOB = KEYS[2], KEYS[3]
OUTSIDER = key(100)  # holds nothing, is in no ASC


def snapshot(chain: Chain) -> tuple:
    return list(chain.db.iterate()), chain.head, load_lthash(chain.db).root()


def assert_rejected(
    chain: Chain,
    block: Block,
    message: str,
    error: type[InvalidBlock] = InvalidBlock,
    **kwargs: int,
) -> None:
    """Import fails with `message` and leaves head, state root and every db entry as they were."""
    before = snapshot(chain)
    with pytest.raises(error, match=message):
        chain.import_block(block, **kwargs)
    assert snapshot(chain) == before
    assert Chain(chain.db, chain.rules).head == before[1]  # the stored head pointer too


def signer_of(block: Block) -> PrivateKey:
    return keys_by_address()[block.header.producer]


@pytest.fixture
def two_producers() -> Chain:
    """KEYS[0] and KEYS[1] share the schedule; every test key is funded."""
    alloc = {k: {"balance": "1000"} for k in KEYS}
    alloc[KEYS[0]] = {"balance": "1000", "rep_encumbered": "100"}
    alloc[KEYS[1]] = {"balance": "1000", "rep_encumbered": "100"}
    return new_chain(make_genesis(alloc))


@pytest.fixture
def small() -> Chain:
    """A chain whose WSC allows blocks of 1024 bytes and 2 transactions."""
    return new_chain(
        make_genesis(wsc={"max_block_bytes": 1024, "max_tx_bytes": 512, "max_block_txs": 2})
    )


# -- genesis ------------------------------------------------------------------------------------


def test_initialize_writes_a_consistent_genesis(chain: Chain) -> None:
    genesis_block = chain.get_block_by_number(0)
    assert genesis_block is not None
    assert chain.head == genesis_block.header
    assert chain.genesis_hash == genesis_block.hash
    assert chain.head.state_root == load_lthash(chain.db).root()
    assert chain.head.state_root == LtHash.of(state_entries(chain.db)).root()
    assert chain.state().chain.chain_id == 1337
    assert chain.state().account(ALICE.address).balance == 1000 * 10**9


def test_initialize_is_idempotent() -> None:
    genesis = make_genesis()
    db = MemoryDB()
    first = Chain.initialize(db, genesis, core_rules())
    before = list(db.iterate())
    second = Chain.initialize(db, make_genesis(), core_rules())  # an equal genesis, rebuilt
    assert second.genesis_hash == first.genesis_hash
    assert second.head == first.head
    assert list(db.iterate()) == before
    block = extend(second)
    third = Chain.initialize(db, genesis, core_rules())  # does not reset a chain that moved on
    assert third.head == block.header


@pytest.mark.parametrize(
    "other",
    [
        pytest.param({"chain_id": 1338}, id="chain-id"),
        pytest.param({"genesis_time": GENESIS_TIME_MS + 1}, id="time"),
        pytest.param({"wsc": {"subsidy": 1}}, id="wsc"),
        pytest.param({"alloc": {KEYS[0]: {"rep_encumbered": "1"}}}, id="alloc"),
    ],
)
def test_initialize_refuses_a_different_genesis(other: dict) -> None:
    db = MemoryDB()
    Chain.initialize(db, make_genesis(), core_rules())
    before = list(db.iterate())
    with pytest.raises(DatabaseError, match="initialised with a different genesis"):
        Chain.initialize(db, make_genesis(**other), core_rules())
    assert list(db.iterate()) == before


def test_opening_an_empty_database_says_init() -> None:
    with pytest.raises(DatabaseError, match="porchain init"):
        Chain(MemoryDB(), core_rules())


# -- import -------------------------------------------------------------------------------------


def test_built_block_imports(chain: Chain) -> None:
    tx = transfer(ALICE, BOB.address, 10**9, nonce=0)
    built = build_on_head(chain, [tx])
    assert built.rejected == []
    block = built.block
    result = chain.import_block(block)
    assert (result.status, result.applied, result.reverted) == ("head", (block,), ())
    assert [ctx.fees for ctx in result.contexts] == [tx.fee]
    assert chain.head == block.header
    assert block.header.state_root == load_lthash(chain.db).root()
    assert chain.get_block(block.hash) == block
    assert chain.get_block_by_number(1) == block
    assert chain.get_block_by_number(2) is None
    location = chain.get_tx_location(tx.hash)
    assert location is not None and (location.block_hash, location.index) == (block.hash, 0)
    assert [b.number for b in chain.iter_canonical()] == [0, 1]
    assert chain.state().account(BOB.address).balance == 1001 * 10**9
    assert Chain(chain.db, chain.rules).head == block.header  # the head pointer is stored


def test_import_checks_what_the_builder_claims(chain: Chain) -> None:
    block = build_on_head(chain).block
    signer = signer_of(block)
    assert_rejected(chain, resign(block, signer, state_root=ZERO_HASH), "^state_root mismatch")


def test_block_signed_by_another_key_is_rejected(chain: Chain) -> None:
    block = build_on_head(chain).block
    assert_rejected(chain, resign(block, OUTSIDER), "^block signature is not the producer's$")


def test_block_with_a_garbage_signature_is_rejected(chain: Chain) -> None:
    block = build_on_head(chain).block
    header = replace(block.header, signature=b"\x00" * 65)
    assert_rejected(chain, Block(header, block.transactions), "^bad block signature")


@pytest.mark.parametrize("impostor", [KEYS[1], OUTSIDER], ids=["other-asc-member", "outsider"])
def test_correctly_signed_block_by_an_unscheduled_key_is_rejected(
    two_producers: Chain, impostor: PrivateKey
) -> None:
    chain = two_producers
    slot, scheduled = next_slot(chain, chain.head.slot, [KEYS[0]])
    assert scheduled != impostor
    block = build_on_head(chain, slot=slot).block
    forged = resign(block, impostor, producer=impostor.address)
    assert forged.header.recover_producer() == impostor.address  # the signature itself is fine
    assert_rejected(
        chain,
        forged,
        f"^wrong producer for slot {slot}: scheduled {to_checksum_address(KEYS[0].address)}, "
        f"got {to_checksum_address(impostor.address)}$",
    )


def test_both_producers_get_slots(two_producers: Chain) -> None:
    scheduled = {
        scheduled_producer(two_producers.state(), slot, two_producers.rules)
        for slot in range(1, 41)
    }
    assert scheduled == {KEYS[0].address, KEYS[1].address}


def test_slot_not_after_the_parent_is_rejected(chain: Chain) -> None:
    first = extend(chain, slot=5)
    block = build_on_head(chain).block
    signer = signer_of(block)
    for slot in (5, 4, 0):
        assert_rejected(
            chain,
            resign(block, signer, slot=slot),
            f"^slot {slot} is not after the parent's slot {first.slot}$",
        )


def test_slot_zero_is_the_genesis_slot(chain: Chain) -> None:
    block = build_on_head(chain).block
    assert_rejected(
        chain,
        resign(block, signer_of(block), slot=0),
        "^slot 0 is not after the parent's slot 0$",
    )


def test_block_from_the_future_is_rejected(chain: Chain) -> None:
    block = build_on_head(chain, slot=50).block
    slot_start = GENESIS_TIME_MS + 50 * chain.state().params.slot_ms
    too_early = slot_start - MAX_FUTURE_DRIFT_MS - 1
    assert_rejected(chain, block, "^block slot 50 has not started yet", now_ms=too_early)
    chain.import_block(block, now_ms=slot_start - MAX_FUTURE_DRIFT_MS)  # within the drift
    assert chain.head == block.header


# With 4 slots an epoch, slot 2^64 - 5 is the last of epoch 2^62 - 2: the schedule a block there
# draws, of the next epoch, ends at slot 2^64 - 1, the last an 8-byte draw can take.
HIGHEST_SLOT = 2**64 - 5


@pytest.mark.parametrize("slot", [2**64 - 1, HIGHEST_SLOT + 1])
def test_slot_past_the_drawable_schedules_is_rejected_without_a_clock(
    chain: Chain, slot: int
) -> None:
    """Issue 10, finding 9: no clock bounds the slot on `db import`, so the rules must, before
    the epochs up to it are processed (drawing schedules past 2^64 raised OverflowError)."""
    assert chain.state().params.epoch_slots == 4
    block = build_on_head(chain).block
    assert_rejected(
        chain,
        resign(block, signer_of(block), slot=slot),
        f"^slot {slot} is over the highest slot a block may have, {HIGHEST_SLOT} ",
    )


def test_slot_past_the_drawable_schedules_is_invalid_not_early(chain: Chain) -> None:
    """With a clock, such a block is still invalid (a peer sending it misbehaves), not a block
    whose slot has yet to start (forgiven and asked for again)."""
    block = build_on_head(chain).block
    with pytest.raises(InvalidBlock, match=r"^slot 18446744073709551615 is over the highest") as e:
        chain.import_block(resign(block, signer_of(block), slot=2**64 - 1), now_ms=GENESIS_TIME_MS)
    assert type(e.value) is InvalidBlock


def test_side_block_past_the_drawable_schedules_is_rejected(chain: Chain) -> None:
    """A side block is never stored with a slot its branch could not be applied at."""
    block = build_on_head(chain).block
    extend(chain)
    extend(chain)
    assert_rejected(
        chain,
        resign(block, signer_of(block), slot=2**64 - 1),
        "^slot 18446744073709551615 is over the highest slot a block may have",
    )


def test_the_highest_slot_a_block_may_have_is_valid(chain: Chain) -> None:
    """The bound is exact: a block at it applies (its schedules' last slot is 2^64 - 1)."""
    assert chain.state().params.epoch_slots == 4
    block = build_on_head(chain, slot=HIGHEST_SLOT).block
    chain.import_block(block)
    assert chain.head == block.header


class HookLog(Module):
    """A module that only records the hooks the rules ran (epoch ends, block starts)."""

    name = "hook-log"

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def start_block(self, state: State, number: int) -> None:
        self.calls.append(("start_block", number))

    def end_epoch(self, state: State, epoch: int) -> None:
        self.calls.append(("end_epoch", epoch))


def test_a_number_that_does_not_follow_is_refused_before_any_hook_runs() -> None:
    """The parent link is checked first: a height from outside never reaches the modules."""
    hooks = HookLog()
    chain = new_chain(rules=Rules([*core_modules(), hooks]))
    block = build_on_head(chain, slot=20).block  # epochs end between the genesis and it
    hooks.calls.clear()
    assert_rejected(
        chain,
        resign(block, signer_of(block), number=2**64 - 1),
        "^block number 18446744073709551615 does not follow 0$",
    )
    assert hooks.calls == []
    chain.import_block(block)
    assert hooks.calls[0] == ("end_epoch", 0) and hooks.calls[-1] == ("start_block", 1)


def test_unknown_parent_is_rejected(chain: Chain) -> None:
    block = build_on_head(chain).block
    orphan = resign(block, signer_of(block), parent_hash=keccak(b"nowhere"))
    assert_rejected(chain, orphan, "^unknown parent 0x", error=UnknownParent)


def test_block_on_a_competing_branch_is_stored_as_a_side_block(chain: Chain) -> None:
    extend(chain)
    pair = [build_on_head(chain, slot=chain.head.slot + n).block for n in (1, 2)]
    first, second = sorted(pair, key=lambda b: b.hash)  # the higher hash loses the tie
    chain.import_block(first)
    state_before = state_entries(chain.db)
    assert chain.import_block(second) == ImportResult("side")
    assert chain.head == first.header
    assert chain.get_block(second.hash) == second
    assert chain.get_block_by_number(2) == first
    assert state_entries(chain.db) == state_before


def test_known_block_is_rejected(chain: Chain) -> None:
    block = extend(chain)
    assert_rejected(chain, block, "^block #1 0x[0-9a-f]{16}.. already known$", BlockAlreadyKnown)


def test_wrong_number_and_wsc_are_rejected(chain: Chain) -> None:
    block = build_on_head(chain).block
    signer = signer_of(block)
    assert_rejected(chain, resign(block, signer, number=2), "^block number 2 does not follow 0$")
    assert_rejected(
        chain, resign(block, signer, wsc_id=1), r"^block built under WSC #1, active is #0$"
    )


def test_oversized_block_is_rejected(small: Chain) -> None:
    block = build_on_head(small).block
    txs = [transfer(KEYS[1 + i % 6], BOB.address, 1, nonce=i // 6) for i in range(9)]
    big = resign(block, signer_of(block), transactions=txs)
    assert big.size > 1024
    assert_rejected(small, big, rf"^block is {big.size} bytes, over the limit of 1024$")


def test_block_with_too_many_transactions_is_rejected(small: Chain) -> None:
    block = build_on_head(small).block
    txs = [transfer(KEYS[i], BOB.address, 1, nonce=0) for i in (1, 2, 4)]
    crowded = resign(block, signer_of(block), transactions=txs)
    assert crowded.size <= 1024  # only the count is over
    assert_rejected(small, crowded, "^block has 3 transactions, over the limit of 2$")


def test_extra_data_over_the_limit_is_rejected(chain: Chain) -> None:
    block = build_on_head(chain).block
    assert_rejected(chain, resign(block, signer_of(block), extra=b"x" * 33), "^extra data over 32")


def test_builder_respects_the_limits(small: Chain) -> None:
    candidates = [transfer(KEYS[i], BOB.address, 1, nonce=0) for i in (1, 2, 4, 5, 6)]
    block = build_on_head(small, candidates).block
    assert len(block.transactions) == 2
    assert block.size <= 1024
    small.import_block(block)
    assert small.head == block.header


def test_wrong_tx_root_is_rejected(chain: Chain) -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=0)
    block = build_on_head(chain, [tx]).block
    signer = signer_of(block)
    assert_rejected(chain, resign(block, signer, tx_root=ZERO_HASH), "^tx_root does not match")
    # The same transactions in another order, under the original root.
    other = transfer(BOB, ALICE.address, 1, nonce=0)
    pair = build_on_head(chain, [tx, other]).block
    swapped = resign(pair, signer, transactions=[other, tx], tx_root=pair.header.tx_root)
    assert_rejected(chain, swapped, "^tx_root does not match")


def test_block_with_an_invalid_transaction_is_rejected(chain: Chain) -> None:
    block = build_on_head(chain).block
    bad = transfer(ALICE, BOB.address, 1, nonce=1)
    assert_rejected(
        chain,
        resign(block, signer_of(block), transactions=[bad]),
        rf"^transaction 0 \({bad.hash.hex()[:16]}\.\.\): nonce gap: next nonce is 0, got 1$",
    )


def test_block_replaying_a_transaction_is_rejected_after_applying_the_first(chain: Chain) -> None:
    tx = transfer(ALICE, BOB.address, 1, nonce=0)
    block = build_on_head(chain, [tx]).block
    replayed = resign(block, signer_of(block), transactions=[tx, tx])
    assert_rejected(chain, replayed, r"^transaction 1 \(.*\): nonce too low: 0 was already used")


def test_rejected_block_leaves_the_chain_usable(chain: Chain) -> None:
    block = build_on_head(chain, [transfer(ALICE, BOB.address, 1, nonce=0)]).block
    with pytest.raises(InvalidBlock):
        chain.import_block(resign(block, signer_of(block), state_root=ZERO_HASH))
    chain.import_block(block)
    assert chain.head == block.header


# -- determinism across databases, and reverts --------------------------------------------------

SENDERS = KEYS[1:6]


def transfers_for(number: int, nonces: dict[bytes, int]) -> list[Transaction]:
    """Three transfers for block `number`, some to fresh addresses, one burn every few blocks."""
    txs = []
    for j in range(3):
        sender = SENDERS[(number + j) % len(SENDERS)]
        to = key(200 + number).address if j == 2 else SENDERS[(number + 2 * j + 1) % 5].address
        if number % 7 == 0 and j == 1:
            to = INCINERATOR
        txs.append(transfer(sender, to, 10**6 * (number + 1), nonce=nonces[sender.address]))
        nonces[sender.address] += 1
    return txs


@pytest.fixture
def leveldb(tmp_path: Path) -> Iterator[Database]:
    with LevelDB(tmp_path / "chain", sync=False) as db:
        yield db


def test_independent_chains_agree_at_every_height(leveldb: Database, tmp_path: Path) -> None:
    genesis = make_genesis()
    source = new_chain(genesis)
    second_datadir = LevelDB(tmp_path / "second", sync=False)
    followers = [
        new_chain(genesis, MemoryDB()),
        new_chain(genesis, leveldb),
        new_chain(genesis, second_datadir),
    ]
    nonces = {k.address: 0 for k in SENDERS}
    for number in range(1, 31):
        block = extend(source, transfers_for(number, nonces))
        assert len(block.transactions) == 3
        wire = Block.decode(block.encode())  # followers get the block as bytes off the wire
        for follower in followers:
            follower.import_block(wire)
            assert follower.head == block.header
            assert load_lthash(follower.db).root() == block.header.state_root
    contents = list(source.db.iterate())
    for follower in followers:
        assert list(follower.db.iterate()) == contents
    assert LtHash.of(state_entries(leveldb)).root() == source.head.state_root
    second_datadir.close()


def test_revert_head_back_to_genesis(leveldb: Database) -> None:
    # Half the REP is free and never votes: no block becomes final, so all can be reverted.
    chain = new_chain(make_genesis({**default_alloc(), key(99): {"rep": "100"}}), leveldb)
    genesis_state = state_entries(leveldb)
    genesis_root = chain.head.state_root
    nonces = {k.address: 0 for k in SENDERS}
    blocks = [extend(chain, transfers_for(n, nonces)) for n in range(1, 31)]
    tx_hashes = [tx.hash for block in blocks for tx in block.transactions]
    assert all(chain.get_tx_location(h) is not None for h in tx_hashes)
    for block in reversed(blocks):
        parent = chain.revert_head()
        assert parent.hash == block.header.parent_hash
        assert chain.head == parent
        assert load_lthash(leveldb).root() == parent.state_root
        assert all(chain.get_tx_location(tx.hash) is None for tx in block.transactions)
        assert chain.get_block_by_number(block.number) is None
    assert chain.head.number == 0
    assert load_lthash(leveldb).root() == genesis_root
    assert state_entries(leveldb) == genesis_state
    assert list(leveldb.iterate(schema.tx_location_key(b""))) == []
    assert list(leveldb.iterate(schema.journal_key(b""))) == []
    assert [k for k, _ in leveldb.iterate(schema.block_key(b""))] == [
        schema.block_key(chain.genesis_hash)
    ]
    assert list(leveldb.iterate(schema.children_prefix(b""))) == []
    assert [k for k, _ in leveldb.iterate(schema.canonical_key(0)[:-8])] == [
        schema.canonical_key(0)
    ]
    assert Chain(leveldb, chain.rules).head.number == 0
    with pytest.raises(DatabaseError, match="cannot revert the genesis block"):
        chain.revert_head()


def test_revert_then_build_a_different_block(chain: Chain) -> None:
    extend(chain, [transfer(ALICE, BOB.address, 5, nonce=0)])
    chain.revert_head()
    replacement = extend(chain, [transfer(ALICE, PRODUCER.address, 7, nonce=0)])
    assert chain.head == replacement.header
    assert chain.state().account(BOB.address).balance == 1000 * 10**9
    assert load_lthash(chain.db).root() == replacement.header.state_root


def test_reverted_blocks_can_be_imported_again(chain: Chain) -> None:
    """A reorg back to a branch it left must be able to replay that branch's blocks."""
    blocks = [extend(chain, [transfer(ALICE, BOB.address, 5, nonce=n)]) for n in range(3)]
    head = snapshot(chain)
    for _ in blocks:
        chain.revert_head()
    assert all(chain.get_block(block.hash) is None for block in blocks)  # reverted and forgotten
    assert_rejected(chain, blocks[1], "^unknown parent 0x", UnknownParent)
    for block in blocks:
        chain.import_block(block)
    assert snapshot(chain) == head
    assert_rejected(chain, blocks[2], "already known$", BlockAlreadyKnown)


def test_revert_head_forgets_the_head_but_not_its_siblings(two_producers: Chain) -> None:
    chain = two_producers
    extend(chain)
    pair = [build_on_head(chain, slot=chain.head.slot + n).block for n in (1, 2)]
    first, second = sorted(pair, key=lambda b: b.hash)
    chain.import_block(first)
    chain.import_block(second)  # a side block
    parent = chain.revert_head()
    assert chain.head == parent
    assert chain.get_block(first.hash) is None
    assert chain.get_block(second.hash) == second  # still a side block, until a reorg
    assert schema.child_key(parent.hash, first.hash) not in chain.db
    assert chain.import_block(first).status == "head"  # forgotten, so importable again
    assert chain.get_block_by_number(2) == first
