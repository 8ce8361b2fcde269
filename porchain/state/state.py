"""`State`: the chain state at one block, with one block's worth of changes on top.

Rules read objects through `State` and change them in place; nothing reaches the database until
`commit` writes the changed entries, the updated lattice hash and returns the undo journal, all
into the caller's atomic write batch. A `State` that is never committed is a free scratch copy
(the block builder and RPC reads use it that way).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, TypeVar

from porchain.db import schema
from porchain.db.abc import WriteBatch
from porchain.errors import DatabaseError, DecodeError
from porchain.params import WSCParams
from porchain.state.lthash import LtHash
from porchain.state.objects import (
    Account,
    ActiveWsc,
    AddressList,
    AscMember,
    Beacon,
    ChainInfo,
    EpochRecord,
    GrepQuorum,
    OpenPools,
    Pool,
    PoolRef,
    Salary,
    Schedule,
    Supply,
    UnbondingQueue,
    WscRecord,
)
from porchain.types.codec import decode_bytes, decode_list, rlp_decode, rlp_encode
from porchain.types.records import Record

T = TypeVar("T", bound=Record)
DECODED_ENTRIES = 4096  # state entries kept decoded by their bytes, for every State in the
CACHED_ENTRY_BYTES = 16 * 1024  # process; each at most this long (so at most 64 MiB)


class Readable(Protocol):
    """A database or a write batch: anything state can be read from."""

    def get(self, key: bytes) -> bytes | None: ...


Change = tuple[bytes, bytes | None, bytes | None]  # state key, old value, new value
JournalEntry = tuple[bytes, bytes | None]  # state key, value before the block


Entry = tuple[bytes | None, Record]  # the value in the database, the object read from it


class State:
    def __init__(self, db: Readable, lthash: LtHash | None = None) -> None:
        self._db = db
        self._lthash = lthash  # loaded when first needed: reads never need it
        self._entries: dict[bytes, Entry] = {}
        self._base: dict[bytes, Entry] | None = None  # a forked state's entries, copied on read
        # the active WSC's params_json (the very object) and its decoding, read on every check
        self._params: tuple[bytes, WSCParams] | None = None

    def fork(self) -> State:
        """A state that reads as this one does now, its changes included, and changes apart
        from it: a state advanced through slots once can be handed out many times (a node
        checks every transaction it receives on one). This state must not change after it
        is forked: the fork copies its entries only when it reads them."""
        fork = State(self._db, self._lthash)
        fork._base = self._entries if self._base is None else {**self._base, **self._entries}
        return fork

    # -- typed access ------------------------------------------------------------------------

    def get(self, key: bytes, cls: type[T]) -> T:
        entry = self._entries.get(key)
        if entry is not None:
            return entry[1]  # type: ignore[return-value]
        if self._base is not None and (entry := self._base.get(key)) is not None:
            obj = entry[1].copy()
            self._entries[key] = (entry[0], obj)
            return obj  # type: ignore[return-value]
        raw = self._db.get(schema.state_db_key(key))
        try:
            obj = decode_entry(cls, raw) if raw is not None else cls()
        except DecodeError as exc:
            raise DatabaseError(f"corrupt state entry {key!r}: {exc}") from None
        self._entries[key] = (raw, obj)
        return obj

    def _adopt_base(self) -> None:
        """Copy the entries of the state this one was forked from that it has not read yet."""
        if self._base is None:
            return
        for key, (raw, obj) in self._base.items():
            if key not in self._entries:
                self._entries[key] = (raw, obj.copy())
        self._base = None

    def set(self, key: bytes, obj: Record) -> None:
        """Replace an entry's object (for values rebuilt rather than changed in place)."""
        if key not in self._entries:
            self.get(key, type(obj))
        self._entries[key] = (self._entries[key][0], obj)

    @property
    def reader(self) -> Readable:
        """What the state reads through: the database (or batch, or past view) at the last
        committed block, without this block's changes."""
        return self._db

    def account(self, address: bytes) -> Account:
        return self.get(schema.account_state_key(address), Account)

    @property
    def chain(self) -> ChainInfo:
        return self.get(schema.CHAIN_STATE_KEY, ChainInfo)

    @property
    def supply(self) -> Supply:
        return self.get(schema.SUPPLY_STATE_KEY, Supply)

    @property
    def salary(self) -> Salary:
        return self.get(schema.SALARY_STATE_KEY, Salary)

    @property
    def beacon(self) -> Beacon:
        return self.get(schema.BEACON_STATE_KEY, Beacon)

    def asc_member(self, address: bytes) -> AscMember:
        return self.get(schema.asc_member_state_key(address), AscMember)

    @property
    def asc_members(self) -> AddressList:
        return self.get(schema.ASC_MEMBERS_STATE_KEY, AddressList)

    @property
    def unbonding(self) -> UnbondingQueue:
        return self.get(schema.UNBONDING_STATE_KEY, UnbondingQueue)

    def epoch_record(self, epoch: int) -> EpochRecord:
        return self.get(schema.epoch_state_key(epoch), EpochRecord)

    def schedule(self, epoch: int) -> Schedule:
        return self.get(schema.schedule_state_key(epoch), Schedule)

    def pool(self, pool_id: int) -> Pool:
        return self.get(schema.pool_state_key(pool_id), Pool)

    @property
    def open_pools(self) -> OpenPools:
        return self.get(schema.OPEN_POOLS_STATE_KEY, OpenPools)

    @property
    def grep_quorum(self) -> GrepQuorum:
        return self.get(schema.GREP_QUORUM_STATE_KEY, GrepQuorum)

    def block_pool_id(self, number: int) -> int:
        return self.get(schema.block_pool_state_key(number), PoolRef).pool_id

    @property
    def wsc_id(self) -> int:
        return self.get(schema.ACTIVE_WSC_STATE_KEY, ActiveWsc).wsc_id

    def wsc(self, wsc_id: int) -> WscRecord:
        return self.get(schema.wsc_state_key(wsc_id), WscRecord)

    @property
    def params(self) -> WSCParams:
        """The parameters of the active WSC."""
        record = self.wsc(self.wsc_id)
        if self._params is None or self._params[0] is not record.params_json:
            if not record.params_json:  # an absent record reads as an empty one
                raise DatabaseError(f"state has no WSC #{self.wsc_id} (not initialised?)")
            self._params = (record.params_json, _decode_params(record.params_json))
        return self._params[1]

    # -- commitment --------------------------------------------------------------------------

    def changes(self) -> list[Change]:
        self._adopt_base()
        out = []
        for key, (old, obj) in self._entries.items():
            new = None if obj.is_empty() else obj.encode()
            if new != old:
                out.append((key, old, new))
        return out

    def _updated_lthash(self, changes: list[Change]) -> LtHash:
        if self._lthash is None:
            self._lthash = load_lthash(self._db)
        lthash = self._lthash.copy()
        lthash.update(
            added=[(k, new) for k, _, new in changes if new is not None],
            removed=[(k, old) for k, old, _ in changes if old is not None],
        )
        return lthash

    def root(self) -> bytes:
        return self._updated_lthash(self.changes()).root()

    def diff(self) -> StateDiff:
        """This block's changes and the lattice hash after them, apart from this state."""
        changes = self.changes()
        lthash = self._updated_lthash(changes)
        return StateDiff(tuple(changes), lthash.to_bytes(), lthash.root())

    def commit(self, batch: WriteBatch) -> tuple[bytes, list[JournalEntry]]:
        """Write the changes into `batch`; return the new state root and the undo journal."""
        diff = self.diff()
        journal = diff.write(batch)
        self._lthash = LtHash.from_bytes(diff.lthash)
        for key, _, new in diff.changes:
            self._entries[key] = (new, self._entries[key][1])
        return diff.root, journal


@dataclass(frozen=True)
class StateDiff:
    """What committing a state writes: its changed entries and its new lattice hash. Nothing
    in it is changed after it is made, so one diff can be written into many databases."""

    changes: tuple[Change, ...]
    lthash: bytes  # LtHash.to_bytes()
    root: bytes

    def write(self, batch: WriteBatch) -> list[JournalEntry]:
        """Write the changes and the lattice hash into `batch`; return the undo journal."""
        for key, _, new in self.changes:
            if new is None:
                batch.delete(schema.state_db_key(key))
            else:
                batch.put(schema.state_db_key(key), new)
        batch.put(schema.LTHASH_KEY, self.lthash)
        return [(key, old) for key, old, _ in self.changes]


def decode_entry(cls: type[T], raw: bytes) -> T:
    """`cls.decode(raw)`, from a process-wide cache of decoded entries when `raw` is short:
    every State is a fresh view that decodes what it reads, and the same entries are read by
    many of them (and, in a simulation, by every node). The cache keeps pristine objects and
    hands out copies, since rules change what they read in place."""
    if len(raw) > CACHED_ENTRY_BYTES:
        return cls.decode(raw)
    return _decoded(cls, raw).copy()


@lru_cache(maxsize=DECODED_ENTRIES)
def _decoded(cls: type[T], raw: bytes) -> T:
    return cls.decode(raw)


@lru_cache(maxsize=16)
def _decode_params(params_json: bytes) -> WSCParams:
    return WSCParams.decode(params_json)


def load_lthash(db: Readable) -> LtHash:
    raw = db.get(schema.LTHASH_KEY)
    return LtHash() if raw is None else LtHash.from_bytes(raw)


def encode_journal(journal: list[JournalEntry]) -> bytes:
    return rlp_encode([[key, old or b""] for key, old in journal])


def decode_journal(data: bytes) -> list[JournalEntry]:
    items = decode_list(rlp_decode(data, "journal"), None, "journal")
    out = []
    for item in items:
        key, old = decode_list(item, 2, "journal entry")
        out.append((decode_bytes(key, "key", 256), decode_bytes(old, "value", 2**30) or None))
    return out


def undo_journal(batch: WriteBatch, journal: list[JournalEntry]) -> bytes:
    """Restore every entry a block changed to its value before the block; return the old root."""
    lthash = load_lthash(batch)
    added, removed = [], []
    for key, old in journal:
        current = batch.get(schema.state_db_key(key))
        if current is not None:
            removed.append((key, current))
        if old is None:
            batch.delete(schema.state_db_key(key))
        else:
            added.append((key, old))
            batch.put(schema.state_db_key(key), old)
    lthash.update(added=added, removed=removed)
    batch.put(schema.LTHASH_KEY, lthash.to_bytes())
    return lthash.root()
