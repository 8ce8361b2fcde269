"""A producer's record of its relays and builders: what it counts, whom it stops asking, and
that a restart forgets nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from porchain.db import schema
from porchain.db.level import LevelDB
from porchain.db.memory import MemoryDB
from porchain.pbs import record as rec
from porchain.pbs.record import BUILDER, RELAY, SourceBook

RELAY_A, RELAY_B = b"\xaa" * 20, b"\xbb" * 20


def test_answers_bids_and_wins_are_counted_with_their_latency() -> None:
    book = SourceBook(MemoryDB())
    for slot, latency in ((1, 20), (2, 40)):
        book.asked(RELAY_A, slot)
        book.answered(RELAY, RELAY_A, slot, latency)
        book.bid(RELAY, RELAY_A, slot)
    book.won(RELAY, RELAY_A, 2)
    shown = book.get(RELAY, RELAY_A, 2).to_json()
    assert (shown["asked"], shown["bids"], shown["wins"]) == (2, 2, 1)
    assert (shown["latency_ms_mean"], shown["latency_ms_max"]) == (30, 40)
    assert set(shown["faults"].values()) == {0}
    assert book.may_ask(RELAY, RELAY_A, 3)


@pytest.mark.parametrize("kind", rec.PROVABLE_FAULTS)
def test_one_provable_fault_drops_the_source_for_good(kind: str) -> None:
    book = SourceBook(MemoryDB())
    book.fault(RELAY, RELAY_A, 7, kind, "what happened")
    shown = book.get(RELAY, RELAY_A, 7).to_json()
    assert shown["faults"][kind] == 1
    assert shown["dropped_at_slot"] == 7
    assert shown["last_fault"] == f"{kind}: what happened"
    assert not book.may_ask(RELAY, RELAY_A, 7 + 10 * rec.BENCH_SLOTS)
    assert book.may_ask(RELAY, RELAY_B, 8)  # only that one


def test_soft_faults_in_a_row_bench_a_relay_and_an_answer_ends_the_streak() -> None:
    book = SourceBook(MemoryDB())
    for slot in range(1, rec.SOFT_FAULTS_TO_BENCH):
        book.fault(RELAY, RELAY_A, slot, "timeout", "no answer in 200 ms")
    book.answered(RELAY, RELAY_A, 10, 5)  # the streak ends
    for slot in range(11, 10 + rec.SOFT_FAULTS_TO_BENCH):
        book.fault(RELAY, RELAY_A, slot, "timeout", "no answer in 200 ms")
    assert book.may_ask(RELAY, RELAY_A, 20)
    last = 10 + rec.SOFT_FAULTS_TO_BENCH
    book.fault(RELAY, RELAY_A, last, "bad_bid", "a bid for another parent")
    assert not book.may_ask(RELAY, RELAY_A, last + 1)
    assert not book.may_ask(RELAY, RELAY_A, last + rec.BENCH_SLOTS - 1)
    assert book.may_ask(RELAY, RELAY_A, last + rec.BENCH_SLOTS)
    assert book.get(RELAY, RELAY_A, last).fault_count("timeout") == 2 * rec.SOFT_FAULTS_TO_BENCH - 2


def test_the_record_survives_a_restart(tmp_path: Path) -> None:
    db = LevelDB(tmp_path / "db")
    book = SourceBook(db)
    book.asked(RELAY_A, 3)
    book.fault(RELAY, RELAY_A, 3, "withheld", "no body 200 ms after the acceptance")
    book.bid(BUILDER, RELAY_B, 3)
    db.close()
    reopened = SourceBook(LevelDB(tmp_path / "db"))
    assert not reopened.may_ask(RELAY, RELAY_A, 4)
    assert reopened.get(RELAY, RELAY_A, 4).asked == 1
    assert [r.address for r in reopened.of_role(BUILDER)] == [RELAY_B]
    reopened.db.close()


def test_builders_are_bounded_and_the_dropped_are_kept_longest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rec, "MAX_BUILDERS", 4)
    book = SourceBook(MemoryDB())
    book.fault(BUILDER, bytes([0]) * 20, 1, "censoring", "left out 3 transactions")
    for i in range(1, 10):
        book.bid(BUILDER, bytes([i]) * 20, 1 + i)
    kept = [r.address[0] for r in book.of_role(BUILDER)]
    assert kept == [0, 7, 8, 9]
    assert len(list(book.db.iterate(rec.schema.SOURCE_RECORD_PREFIX))) == 4


def test_a_record_written_before_a_fault_kind_was_added_still_loads() -> None:
    db = MemoryDB()
    book = SourceBook(db)
    book.fault(RELAY, b"\x01" * 20, 5, "withheld", "no body")
    old = book.records[RELAY, b"\x01" * 20]
    old.faults = old.faults[: rec.FAULT_KINDS.index("reported")]  # as an older version wrote it
    db.put(schema.source_record_key(RELAY, old.address), old.encode())
    loaded = SourceBook(db).records[RELAY, b"\x01" * 20]
    assert loaded.fault_count("withheld") == 1 and loaded.fault_count("reported") == 0
    assert loaded.dropped
