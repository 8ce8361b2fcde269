"""The on-disk backend: LevelDB through plyvel.

plyvel's errors carry raw LevelDB messages; opening translates the common ones (another
node holds the lock, no database yet, corruption) into a DatabaseError that says what to do.
"""

from collections.abc import Iterator, Mapping
from itertools import takewhile
from pathlib import Path
from typing import Any

import plyvel

from porchain.db.abc import Database, ReadOnly, require_bytes
from porchain.errors import DatabaseError


def _detail(exc: Exception) -> str:
    """plyvel puts the LevelDB status in args[0] as bytes."""
    arg = exc.args[0] if exc.args else exc
    return arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)


def _prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key above every key that starts with prefix; None if there is none."""
    stem = prefix.rstrip(b"\xff")
    return stem[:-1] + bytes([stem[-1] + 1]) if stem else None


def _open(path: Path, create: bool) -> plyvel.DB:
    if not create and not (path / "CURRENT").exists():
        raise DatabaseError(f"no database at {path} (run `porchain init` first)")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        return plyvel.DB(str(path), create_if_missing=create)
    except plyvel.CorruptionError as exc:
        raise DatabaseError(f"database at {path} is corrupt: {_detail(exc)}") from exc
    except plyvel.IOError as exc:
        if _detail(exc).startswith("IO error: lock "):
            raise DatabaseError(
                f"data directory {path} is in use by another porchain process (stop it first)"
            ) from exc
        raise DatabaseError(f"cannot open database at {path}: {_detail(exc)}") from exc
    except plyvel.Error as exc:
        if "does not exist" in _detail(exc):
            raise DatabaseError(f"no database at {path} (run `porchain init` first)") from exc
        raise DatabaseError(f"cannot open database at {path}: {_detail(exc)}") from exc
    except OSError as exc:
        raise DatabaseError(f"cannot open database at {path}: {exc}") from exc


class LevelDB(Database):
    """A LevelDB directory; with sync (the default) every write is flushed before returning."""

    def __init__(self, path: Path, *, create: bool = True, sync: bool = True) -> None:
        self.path = Path(path)
        self._sync = sync
        self._db = _open(self.path, create)

    def _handle(self) -> plyvel.DB:
        if self._db.closed:
            raise DatabaseError(f"database at {self.path} is closed")
        return self._db

    def get(self, key: bytes) -> bytes | None:
        require_bytes(key)
        value: bytes | None = self._handle().get(key)
        return value

    def put(self, key: bytes, value: bytes) -> None:
        require_bytes(key, value)
        self._handle().put(key, value, sync=self._sync)

    def delete(self, key: bytes) -> None:
        require_bytes(key)
        self._handle().delete(key, sync=self._sync)

    def iterate(
        self, prefix: bytes = b"", *, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return _iterate(self._handle(), prefix, reverse)

    def _commit(self, changes: Mapping[bytes, bytes | None]) -> None:
        # One LevelDB write: it lands entirely or not at all, even across a crash.
        with self._handle().write_batch(transaction=True, sync=self._sync) as batch:
            for key, value in changes.items():
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)

    def close(self) -> None:
        self._db.close()

    def snapshot(self) -> Database:
        return _LevelSnapshot(self._handle().snapshot(), self.path)


def _iterate(source: Any, prefix: bytes, reverse: bool) -> Iterator[tuple[bytes, bytes]]:
    require_bytes(prefix)
    # plyvel creates the LevelDB iterator (and its implicit snapshot) right here, at call time.
    if not reverse:
        items: Iterator[tuple[bytes, bytes]] = source.iterator(prefix=prefix or None)
        return items
    # plyvel 1.5's reverse iterator with a start bound (which prefix= sets) yields nothing
    # when the last key in range equals the start, so bound only the top and stop ourselves.
    items = source.iterator(stop=_prefix_end(prefix), reverse=True)
    return takewhile(lambda item: item[0].startswith(prefix), items)


class _LevelSnapshot(ReadOnly):
    """A LevelDB snapshot: reads see the database as it was when it was taken."""

    def __init__(self, snapshot: Any, path: Path) -> None:
        self._snapshot: Any = snapshot  # a plyvel Snapshot; None once closed
        self.path = path

    def _handle(self) -> Any:
        if self._snapshot is None:
            raise DatabaseError(f"snapshot of the database at {self.path} is closed")
        return self._snapshot

    def get(self, key: bytes) -> bytes | None:
        require_bytes(key)
        value: bytes | None = self._handle().get(key)
        return value

    def iterate(
        self, prefix: bytes = b"", *, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return _iterate(self._handle(), prefix, reverse)

    def close(self) -> None:
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None
