"""The storage interface every backend implements, and the one batch they all share.

Block import writes many keys that must land together or not at all; the shared batch
collects them and hands the backend a finished change set only when the `with` block
exits normally, so "atomic" means the same thing on every backend.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from porchain.errors import DatabaseError


def require_bytes(*items: object) -> None:
    """Reject anything but bytes, identically on every backend."""
    for item in items:
        if not isinstance(item, bytes):
            raise TypeError(f"keys and values must be bytes, not {type(item).__name__}")


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key above every key that starts with prefix; None if there is none."""
    stem = prefix.rstrip(b"\xff")
    return stem[:-1] + bytes([stem[-1] + 1]) if stem else None


class WriteBatch(ABC):
    """Pending writes that become visible together when their `with` block ends."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The batch's own pending write or delete of key if any, else the database's value."""

    @abstractmethod
    def put(self, key: bytes, value: bytes) -> None: ...

    @abstractmethod
    def delete(self, key: bytes) -> None: ...


class Database(ABC):
    """A byte-keyed store with ordered prefix iteration and atomic batches."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None: ...

    @abstractmethod
    def put(self, key: bytes, value: bytes) -> None: ...

    @abstractmethod
    def delete(self, key: bytes) -> None:
        """Remove key; removing a missing key is a no-op."""

    @abstractmethod
    def iterate(
        self, prefix: bytes = b"", *, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs whose key starts with prefix, in byte order (or reversed)."""

    @abstractmethod
    def _commit(self, changes: Mapping[bytes, bytes | None]) -> None:
        """Apply every change at once; None means delete."""

    @abstractmethod
    def close(self) -> None:
        """Release the backend; closing twice is harmless, using it afterwards is not."""

    @abstractmethod
    def snapshot(self) -> "Database":
        """A read-only view of the database as it is now, unaffected by later writes (readers
        in other threads see one state, never half a batch); `close` it when done."""

    def exists(self, key: bytes) -> bool:
        return self.get(key) is not None

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, bytes):
            raise TypeError(f"keys must be bytes, not {type(key).__name__}")
        return self.exists(key)

    @contextmanager
    def atomic_batch(self) -> Iterator[WriteBatch]:
        """Yield a batch that is committed on normal exit and discarded if the block raises."""
        batch = _PendingBatch(self)
        try:
            yield batch
        finally:
            changes = batch._finish()
        self._commit(changes)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ReadOnly(Database):
    """Base of snapshots: every write is refused."""

    def put(self, key: bytes, value: bytes) -> None:
        raise DatabaseError("a database snapshot is read-only")

    def delete(self, key: bytes) -> None:
        raise DatabaseError("a database snapshot is read-only")

    def _commit(self, changes: Mapping[bytes, bytes | None]) -> None:
        raise DatabaseError("a database snapshot is read-only")

    def snapshot(self) -> "Database":
        return self


class _PendingBatch(WriteBatch):
    """Collects the last write per key; reads fall through to the database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._changes: dict[bytes, bytes | None] | None = {}

    def _pending(self) -> dict[bytes, bytes | None]:
        if self._changes is None:
            raise DatabaseError("write batch used after its `with` block ended")
        return self._changes

    def _finish(self) -> dict[bytes, bytes | None]:
        changes, self._changes = self._pending(), None
        return changes

    def get(self, key: bytes) -> bytes | None:
        require_bytes(key)
        pending = self._pending()
        return pending[key] if key in pending else self._db.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        require_bytes(key, value)
        self._pending()[key] = value

    def delete(self, key: bytes) -> None:
        require_bytes(key)
        self._pending()[key] = None
