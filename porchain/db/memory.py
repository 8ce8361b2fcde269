"""An in-memory backend for tests and throwaway chains; the conformance tests hold it to
exactly the behaviour of LevelDB, so code tested against it behaves the same on disk."""

from collections.abc import Iterator, Mapping

from porchain.db.abc import Database, ReadOnly, require_bytes
from porchain.errors import DatabaseError


class MemoryDB(Database):
    """A dict; iteration sorts a snapshot of the matching keys taken when it is called."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
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
        self._store()[key] = value

    def delete(self, key: bytes) -> None:
        require_bytes(key)
        self._store().pop(key, None)

    def iterate(
        self, prefix: bytes = b"", *, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        require_bytes(prefix)
        matching = [(k, v) for k, v in self._store().items() if k.startswith(prefix)]
        return iter(sorted(matching, reverse=reverse))

    def _commit(self, changes: Mapping[bytes, bytes | None]) -> None:
        store = self._store()
        for key, value in changes.items():
            if value is None:
                store.pop(key, None)
            else:
                store[key] = value

    def close(self) -> None:
        self._closed = True

    def snapshot(self) -> Database:
        return _MemorySnapshot(dict(self._store()))


class _MemorySnapshot(ReadOnly, MemoryDB):
    """A copy of the data as it was (memory is for tests: the copy's cost does not matter)."""

    def __init__(self, data: dict[bytes, bytes]) -> None:
        super().__init__()
        self._data = data
