"""Key-value storage behind one small interface, so the chain never depends on a backend."""

from porchain.db.abc import Database, WriteBatch
from porchain.db.level import LevelDB
from porchain.db.memory import MemoryDB

__all__ = ["Database", "LevelDB", "MemoryDB", "WriteBatch"]
