"""A producer's log of its blocks: where each came from and what it was worth.

One entry per slot we produced for: the source (`local`, or the relay and builder whose bid we
signed), the value of the signed block to us and of our own local build, why a bid was not
taken, and, once its validation pool resolves, the pool's outcome. It is operators' data (a
JSON value per entry, `schema.produced_key`), not consensus, and keeps the last `KEEP` entries.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from porchain.db import schema
from porchain.db.abc import Database

KEEP = 1024
LOCAL = "local"
RELAY = "relay"


@dataclass
class Produced:
    slot: int
    number: int
    block_hash: str  # 0x hex of the signed block's hash
    source: str  # LOCAL or RELAY
    value: str  # `$` base units the signed block gains us (decimal: it may be negative)
    local_value: str  # what our own block would have
    relay: str | None = None  # checksummed addresses, when the block is a builder's
    builder: str | None = None
    fallback: str | None = None  # why we signed our own block though a relay bid
    outcome: str | None = None  # the pool's status name once resolved
    local_ms: int | None = None  # how long our own block took to build
    relay_ms: int | None = None  # how long asking relays took, header to checked body

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ProductionLog:
    def __init__(self, db: Database, keep: int = KEEP) -> None:
        self.db, self.keep = db, keep
        self.entries: deque[Produced] = deque()
        for _, raw in db.iterate(schema.PRODUCED_PREFIX):
            try:
                self.entries.append(Produced(**json.loads(raw)))
            except (ValueError, TypeError):
                continue  # an entry of another version: not worth failing a start for
        self._trim()

    def add(self, entry: Produced) -> None:
        self.entries.append(entry)
        self.save(entry)
        self._trim()

    def save(self, entry: Produced) -> None:
        self.db.put(schema.produced_key(entry.slot), json.dumps(entry.to_json()).encode())

    def unresolved(self) -> list[Produced]:
        return [e for e in self.entries if e.outcome is None]

    def recent(self, count: int) -> list[Produced]:
        return list(self.entries)[-count:]

    def _trim(self) -> None:
        while len(self.entries) > self.keep:
            self.db.delete(schema.produced_key(self.entries.popleft().slot))
