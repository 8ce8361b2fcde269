"""The chain: blocks, their indexes and the head state, kept consistent in one database.

Every import is one atomic write batch (blocks, transaction index, state changes, undo journals,
canonical index and head pointer): a crash at any point leaves the previous head intact.

Fork choice (PROTOCOL section 9): never revert a finalized block; among the rest, the longest
chain, ties to the lower block hash. A block on another branch is stored with the checks that
need no state, and its producer checked against the schedule of its slot when our chain determines
it (`schedule_known`); it is validated in full when a reorg makes its branch canonical. The side
blocks kept are bounded (porchain.sideblocks) and pruned as finality advances.

Finality is monotonic: the chain keeps the highest block it has ever seen final (`FINALIZED_KEY`,
written in the batch that made it final) and refuses every branch that does not contain it, even
when a branch's own state records a lower finalized height.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from porchain.consensus.executions import execute_block
from porchain.consensus.modules import BlockContext, Rules
from porchain.consensus.selection import check_block_slot
from porchain.consensus.slots import scheduled_producer
from porchain.consensus.transition import check_producer, process_block_form
from porchain.db import schema
from porchain.db.abc import Database, WriteBatch
from porchain.db.memory import MemoryDB
from porchain.errors import (
    BlockAlreadyKnown,
    ConflictsWithFinalized,
    DatabaseError,
    DecodeError,
    FutureBlock,
    InvalidBlock,
    UnknownParent,
)
from porchain.genesis import Genesis
from porchain.sideblocks import SideIndex
from porchain.state.lthash import COMMITMENT_VERSION, LtHash
from porchain.state.past import StateUnavailable, anchor_of, past_reader
from porchain.state.state import (
    JournalEntry,
    Readable,
    State,
    StateDiff,
    decode_journal,
    encode_journal,
    undo_journal,
)
from porchain.types.blocks import Block, Header, compute_tx_root
from porchain.types.codec import (
    decode_fixed,
    decode_list,
    decode_uint,
    encode_uint,
    rlp_decode,
    rlp_encode,
)

log = logging.getLogger(__name__)

MAX_FUTURE_DRIFT_MS = 500  # how far ahead of our clock a block's slot may start
MAX_KNOWN_INVALID = 10_000  # hashes of invalid blocks remembered (oldest forgotten first)


@dataclass(frozen=True, slots=True)
class TxLocation:
    block_hash: bytes
    index: int


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The highest block a chain has ever seen final."""

    number: int
    hash: bytes

    def encode(self) -> bytes:
        return rlp_encode([encode_uint(self.number), self.hash])

    @classmethod
    def decode(cls, raw: bytes) -> Checkpoint:
        items = decode_list(rlp_decode(raw, "finalized checkpoint"), 2, "finalized checkpoint")
        return cls(decode_uint(items[0], "number"), decode_fixed(items[1], 32, "hash"))


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: `head` extended the head, `side` stored the block on a side branch,
    `reorg` made its branch canonical. `reverted` is head first; `applied` and `contexts` (one
    per applied block, from `process_block`) are in chain order."""

    status: Literal["head", "side", "reorg"]
    applied: tuple[Block, ...] = ()
    reverted: tuple[Block, ...] = ()
    contexts: tuple[BlockContext, ...] = ()


def slot_start_ms(state: State, slot: int) -> int:
    return state.chain.genesis_time_ms + slot * state.params.slot_ms


def is_better(candidate: Header, head: Header) -> bool:
    """Fork choice between two tips above the finalized block: longer wins, then lower hash."""
    return (candidate.number, head.hash) > (head.number, candidate.hash)


def check_not_future(state: State, block: Block, now_ms: int | None) -> None:
    """Refuse a block whose slot has not started: it may be valid later. A slot beyond the
    rules' highest never will be, so it is refused first, as invalid rather than early."""
    check_block_slot(state.params.epoch_slots, block.slot)
    if now_ms is not None and slot_start_ms(state, block.slot) > now_ms + MAX_FUTURE_DRIFT_MS:
        raise FutureBlock(f"block slot {block.slot} has not started yet (clock skew?)")


def schedule_known(epoch_slots: int, block: Block, fork: Header, on_fork: bool) -> bool:
    """Whether our chain determines who produces `block` on its branch, which leaves ours after
    `fork`: the parent's state does, when the parent is `fork` (`on_fork`); otherwise the schedule
    of an epoch is drawn at the end of the epoch two before it (PROTOCOL section 6), so a branch
    shares the fork's schedules of its own epoch and the next."""
    return on_fork or block.slot // epoch_slots <= fork.slot // epoch_slots + 1


def check_state_root(block: Block, root: bytes) -> None:
    if root != block.header.state_root:
        raise InvalidBlock(
            f"state_root mismatch: the block says 0x{block.header.state_root.hex()}, "
            f"the rules give 0x{root.hex()}"
        )


class Chain:
    def __init__(self, db: Database, rules: Rules) -> None:
        self.db = db
        self.rules = rules
        head_hash = db.get(schema.HEAD_KEY)
        if head_hash is None:
            raise DatabaseError("the data directory holds no chain (run `porchain init` first)")
        self.head = self._load_block(head_hash).header
        self.genesis_hash = self._require(schema.GENESIS_KEY)
        self.checkpoint = self._load_checkpoint()
        self.anchor = anchor_of(db)  # a snapshot's block: below it, headers only
        self._invalid: dict[bytes, None] = {}  # an insertion-ordered set, bounded
        self.side = SideIndex(db)
        self._past: tuple[tuple[bytes, bytes], Readable] | None = None  # (head, fork) -> reader

    @classmethod
    def initialize(cls, db: Database, genesis: Genesis, rules: Rules) -> Chain:
        """Write the genesis block and state; idempotent for the same genesis."""
        state = State(MemoryDB(), LtHash())  # built apart, so existing data cannot leak in
        genesis.build_state(state)
        header = genesis.header(state.root())
        existing = db.get(schema.GENESIS_KEY)
        if existing is not None:
            if existing != header.hash:
                raise DatabaseError(
                    "the data directory is initialised with a different genesis "
                    f"(0x{existing.hex()}); use another data directory"
                )
            return cls(db, rules)
        block = Block(header)
        with db.atomic_batch() as batch:
            state.commit(batch)
            batch.put(schema.block_key(block.hash), block.encode())
            batch.put(schema.canonical_key(0), block.hash)
            batch.put(schema.GENESIS_KEY, block.hash)
            batch.put(schema.HEAD_KEY, block.hash)
            batch.put(schema.COMMITMENT_KEY, encode_uint(COMMITMENT_VERSION))
        log.info("chain initialised genesis=0x%s", block.hash.hex())
        return cls(db, rules)

    # -- reads -------------------------------------------------------------------------------

    def state(self) -> State:
        """A scratch view of the head state (never committed)."""
        return State(self.db)

    @property
    def finalized(self) -> Header:
        """The highest block this chain has ever seen final: no reorg may revert it."""
        return self._load_block(self.checkpoint.hash).header

    def is_finalized(self, block: Block) -> bool:
        """Whether `block` is final: canonical, at or below the finalized block."""
        number = block.number
        return number <= self.checkpoint.number and self.get_canonical_hash(number) == block.hash

    def get_block(self, block_hash: bytes) -> Block | None:
        raw = self.db.get(schema.block_key(block_hash))
        return None if raw is None else self._decode_stored(raw, block_hash)

    def get_canonical_hash(self, number: int) -> bytes | None:
        if number < 0 or number > self.head.number:
            return None
        return self.db.get(schema.canonical_key(number))

    def get_block_by_number(self, number: int) -> Block | None:
        block_hash = self.get_canonical_hash(number)
        return None if block_hash is None else self.get_block(block_hash)

    def get_tx_location(self, tx_hash: bytes) -> TxLocation | None:
        raw = self.db.get(schema.tx_location_key(tx_hash))
        if raw is None:
            return None
        try:
            items = decode_list(rlp_decode(raw, "tx location"), 2, "tx location")
            return TxLocation(decode_fixed(items[0], 32, "block"), decode_uint(items[1], "index"))
        except DecodeError as exc:
            raise DatabaseError(f"corrupt transaction index entry: {exc}") from None

    def journal(self, number: int) -> list[JournalEntry]:
        """The state entries canonical block `number` changed, with their values before it."""
        block_hash = self.get_canonical_hash(number)
        if block_hash is None:
            raise DatabaseError(f"canonical block #{number} is missing")
        return decode_journal(self._require(schema.journal_key(block_hash)))

    def get_canonical_header(self, number: int) -> Header | None:
        """The canonical header at `number`, also below a snapshot's block (where the node may
        hold the header without its body)."""
        block_hash = self.get_canonical_hash(number)
        if block_hash is None:
            return None
        block = self.get_block(block_hash)
        if block is not None:
            return block.header
        raw = self.db.get(schema.header_key(block_hash))
        try:
            return None if raw is None else Header.decode(raw)
        except DecodeError as exc:
            raise DatabaseError(f"stored header 0x{block_hash.hex()} is corrupt: {exc}") from None

    def iter_canonical(self, start: int = 0) -> Iterator[Block]:
        """The canonical blocks from `start` (from the snapshot block, on a node that started
        from one: it holds no bodies below it)."""
        for number in range(max(start, self.anchor), self.head.number + 1):
            block = self.get_block_by_number(number)
            if block is None:
                raise DatabaseError(f"canonical block #{number} is missing")
            yield block

    # -- writes ------------------------------------------------------------------------------

    def import_block(self, block: Block, *, now_ms: int | None = None) -> ImportResult:
        """Extend the head with `block`, store it on a side branch, or reorg to its branch.

        Raises BlockAlreadyKnown, UnknownParent or InvalidBlock and leaves the canonical chain
        as it was; a reorg that meets an invalid block deletes it and its stored descendants.
        """
        parent = self._check_new(block)
        if parent.hash == self.head.hash:
            return self._extend_head(block, now_ms)
        self._check_side_block(block, parent, now_ms)
        fork, branch = self._branch_of(block, parent)
        if is_better(block.header, self.head):
            return self._reorg(fork, branch)
        self._check_branch_producer(block, fork, on_fork=len(branch) == 1)
        self.side.check_room(block)
        with self.side.batch() as batch:
            self._store(batch, block)
            self.side.add(batch, block)
        log.debug("side block #%d 0x%s", block.number, block.hash.hex()[:16])
        return ImportResult("side")

    def revert_head(self) -> Header:
        """Undo the head block with its journal and forget it, so it can be imported again.

        An operator's tool: fork choice is not re-run over the side blocks it leaves better.
        """
        if self.head.number == 0:
            raise DatabaseError("cannot revert the genesis block")
        finalized = self.checkpoint.number
        if self.head.number <= finalized:
            raise DatabaseError(
                f"cannot revert block #{self.head.number}: it is final "
                f"(finalized height #{finalized})"
            )
        block = self._load_block(self.head.hash)
        parent = self._load_block(block.header.parent_hash).header
        with self.side.batch() as batch:
            self._undo_block(batch, block)
            self._delete_branch(batch, block)
        self.head = parent
        return parent

    # -- import steps ------------------------------------------------------------------------

    def _check_new(self, block: Block) -> Block:
        """Refuse known, known-invalid and orphan blocks; return the parent."""
        label = f"#{block.number} 0x{block.hash.hex()[:16]}.."
        if block.hash in self._invalid:
            raise InvalidBlock(f"known invalid block {label}")
        if self.db.exists(schema.block_key(block.hash)):
            raise BlockAlreadyKnown(f"block {label} already known")
        parent_hash = block.header.parent_hash
        if parent_hash in self._invalid:
            self._remember_invalid(block)
            raise InvalidBlock(
                f"block {label} builds on known invalid block 0x{parent_hash.hex()[:16]}.."
            )
        if not self.db.exists(schema.block_key(parent_hash)):
            raise UnknownParent(f"unknown parent 0x{parent_hash.hex()[:16]}..")
        return self._load_block(parent_hash)

    def _extend_head(self, block: Block, now_ms: int | None) -> ImportResult:
        state = State(self.db)
        check_not_future(state, block, now_ms)
        try:
            executed = execute_block(self.db, block, self.rules)
            with self.side.batch() as batch:
                self._write_executed(batch, block, executed.diff)
                self._store(batch, block)
                checkpoint = self._advance_checkpoint(batch, State(batch), [block])
        except InvalidBlock:
            self._remember_invalid(block)
            raise
        self._set_head(block.header, checkpoint)
        return ImportResult("head", (block,), (), (executed.ctx,))

    def _check_side_block(self, block: Block, parent: Block, now_ms: int | None) -> None:
        """The checks that need no state: a side block is validated in full only by a reorg."""
        state = State(self.db)
        process_block_form(state, block)  # limits of the head's WSC, tx_root, signature
        if block.number != parent.number + 1:
            raise InvalidBlock(f"block number {block.number} does not follow {parent.number}")
        if block.slot <= parent.slot:
            raise InvalidBlock(f"slot {block.slot} is not after the parent's slot {parent.slot}")
        check_not_future(state, block, now_ms)

    def _check_branch_producer(self, block: Block, fork: Header, *, on_fork: bool) -> None:
        """The producer scheduled for the side block's slot on its branch, when our chain
        determines it and the fork's state is at hand; otherwise a reorg checks it."""
        if not schedule_known(self.state().params.epoch_slots, block, fork, on_fork):
            return
        try:
            state = State(self._reader_at(fork))
        except StateUnavailable as exc:
            log.debug("side block #%d producer not checked: %s", block.number, exc)
            return
        try:
            check_producer(block.header, scheduled_producer(state, block.slot, self.rules))
        except InvalidBlock:
            self._remember_invalid(block)
            raise

    def _reader_at(self, fork: Header) -> Readable:
        """The database as it read after canonical `fork`; the last one is kept until the head
        moves (the blocks of one branch share their fork)."""
        key = (self.head.hash, fork.hash)
        if self._past is None or self._past[0] != key:
            self._past = (key, past_reader(self, fork.number))
        return self._past[1]

    def _branch_of(self, block: Block, parent: Block) -> tuple[Header, list[Block]]:
        """The fork point (the last canonical ancestor) and the blocks above it, up to `block`.

        Every block of the branch must be above the finalized height (so the fork point is at or
        above it): the walk stops there, bounded by the unfinalized part of the chain.
        """
        finalized = self.checkpoint.number
        conflict = f"block #{block.number} conflicts with finalized block #{finalized}"
        if block.number <= finalized:
            raise ConflictsWithFinalized(conflict)
        branch, cursor = [block], parent
        while self.get_canonical_hash(cursor.number) != cursor.hash:
            if cursor.number <= finalized:
                raise ConflictsWithFinalized(conflict)
            branch.append(cursor)
            cursor = self._load_block(cursor.header.parent_hash)
        branch.reverse()
        return cursor.header, branch

    def _reorg(self, fork: Header, branch: list[Block]) -> ImportResult:
        """In one batch: undo the canonical blocks above `fork`, apply `branch` in full."""
        reverted = [self._load_block(self.head.hash)]
        while reverted[-1].header.parent_hash != fork.hash:
            reverted.append(self._load_block(reverted[-1].header.parent_hash))
        contexts: list[BlockContext] = []
        current = branch[0]
        try:
            with self.side.batch() as batch:
                self._store(batch, branch[-1])
                for block in reverted:
                    self._undo_block(batch, block)
                    self.side.add(batch, block)
                for current in branch:
                    # read through the batch: the state after the blocks undone or applied
                    executed = execute_block(batch, current, self.rules)
                    contexts.append(executed.ctx)
                    self._write_executed(batch, current, executed.diff)
                    self.side.remove(batch, current)
                checkpoint = self._advance_checkpoint(batch, State(batch), branch)
        except InvalidBlock as exc:
            self._forget_invalid(current, branch[-1])
            raise InvalidBlock(
                f"block #{current.number} 0x{current.hash.hex()[:16]}.. on the branch of "
                f"#{branch[-1].number}: {exc}"
            ) from None
        self._set_head(branch[-1].header, checkpoint)
        log.info(
            "reorg to #%d 0x%s from #%d: %d blocks reverted, %d applied",
            self.head.number,
            self.head.hash.hex()[:16],
            fork.number,
            len(reverted),
            len(branch),
        )
        return ImportResult("reorg", tuple(branch), tuple(reverted), tuple(contexts))

    def _forget_invalid(self, bad: Block, tip: Block) -> None:
        """Delete `bad` and its stored descendants; refuse them (and `tip`) from now on."""
        self._remember_invalid(tip)
        with self.side.batch() as batch:
            for block in self._delete_branch(batch, bad):
                self._remember_invalid(block)

    def _remember_invalid(self, block: Block) -> None:
        # A body that does not match its header's tx_root says nothing about the header: the
        # genuine block (same hash) may still arrive, so only a consistent block is remembered.
        if compute_tx_root(block.transactions) != block.header.tx_root:
            return
        self._invalid[block.hash] = None
        if len(self._invalid) > MAX_KNOWN_INVALID:
            del self._invalid[next(iter(self._invalid))]

    # -- finality ----------------------------------------------------------------------------

    def _set_head(self, head: Header, checkpoint: Checkpoint) -> None:
        """Record a written head; a higher checkpoint prunes the side blocks it left behind."""
        advanced = checkpoint.number > self.checkpoint.number
        self.head, self.checkpoint = head, checkpoint
        if advanced:
            self._prune_side_blocks()

    def _prune_side_blocks(self) -> None:
        """Delete the side blocks at or below the finalized height, and their descendants:
        no branch through them can become canonical."""
        hashes = self.side.at_or_below(self.checkpoint.number)
        if not hashes:
            return
        deleted: set[bytes] = set()
        with self.side.batch() as batch:
            for block_hash in hashes:  # lowest first: a branch goes with its lowest block
                if block_hash not in deleted:
                    branch = self._delete_branch(batch, self._load_block(block_hash))
                    deleted.update(block.hash for block in branch)
        log.info("pruned side blocks=%d finalized=#%d", len(deleted), self.checkpoint.number)

    def _load_checkpoint(self) -> Checkpoint:
        raw = self.db.get(schema.FINALIZED_KEY)
        if raw is None:  # a database from before the checkpoint was kept: the head's view
            number = self.state().chain.finalized
            return Checkpoint(number, self._require(schema.canonical_key(number)))
        try:
            return Checkpoint.decode(raw)
        except DecodeError as exc:
            raise DatabaseError(f"corrupt finalized checkpoint: {exc}") from None

    def _advance_checkpoint(
        self, batch: WriteBatch, state: State, applied: list[Block]
    ) -> Checkpoint:
        """Raise the checkpoint to the new head state's finalized block, if that is higher;
        `applied` are the blocks just made canonical (the last one the new head)."""
        number = state.chain.finalized
        if number <= self.checkpoint.number:
            return self.checkpoint
        first = applied[0].number
        if number >= first:
            block_hash = applied[number - first].hash
        else:
            block_hash = self._require(schema.canonical_key(number))
        checkpoint = Checkpoint(number, block_hash)
        batch.put(schema.FINALIZED_KEY, checkpoint.encode())
        return checkpoint

    # -- batch writes ------------------------------------------------------------------------

    def _store(self, batch: WriteBatch, block: Block) -> None:
        batch.put(schema.block_key(block.hash), block.encode())
        batch.put(schema.child_key(block.header.parent_hash, block.hash), b"")

    def _write_executed(self, batch: WriteBatch, block: Block, diff: StateDiff) -> None:
        """Write the state `block` gave (if its root is the header's) and its indexes."""
        check_state_root(block, diff.root)
        self._write_canonical_block(batch, block, diff.write(batch))

    def _write_canonical_block(self, batch: WriteBatch, block: Block, journal: list) -> None:
        batch.put(schema.journal_key(block.hash), encode_journal(journal))
        for index, tx in enumerate(block.transactions):
            batch.put(schema.tx_location_key(tx.hash), rlp_encode([block.hash, encode_uint(index)]))
        batch.put(schema.canonical_key(block.number), block.hash)
        batch.put(schema.HEAD_KEY, block.hash)

    def _undo_block(self, batch: WriteBatch, block: Block) -> None:
        """Undo canonical `block` (the batch's current head) and drop it from the indexes."""
        journal = decode_journal(self._require(schema.journal_key(block.hash)))
        parent = self._load_block(block.header.parent_hash).header
        root = undo_journal(batch, journal)
        if root != parent.state_root:
            raise DatabaseError(
                f"undoing block #{block.number} gave state root 0x{root.hex()}, "
                f"expected the parent's 0x{parent.state_root.hex()}"
            )
        for tx in block.transactions:
            batch.delete(schema.tx_location_key(tx.hash))
        batch.delete(schema.canonical_key(block.number))
        batch.delete(schema.journal_key(block.hash))
        batch.put(schema.HEAD_KEY, parent.hash)

    def _delete_branch(self, batch: WriteBatch, root: Block) -> list[Block]:
        """Delete stored `root` and every stored descendant; return the blocks deleted."""
        deleted, pending = [], [root]
        while pending:
            block = pending.pop()
            deleted.append(block)
            batch.delete(schema.block_key(block.hash))
            batch.delete(schema.child_key(block.header.parent_hash, block.hash))
            self.side.remove(batch, block)
            for key, _ in self.db.iterate(schema.children_prefix(block.hash)):
                child = self.get_block(key[-32:])
                if child is not None:
                    pending.append(child)
        return deleted

    # -- helpers -----------------------------------------------------------------------------

    def _require(self, key: bytes) -> bytes:
        value = self.db.get(key)
        if value is None:
            raise DatabaseError(f"database is inconsistent: missing {key!r}")
        return value

    def _load_block(self, block_hash: bytes) -> Block:
        return self._decode_stored(self._require(schema.block_key(block_hash)), block_hash)

    @staticmethod
    def _decode_stored(raw: bytes, block_hash: bytes) -> Block:
        try:
            return Block.decode(raw)
        except DecodeError as exc:
            raise DatabaseError(f"stored block 0x{block_hash.hex()} is corrupt: {exc}") from None
