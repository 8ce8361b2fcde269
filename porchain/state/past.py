"""The state after an earlier canonical block, read through the blocks' undo journals.

Each canonical block keeps the values it overwrote (its journal). Reading those journals from
the head down to block N+1 gives every entry that changed since block N, with its value then;
the rest of the state is unchanged, so block N's state is the head state seen through them.
Nothing is written. The cost grows with the blocks walked, so a node answers for the last
`PAST_STATE_BLOCKS` blocks (geth, without an archive, keeps 128).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from porchain.db import schema
from porchain.errors import DatabaseError, PorchainError
from porchain.state.lthash import LtHash
from porchain.state.state import JournalEntry, Readable, State, decode_journal, load_lthash

if TYPE_CHECKING:
    from porchain.chain import Chain

PAST_STATE_BLOCKS = 1024


class StateUnavailable(PorchainError):
    """The state of a block this node does not serve: too old, or not on the chain yet."""


class _Before(Readable):
    """Reads the database as it was: entries changed since then answer their old value."""

    def __init__(self, db: Readable, old: dict[bytes, bytes | None]) -> None:
        self._db = db
        self._old = old  # database key -> value then (None: absent then)

    def get(self, key: bytes) -> bytes | None:
        return self._old[key] if key in self._old else self._db.get(key)


def state_at(chain: Chain, number: int) -> State:
    """The state after canonical block `number`, for reading (never committed)."""
    return State(past_reader(chain, number))


def past_reader(chain: Chain, number: int) -> Readable:
    """The database as it read after canonical block `number`."""
    return past_view(chain.db, number, PAST_STATE_BLOCKS)


def past_view(reader: Readable, number: int, max_blocks: int, *, root: bool = False) -> Readable:
    """`reader` (a database, a write batch, or itself a past view) as it read after canonical
    block `number`, reading the journals of at most `max_blocks` blocks, from `reader`'s own
    block down. With `root`, the view's lattice hash is block `number`'s too, so a state on it
    computes state roots (re-running a block on it, as evidence of an invalid block does)."""
    old = changed_since(reader, number, max_blocks)
    if root:
        old[schema.LTHASH_KEY] = _lthash_before(reader, old).to_bytes()
    return _Before(reader, old)


def anchor_of(reader: Readable) -> int:
    """The block a snapshot bootstrapped this database at (0: it started from genesis): the
    oldest block with a state, and with a body."""
    raw = reader.get(schema.ANCHOR_KEY)
    return 0 if raw is None else int.from_bytes(raw[:8], "big")


def changed_since(reader: Readable, number: int, max_blocks: int) -> dict[bytes, bytes | None]:
    """Every database key of a state entry changed after canonical block `number`, with its
    value then (None: absent then), from the journals of at most `max_blocks` blocks."""
    head = State(reader).chain.number
    if number > head:
        raise StateUnavailable(f"block #{number} is not on the chain yet (head #{head})")
    if head - number > max_blocks:
        raise StateUnavailable(
            f"the state of block #{number} is {head - number} blocks old; this node serves "
            f"the state of the last {max_blocks} blocks"
        )
    anchor = anchor_of(reader)
    if number < anchor:
        raise StateUnavailable(
            f"this node started from a snapshot of block #{anchor}: it has no state before it"
        )
    old: dict[bytes, bytes | None] = {}
    for n in range(head, number, -1):  # newest first: an older block's old value wins
        for key, value in _journal(reader, n):
            old[schema.state_db_key(key)] = value
    return old


def _journal(reader: Readable, number: int) -> list[JournalEntry]:
    block_hash = reader.get(schema.canonical_key(number))
    raw = None if block_hash is None else reader.get(schema.journal_key(block_hash))
    if raw is None:
        raise DatabaseError(f"the journal of canonical block #{number} is missing")
    return decode_journal(raw)


def _lthash_before(reader: Readable, old: dict[bytes, bytes | None]) -> LtHash:
    """The lattice hash of `reader`'s state with the entries of `old` set back to their values
    then."""
    skip = len(schema.STATE_PREFIX)
    lthash = load_lthash(reader)
    current = {key: reader.get(key) for key in old}
    lthash.update(
        added=[(key[skip:], value) for key, value in old.items() if value is not None],
        removed=[(key[skip:], value) for key, value in current.items() if value is not None],
    )
    return lthash
