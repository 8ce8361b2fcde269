"""The on-disk backend: LevelDB through plyvel.

plyvel's errors carry raw LevelDB messages; opening translates the common ones (another
node holds the lock, no database yet, corruption) into a DatabaseError that says what to do.
The database is opened with `paranoid_checks`: a record of the write-ahead log or a table that
fails its checksum makes the open (or the read) fail instead of being skipped, so damage is
never a silently shorter chain. A write that fails (a full disk) raises DiskWriteError.

LevelDB's memory is bounded by two settings, fixed here rather than left to its defaults: the
write buffer (the memtable, plus one more while it is written out) and the block cache. The
memtable fills with every write until it is flushed to a table; at LevelDB's default 4 MiB a
node's RSS rose by up to 8% of its 57 MiB between two flushes (issue 10's campaign, where it
was taken for the attack's residue). At 1 MiB that swing is 2%, and block import is as fast
(`benchmarks/transfer_throughput.py`, 3 alternating runs each: 6,472-7,182 transfers/s at
4 MiB, 6,149-7,561 at 1 MiB).
"""

from collections.abc import Iterator, Mapping
from itertools import takewhile
from pathlib import Path
from typing import Any

import plyvel

from porchain.db.abc import Database, ReadOnly, prefix_end, require_bytes
from porchain.errors import DatabaseError, DiskWriteError

REMEDY = "run `porchain db repair`, or restore the data directory from a backup"
LEVELDB_FILES = ("MANIFEST-", "CURRENT")  # names that show LevelDB has used a directory
WRITE_BUFFER_BYTES = 1 << 20  # one memtable; two at most while one is flushed
BLOCK_CACHE_BYTES = 8 << 20  # decompressed table blocks (LevelDB's default, made explicit)


def _detail(exc: Exception) -> str:
    """plyvel puts the LevelDB status in args[0] as bytes."""
    arg = exc.args[0] if exc.args else exc
    return arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)


def holds_leveldb_files(path: Path) -> bool:
    """Whether `path` holds what is left of a LevelDB database (tables, logs, a manifest)."""
    try:
        return any(
            p.name.startswith(LEVELDB_FILES) or p.suffix in (".ldb", ".sst", ".log")
            for p in path.iterdir()
        )
    except OSError:
        return False


def _open(path: Path, create: bool) -> plyvel.DB:
    if not (path / "CURRENT").exists() and holds_leveldb_files(path):
        raise DatabaseError(f"database at {path} is damaged: its CURRENT file is missing; {REMEDY}")
    if not create and not (path / "CURRENT").exists():
        raise DatabaseError(f"no database at {path} (run `porchain init` first)")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        return plyvel.DB(
            str(path),
            create_if_missing=create,
            paranoid_checks=True,
            write_buffer_size=WRITE_BUFFER_BYTES,
            lru_cache_size=BLOCK_CACHE_BYTES,
        )
    except plyvel.CorruptionError as exc:
        raise DatabaseError(f"database at {path} is corrupt: {_detail(exc)}; {REMEDY}") from exc
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


def repair(path: Path) -> None:
    """LevelDB's own repair: rebuild the manifest from the tables and logs that survive, dropping
    what fails its checksums. Run `porchain db verify` afterwards: it may have lost data."""
    if not path.is_dir():
        raise DatabaseError(f"no database at {path}")
    try:
        plyvel.repair_db(str(path))
    except plyvel.Error as exc:
        raise DatabaseError(f"cannot repair the database at {path}: {_detail(exc)}") from exc


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
        return _get(self._handle(), key, self.path)

    def put(self, key: bytes, value: bytes) -> None:
        require_bytes(key, value)
        self._commit({key: value})

    def delete(self, key: bytes) -> None:
        require_bytes(key)
        self._commit({key: None})

    def iterate(
        self, prefix: bytes = b"", *, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return _iterate(self._handle(), prefix, reverse, self.path)

    def _commit(self, changes: Mapping[bytes, bytes | None]) -> None:
        # One LevelDB write: it lands entirely or not at all, even across a crash.
        handle = self._handle()
        try:
            with handle.write_batch(transaction=True, sync=self._sync) as batch:
                for key, value in changes.items():
                    if value is None:
                        batch.delete(key)
                    else:
                        batch.put(key, value)
        except (plyvel.Error, OSError) as exc:
            raise DiskWriteError(_detail(exc)) from exc

    def memory_usage(self) -> int:
        """LevelDB's own estimate of its memory in bytes: memtables and block cache."""
        return int(self._handle().get_property(b"leveldb.approximate-memory-usage") or 0)

    def close(self) -> None:
        self._db.close()

    def snapshot(self) -> Database:
        return _LevelSnapshot(self._handle().snapshot(), self.path)


# Reads shared by the database and its snapshots (`source` is a plyvel DB or Snapshot); every
# read verifies LevelDB's checksums, and a failed one says the database is damaged.


def _read_error(path: Path, exc: plyvel.Error) -> DatabaseError:
    return DatabaseError(f"database at {path} is damaged: {_detail(exc)}; {REMEDY}")


def _get(source: Any, key: bytes, path: Path) -> bytes | None:
    require_bytes(key)
    try:
        value: bytes | None = source.get(key, verify_checksums=True)
    except plyvel.Error as exc:
        raise _read_error(path, exc) from exc
    return value


def _iterate(
    source: Any, prefix: bytes, reverse: bool, path: Path
) -> Iterator[tuple[bytes, bytes]]:
    require_bytes(prefix)
    # plyvel creates the LevelDB iterator (and its implicit snapshot) right here, at call time.
    if not reverse:
        items: Iterator[tuple[bytes, bytes]] = source.iterator(
            prefix=prefix or None, verify_checksums=True
        )
        return _checked(items, path)
    # plyvel 1.5's reverse iterator with a start bound (which prefix= sets) yields nothing
    # when the last key in range equals the start, so bound only the top and stop ourselves.
    items = source.iterator(stop=prefix_end(prefix), reverse=True, verify_checksums=True)
    return _checked(takewhile(lambda item: item[0].startswith(prefix), items), path)


def _checked(items: Iterator[tuple[bytes, bytes]], path: Path) -> Iterator[tuple[bytes, bytes]]:
    try:
        yield from items
    except plyvel.Error as exc:
        raise _read_error(path, exc) from exc


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
        return _get(self._handle(), key, self.path)

    def iterate(
        self, prefix: bytes = b"", *, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return _iterate(self._handle(), prefix, reverse, self.path)

    def close(self) -> None:
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None
