"""An in-memory backend for tests and throwaway chains; the conformance tests hold it to
exactly the behaviour of LevelDB, so code tested against it behaves the same on disk."""

from bisect import bisect_left, insort
from collections.abc import Iterator, Mapping

from porchain.db.abc import Database, ReadOnly, prefix_end, require_bytes
from porchain.errors import DatabaseError

_MISSING = object()


class MemoryDB(Database):
    """A dict and its keys in byte order: a prefix scan bisects to the matching keys instead
    of testing every key (the scan ran over all of a long simulation's keys on every call).
    Iteration copies the matching pairs when it is called, so later writes do not show."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._keys: list[bytes] = []  # the keys of _data, sorted
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
        self._put(self._store(), key, value)

    def delete(self, key: bytes) -> None:
        require_bytes(key)
        self._delete(self._store(), key)

    def _put(self, store: dict[bytes, bytes], key: bytes, value: bytes) -> None:
        if key not in store:
            insort(self._keys, key)
        store[key] = value

    def _delete(self, store: dict[bytes, bytes], key: bytes) -> None:
        if store.pop(key, _MISSING) is not _MISSING:
            del self._keys[bisect_left(self._keys, key)]

    def iterate(
        self, prefix: bytes = b"", *, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        require_bytes(prefix)
        store, keys = self._store(), self._keys
        start = bisect_left(keys, prefix)
        after = prefix_end(prefix)
        stop = len(keys) if after is None else bisect_left(keys, after, lo=start)
        matching = [(key, store[key]) for key in keys[start:stop]]
        if reverse:
            matching.reverse()
        return iter(matching)

    def _commit(self, changes: Mapping[bytes, bytes | None]) -> None:
        store = self._store()
        for key, value in changes.items():
            if value is None:
                self._delete(store, key)
            else:
                self._put(store, key, value)

    def close(self) -> None:
        self._closed = True

    def snapshot(self) -> Database:
        return _MemorySnapshot(dict(self._store()), list(self._keys))


class _MemorySnapshot(ReadOnly, MemoryDB):
    """A copy of the data as it was (memory is for tests: the copy's cost does not matter)."""

    def __init__(self, data: dict[bytes, bytes], keys: list[bytes]) -> None:
        super().__init__()
        self._data = data
        self._keys = keys
