"""Storage faults are loud: the start-up check of a data directory and its finality watermark.

LevelDB (opened with `paranoid_checks`) refuses a database whose files fail their checksums, but
it cannot see what it was never asked to keep: a truncated write-ahead log or a lost table file
comes back as a clean, older database. Two checks of our own catch that before a node runs on it:

- the watermark, a small file beside the tables that records the highest finalized block, written
  (fsync, then an atomic rename) only after the batch that finalized it was synced. A database
  whose canonical chain no longer holds that block has lost synced, final data;
- a bounded walk from the head: the last `STARTUP_WALK` canonical blocks decode, link to their
  parents, sit in the canonical index and have their undo journals; the index ends at the head;
  the stored state commitment is the head's `state_root`.

The whole-chain check (every block, the state entries, the transaction index, the first-seen log)
is `porchain db verify`; it is too slow for every start.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from porchain.chain import Chain
from porchain.consensus.modules import Rules
from porchain.db import schema
from porchain.db.abc import Database
from porchain.db.level import REMEDY, LevelDB
from porchain.errors import DatabaseError
from porchain.state.lthash import COMMITMENT_VERSION
from porchain.state.state import load_lthash
from porchain.types.blocks import Header

log = logging.getLogger(__name__)

WATERMARK_FILE = "PORCHAIN-FINALIZED"  # a name LevelDB neither uses nor removes (even in repair)
STARTUP_WALK = 1024  # canonical blocks below the head checked at every start
CANONICAL_PREFIX = schema.canonical_key(0)[:-8]
RESYNC = "or move it away and `porchain init` a new one to sync again from peers"


class CorruptDatabase(DatabaseError):
    """The data directory opened but its contents are damaged or older than what was synced."""

    def __init__(self, path: Path | None, problem: str) -> None:
        where = f"database at {path}" if path is not None else "database"
        super().__init__(f"{where} is damaged: {problem}; {REMEDY} ({RESYNC})")
        self.problem = problem


@dataclass(frozen=True)
class Mark:
    number: int
    block_hash: bytes


class Watermark:
    """The highest finalized block this data directory is known to have synced to disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mark: Mark | None = None

    @classmethod
    def of(cls, db: LevelDB) -> Watermark:
        return cls(db.path / WATERMARK_FILE)

    def read(self) -> Mark | None:
        """The recorded block, or None if none was ever recorded."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DatabaseError(f"cannot read the finality watermark {self.path}: {exc}") from None
        number, _, block_hash = text.strip().partition(" ")
        try:
            mark = Mark(int(number), bytes.fromhex(block_hash.removeprefix("0x")))
        except ValueError:
            raise CorruptDatabase(None, f"its finality watermark {self.path} is garbled") from None
        if mark.number < 0 or len(mark.block_hash) != 32:
            raise CorruptDatabase(None, f"its finality watermark {self.path} is garbled")
        self._mark = mark
        return mark

    def advance(self, finalized: Header) -> None:
        """Record `finalized` if it is higher than what is recorded. Call it only once the batch
        that finalized it is on disk (LevelDB's synced write has returned)."""
        if self._mark is None:
            self.read()
        if self._mark is not None and finalized.number <= self._mark.number:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with tmp.open("w") as out:
                out.write(f"{finalized.number} 0x{finalized.hash.hex()}\n")
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(self.path)  # a crash before the rename leaves the lower mark: still safe
        except OSError as exc:  # a lagging mark only weakens the check; it never misleads it
            log.warning("cannot record finalized block #%d in %s: %s", finalized.number, tmp, exc)
            return
        self._mark = Mark(finalized.number, finalized.hash)


def check_commitment_version(db: Database, path: Path | None) -> None:
    """Refuse a database whose state roots were computed by another lattice hash version."""
    raw = db.get(schema.COMMITMENT_KEY)
    version = 1 if raw is None else int.from_bytes(raw, "big")
    if version != COMMITMENT_VERSION:
        where = f"database at {path}" if path is not None else "database"
        raise DatabaseError(
            f"{where} was made with state commitment version {version}; this porchain computes "
            f"version {COMMITMENT_VERSION} (docs/decisions.md): create it again "
            "(`porchain init`, `devnet up` in a new directory) or sync it anew"
        )


def check_at_open(chain: Chain, watermark: Watermark | None, *, walk: int = STARTUP_WALK) -> None:
    """Refuse a damaged or rolled-back database with CorruptDatabase; cost bounded by `walk`."""
    db = chain.db
    path = db.path if isinstance(db, LevelDB) else None
    check_commitment_version(db, path)
    if db.exists(schema.BOOTSTRAP_KEY):
        raise CorruptDatabase(
            path,
            "a bootstrap from a snapshot was interrupted; run `porchain node run --snapshot` "
            "with the same snapshot again to finish it",
        )
    head = chain.head
    if db.get(schema.canonical_key(0)) != chain.genesis_hash:
        raise CorruptDatabase(path, "the canonical index does not start at the genesis block")
    last = next(db.iterate(CANONICAL_PREFIX, reverse=True), None)
    top = -1 if last is None else int.from_bytes(last[0][len(CANONICAL_PREFIX) :], "big")
    if top != head.number:
        raise CorruptDatabase(
            path, f"the canonical index ends at #{top} but the head pointer is at #{head.number}"
        )
    if load_lthash(db).root() != head.state_root:
        raise CorruptDatabase(
            path, f"the stored state does not match the state_root of the head #{head.number}"
        )
    _walk_back(chain, path, walk)
    mark = watermark.read() if watermark is not None else None
    if mark is None:
        return
    if mark.number > head.number:
        raise CorruptDatabase(
            path,
            f"it was rolled back: block #{mark.number} was final and on disk, "
            f"but the head is now #{head.number}",
        )
    if chain.get_canonical_hash(mark.number) != mark.block_hash:
        raise CorruptDatabase(
            path,
            f"finalized block #{mark.number} 0x{mark.block_hash.hex()[:16]}.. is no longer "
            "on its canonical chain",
        )
    if chain.checkpoint.number < mark.number:
        raise CorruptDatabase(
            path,
            f"it was rolled back: block #{mark.number} was final and on disk, but the database "
            f"records only #{chain.checkpoint.number} as final",
        )


def _walk_back(chain: Chain, path: Path | None, walk: int) -> None:
    """From the head down `walk` blocks (to the snapshot block at most, on a node that started
    from one): each is stored, decodes, is the canonical block at its height, has its undo
    journal, and its parent is the block below."""
    db = chain.db
    block_hash, number = chain.head.hash, chain.head.number
    for _ in range(min(walk, chain.head.number - chain.anchor + 1)):
        try:
            block = chain.get_block(block_hash)
        except DatabaseError as exc:
            raise CorruptDatabase(path, str(exc)) from None
        if block is None:
            raise CorruptDatabase(path, f"canonical block #{number} is missing")
        if block.hash != block_hash:
            raise CorruptDatabase(
                path, f"the stored block 0x{block_hash.hex()[:16]}.. (#{number}) is another block"
            )
        if block.number != number or db.get(schema.canonical_key(number)) != block_hash:
            raise CorruptDatabase(path, f"the canonical index at #{number} is wrong or missing")
        if number > chain.anchor and not db.exists(schema.journal_key(block_hash)):
            raise CorruptDatabase(path, f"canonical block #{number} has no undo journal")
        block_hash, number = block.header.parent_hash, number - 1


def open_chain(path: Path, rules: Rules) -> tuple[LevelDB, Chain]:
    """Open an existing data directory as `porchain node run` does: refuse it if it is damaged."""
    db = LevelDB(path, create=False)
    try:
        try:
            chain = Chain(db, rules)
        except CorruptDatabase:
            raise
        except DatabaseError as exc:
            raise CorruptDatabase(path, str(exc)) from None
        check_at_open(chain, Watermark.of(db))
        return db, chain
    except BaseException:
        db.close()
        raise
