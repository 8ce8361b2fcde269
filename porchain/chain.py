"""The chain: blocks, their indexes and the head state, kept consistent in one database.

Every block import is one atomic write batch (block, transaction index, state changes, undo
journal, canonical index and head pointer): a crash at any point leaves the previous head intact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from porchain.consensus.modules import BlockContext, Rules
from porchain.consensus.transition import process_block
from porchain.db import schema
from porchain.db.abc import Database, WriteBatch
from porchain.db.memory import MemoryDB
from porchain.errors import DatabaseError, DecodeError, InvalidBlock
from porchain.genesis import Genesis
from porchain.state.lthash import LtHash
from porchain.state.state import State, decode_journal, encode_journal, undo_journal
from porchain.types.blocks import Block, Header
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


@dataclass(frozen=True, slots=True)
class TxLocation:
    block_hash: bytes
    index: int


def slot_start_ms(state: State, slot: int) -> int:
    return state.chain.genesis_time_ms + slot * state.params.slot_ms


class Chain:
    def __init__(self, db: Database, rules: Rules) -> None:
        self.db = db
        self.rules = rules
        head_hash = db.get(schema.HEAD_KEY)
        if head_hash is None:
            raise DatabaseError("the data directory holds no chain (run `porchain init` first)")
        self.head = self._load_block(head_hash).header
        self.genesis_hash = self._require(schema.GENESIS_KEY)

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
        log.info("chain initialised genesis=0x%s", block.hash.hex())
        return cls(db, rules)

    # -- reads -------------------------------------------------------------------------------

    def state(self) -> State:
        """A scratch view of the head state (never committed)."""
        return State(self.db)

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

    def iter_canonical(self, start: int = 0) -> Iterator[Block]:
        for number in range(start, self.head.number + 1):
            block = self.get_block_by_number(number)
            if block is None:
                raise DatabaseError(f"canonical block #{number} is missing")
            yield block

    # -- writes ------------------------------------------------------------------------------

    def import_block(self, block: Block, *, now_ms: int | None = None) -> BlockContext:
        """Validate `block` on the head and make it the new head, or raise InvalidBlock."""
        # Only a canonical block is "known": one undone by revert_head may be imported again.
        if self.get_canonical_hash(block.number) == block.hash:
            raise InvalidBlock(f"block #{block.number} 0x{block.hash.hex()[:16]}.. already known")
        if block.header.parent_hash != self.head.hash:
            if self.db.exists(schema.block_key(block.header.parent_hash)):
                raise InvalidBlock(
                    f"block #{block.number} does not build on the head #{self.head.number} "
                    "(competing branch)"
                )
            raise InvalidBlock(f"unknown parent 0x{block.header.parent_hash.hex()[:16]}..")
        state = State(self.db)
        if now_ms is not None and slot_start_ms(state, block.slot) > now_ms + MAX_FUTURE_DRIFT_MS:
            raise InvalidBlock(f"block slot {block.slot} has not started yet (clock skew?)")
        ctx = process_block(state, block, self.rules)
        with self.db.atomic_batch() as batch:
            root, journal = state.commit(batch)
            if root != block.header.state_root:
                raise InvalidBlock(
                    f"state_root mismatch: the block says 0x{block.header.state_root.hex()}, "
                    f"the rules give 0x{root.hex()}"
                )
            self._write_canonical_block(batch, block, journal)
        self.head = block.header
        return ctx

    def revert_head(self) -> Header:
        """Undo the head block with its journal; the parent becomes the head again."""
        if self.head.number == 0:
            raise DatabaseError("cannot revert the genesis block")
        block = self._load_block(self.head.hash)
        journal = decode_journal(self._require(schema.journal_key(block.hash)))
        parent = self._load_block(block.header.parent_hash).header
        with self.db.atomic_batch() as batch:
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
        self.head = parent
        return parent

    def _write_canonical_block(self, batch: WriteBatch, block: Block, journal: list) -> None:
        batch.put(schema.block_key(block.hash), block.encode())
        batch.put(schema.journal_key(block.hash), encode_journal(journal))
        for index, tx in enumerate(block.transactions):
            batch.put(schema.tx_location_key(tx.hash), rlp_encode([block.hash, encode_uint(index)]))
        batch.put(schema.canonical_key(block.number), block.hash)
        batch.put(schema.HEAD_KEY, block.hash)

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
