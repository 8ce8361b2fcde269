"""An in-memory backend for tests and throwaway chains; the conformance tests hold it to
exactly the behaviour of LevelDB, so code tested against it behaves the same on disk."""

import weakref
from collections.abc import Iterator, Mapping

from sortedcontainers import SortedList

from porchain.db.abc import Database, ReadOnly, prefix_end, require_bytes
from porchain.errors import DatabaseError

_MISSING = object()


class MemoryDB(Database):
    """A dict and its keys in byte order (a sorted list of sublists: a key is added or removed
    in logarithmic time, and a prefix scan starts at its first key instead of testing every
    key). A scan reads lazily, as a LevelDB iterator does, and ignores later writes as one
    does: a write first copies what the open scans have still to read."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._keys = SortedList()  # the keys of _data
        self._scans: weakref.WeakSet[_Scan] = weakref.WeakSet()
        self._closed = False

    def _store(self) -> dict[bytes, bytes]:
        if self._closed:
            raise DatabaseError("database is closed")
        return self._data

    def get(self, key: bytes) -> bytes | None:
        require_bytes(key)
        return self._store().get(key)

    def put(self, key: bytes, value: bytes) -> None:
        require_bytes(key, value)
        self._commit({key: value})

    def delete(self, key: bytes) -> None:
        require_bytes(key)
        self._commit({key: None})

    def iterate(
        self, prefix: bytes = b"", *, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        require_bytes(prefix)
        store = self._store()
        keys = self._keys.irange(prefix, prefix_end(prefix), (True, False), reverse=reverse)
        scan = _Scan(store, keys)
        self._scans.add(scan)
        return scan

    def _commit(self, changes: Mapping[bytes, bytes | None]) -> None:
        store = self._store()
        self._freeze_scans()
        for key, value in changes.items():
            if value is None:
                if store.pop(key, _MISSING) is not _MISSING:
                    self._keys.remove(key)
            else:
                if key not in store:
                    self._keys.add(key)
                store[key] = value

    def _freeze_scans(self) -> None:
        if self._scans:
            for scan in list(self._scans):
                scan.freeze()
            self._scans = weakref.WeakSet()

    def close(self) -> None:
        self._freeze_scans()
        self._closed = True

    def snapshot(self) -> Database:
        return _MemorySnapshot(dict(self._store()), self._keys.copy())


class _Scan(Iterator[tuple[bytes, bytes]]):
    """A scan's (key, value) pairs, read as they are asked for until `freeze` copies the rest
    (before the database changes)."""

    def __init__(self, store: dict[bytes, bytes], keys: Iterator[bytes]) -> None:
        self._store = store
        self._keys = keys
        self._rest: Iterator[tuple[bytes, bytes]] | None = None

    def __next__(self) -> tuple[bytes, bytes]:
        if self._rest is not None:
            return next(self._rest)
        key = next(self._keys)
        return key, self._store[key]

    def freeze(self) -> None:
        if self._rest is None:
            self._rest = iter([(key, self._store[key]) for key in self._keys])


class _MemorySnapshot(ReadOnly, MemoryDB):
    """A copy of the data as it was (memory is for tests: the copy's cost does not matter)."""

    def __init__(self, data: dict[bytes, bytes], keys: SortedList) -> None:
        super().__init__()
        self._data = data
        self._keys = keys
