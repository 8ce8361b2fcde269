"""A producer's record of the relays and builders it takes blocks from: its defence.

A producer that signs a builder's block is judged by the validation pool like any other, so
it keeps, for each relay it asks and each builder whose block it was offered, what they did:
bids, wins, faults by kind, and the latency of their answers. mev-boost's relay reputation
milestone asks the same of a proposer's relays. The record decides whom to ask next:

- a *provable* fault (a withheld body after the header was accepted, an invalid block, an
  overstated value, a block that censored by our first-seen log, a block the pool rejected)
  drops the source for good: we hold its signed bid, and nothing an honest relay does causes one;
- a *soft* fault (a timeout, an answer that is not a well-formed bid for what we asked) may be
  the network's: after `SOFT_FAULTS_TO_BENCH` in a row the source is benched for
  `BENCH_SLOTS`, then asked again.

Records are kept in the node's database (`schema.source_record_key`), one per source, so a
restart forgets nothing; builders are named by relays' bids, so at most `MAX_BUILDERS` of them
are kept (the longest unseen without a provable fault go first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from porchain.crypto.keys import to_checksum_address
from porchain.db import schema
from porchain.db.abc import Database
from porchain.types.records import Record

RELAY = b"relay"
BUILDER = b"builder"

# `reported`: another producer's report of a withheld body (porchain.pbs.fraud), which cannot
# be proven. Kinds are stored by their index: new ones go at the end.
FAULT_KINDS = (
    "timeout",
    "bad_bid",
    "withheld",
    "invalid",
    "overstated",
    "censoring",
    "rejected",
    "reported",
)
SOFT_FAULTS = ("timeout", "bad_bid", "reported")
PROVABLE_FAULTS = tuple(kind for kind in FAULT_KINDS if kind not in SOFT_FAULTS)

SOFT_FAULTS_TO_BENCH = 3
BENCH_SLOTS = 32
MAX_BUILDERS = 256


@dataclass(slots=True)
class SourceRecord(Record):
    role: bytes = b""
    address: bytes = b""
    asked: int = 0  # header requests sent (relays)
    bids: int = 0  # well-formed bids received (relays) or offered to us (builders)
    wins: int = 0  # blocks of theirs we signed
    faults: list[int] = field(default_factory=lambda: [0] * len(FAULT_KINDS))
    soft_in_a_row: int = 0
    latency_ms_total: int = 0  # over the answers (bid, no bid, body) counted in `answers`
    answers: int = 0
    latency_ms_max: int = 0
    last_seen_slot: int = 0
    last_fault_slot: int = 0
    last_fault: bytes = b""  # its kind and what happened, for operators
    benched_until_slot: int = 0
    dropped_at_slot: int = 0  # 0: not dropped

    def fault_count(self, kind: str) -> int:
        return self.faults[FAULT_KINDS.index(kind)]

    @property
    def dropped(self) -> bool:
        return self.dropped_at_slot != 0

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role.decode(),
            "address": to_checksum_address(self.address),
            "asked": self.asked,
            "bids": self.bids,
            "wins": self.wins,
            "faults": dict(zip(FAULT_KINDS, self.faults, strict=True)),
            "latency_ms_mean": self.latency_ms_total // self.answers if self.answers else None,
            "latency_ms_max": self.latency_ms_max,
            "last_fault": self.last_fault.decode(errors="replace") or None,
            "last_fault_slot": self.last_fault_slot or None,
            "benched_until_slot": self.benched_until_slot or None,
            "dropped_at_slot": self.dropped_at_slot or None,
        }


class SourceBook:
    """Every source's record, read once at start and written through on each change."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.records: dict[tuple[bytes, bytes], SourceRecord] = {}
        for _, raw in db.iterate(schema.SOURCE_RECORD_PREFIX):
            record = SourceRecord.decode(raw)
            if len(record.faults) <= len(FAULT_KINDS):  # kinds added since count from 0
                record.faults += [0] * (len(FAULT_KINDS) - len(record.faults))
                self.records[record.role, record.address] = record

    def get(self, role: bytes, address: bytes, slot: int) -> SourceRecord:
        """The record of a source, seen now (`slot`); a new one if we had none."""
        record = self.records.get((role, address))
        if record is None:
            record = SourceRecord(role, address)
            if role == BUILDER:
                self._make_room_for_a_builder()
            self.records[role, address] = record
        record.last_seen_slot = slot
        return record

    def may_ask(self, role: bytes, address: bytes, slot: int) -> bool:
        record = self.records.get((role, address))
        return record is None or (not record.dropped and slot >= record.benched_until_slot)

    def asked(self, address: bytes, slot: int) -> None:
        record = self.get(RELAY, address, slot)
        record.asked += 1
        self._save(record)

    def answered(self, role: bytes, address: bytes, slot: int, latency_ms: int) -> None:
        """An answer in time (a bid, no bid, a body): a soft fault streak ends."""
        record = self.get(role, address, slot)
        record.answers += 1
        record.latency_ms_total += max(latency_ms, 0)
        record.latency_ms_max = max(record.latency_ms_max, latency_ms)
        record.soft_in_a_row = 0
        self._save(record)

    def bid(self, role: bytes, address: bytes, slot: int) -> None:
        record = self.get(role, address, slot)
        record.bids += 1
        self._save(record)

    def won(self, role: bytes, address: bytes, slot: int) -> None:
        record = self.get(role, address, slot)
        record.wins += 1
        self._save(record)

    def fault(self, role: bytes, address: bytes, slot: int, kind: str, detail: str) -> None:
        """Count a fault of `kind` (FAULT_KINDS); bench or drop the source as the rules say."""
        record = self.get(role, address, slot)
        record.faults[FAULT_KINDS.index(kind)] += 1
        record.last_fault_slot = slot
        record.last_fault = f"{kind}: {detail}".encode()[:200]
        if kind in PROVABLE_FAULTS:
            record.dropped_at_slot = record.dropped_at_slot or max(slot, 1)
        else:
            record.soft_in_a_row += 1
            if record.soft_in_a_row >= SOFT_FAULTS_TO_BENCH:
                record.benched_until_slot = slot + BENCH_SLOTS
                record.soft_in_a_row = 0
        self._save(record)

    def of_role(self, role: bytes) -> list[SourceRecord]:
        return sorted(
            (r for (r_role, _), r in self.records.items() if r_role == role),
            key=lambda r: r.address,
        )

    def _save(self, record: SourceRecord) -> None:
        self.db.put(schema.source_record_key(record.role, record.address), record.encode())

    def _make_room_for_a_builder(self) -> None:
        """Forget builders beyond MAX_BUILDERS - 1: the longest unseen without a provable
        fault first, then the longest unseen."""
        builders = sorted(self.of_role(BUILDER), key=lambda r: (r.dropped, r.last_seen_slot))
        for record in builders[: max(len(builders) - MAX_BUILDERS + 1, 0)]:
            del self.records[BUILDER, record.address]
            self.db.delete(schema.source_record_key(BUILDER, record.address))
