"""What a simulation writes: one metrics row per slot, the events the nodes record, a summary.

Metrics are read from one node, the observer (the scenario's first honest node that no
perturbation stops or turns). A slot's row is written `ROW_DELAY` slots after the slot, so that
its block's pool has resolved (pools close `block_pool_duration` blocks later): `pool`,
`votes_for` and `votes_against` are that pool as the observer saw it then; REP, the finalized
height and the slash count are as at the end of the slot itself. Each epoch the observer's
chain ends adds a `reveal_withheld` event per ASC member that committed in it and did not
reveal, read from the epoch's record, whatever the cause. Rows are streamed to disk;
events too, up to `max_events` (summary.json says how many were left out), so a run's memory
does not grow with its length.
"""

from __future__ import annotations

import collections
import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from porchain.behaviours.withhold import RevealChoice
from porchain.consensus.pool_codes import AGAINST, FOR, OPEN, REJECTED, STATUS_NAMES
from porchain.consensus.slots import scheduled_producer
from porchain.crypto.keys import to_checksum_address
from porchain.equivocations import Equivocation
from porchain.errors import InvalidBlock
from porchain.node import Node
from porchain.plugins import NodePlugin
from porchain.state.state import State
from porchain.types.blocks import Block
from porchain.units import format_amount
from porchain.verdicts import read_verdict

MAX_EVENTS = 100_000  # rows of events.jsonl; the rest are counted only
MAX_TRACKED = 10_000  # censored transactions whose inclusion is watched
ROW_DELAY_EXTRA = 2  # slots beyond block_pool_duration before a slot's row is written

try:  # slash histories are kept by judicial governance, when it is installed
    from judicial.cases import case as court_case
    from judicial.slashes import CENSORSHIP, OFFENCE_NAMES, slash_history
except ImportError:  # pragma: no cover - judicial ships with porchain
    slash_history = None
    OFFENCE_NAMES = {}


class EventLog:
    """events.jsonl, one JSON object a line (keys sorted), at most `limit` lines."""

    def __init__(self, stream: IO[str], limit: int = MAX_EVENTS) -> None:
        self.stream = stream
        self.limit = limit
        self.written = 0
        self.dropped = 0
        self.censored: collections.OrderedDict[bytes, int] = collections.OrderedDict()

    def emit(self, t_ms: int, event: str, **fields: Any) -> None:
        if self.written >= self.limit:
            self.dropped += 1
            return
        line = json.dumps({"t_ms": t_ms, "event": event, **fields}, sort_keys=True)
        self.stream.write(line + "\n")
        self.written += 1

    def track(self, tx_hash: bytes, first_seen_ms: int) -> None:
        """Watch a censored transaction for its inclusion (the earliest first-seen time)."""
        known = self.censored.get(tx_hash)
        self.censored[tx_hash] = first_seen_ms if known is None else min(known, first_seen_ms)
        while len(self.censored) > MAX_TRACKED:
            self.censored.popitem(last=False)


class Recorder(NodePlugin):
    """A node's records as events: its censorship verdicts, equivocations and invalid blocks;
    on the observer, also the inclusion of each censored transaction."""

    name = "sim-recorder"

    def __init__(
        self, node: Node, node_name: str, log: EventLog, genesis_ms: int, *, observer: bool
    ) -> None:
        super().__init__(node)
        self.node_name = node_name
        self.log = log
        self.genesis_ms = genesis_ms
        self.observer = observer
        self.reveal_choices = 0  # epochs a withholding behaviour decided (its `choice`)
        self.slots_gained = 0  # e+2 slots its side got by those choices over always revealing
        self._choice_epoch: int | None = None

    def _t(self) -> int:
        return self.node.clock.now_ms() - self.genesis_ms

    def on_new_head(self, head: Block) -> None:
        self._record_reveal_choice()
        verdict = read_verdict(self.node.chain.db, head.number, head.hash)
        if verdict is not None and verdict.censored_count:
            for tx in verdict.censored:
                self.log.track(tx.tx_hash, tx.first_seen_ms)
            self.log.emit(
                self._t(),
                "censored",
                node=self.node_name,
                block=head.number,
                slot=head.slot,
                producer=to_checksum_address(head.header.producer),
                count=verdict.censored_count,
                txs=[
                    {
                        "hash": "0x" + tx.tx_hash.hex(),
                        "first_seen_t_ms": tx.first_seen_ms - self.genesis_ms,
                    }
                    for tx in verdict.censored
                ],
            )
        if not self.observer:
            return
        slot_ms = self.node.chain.state().params.slot_ms
        for tx in head.transactions:
            first_seen = self.log.censored.pop(tx.hash, None)
            if first_seen is not None:
                included = head.slot * slot_ms
                self.log.emit(
                    self._t(),
                    "included",
                    tx="0x" + tx.hash.hex(),
                    block=head.number,
                    first_seen_t_ms=first_seen - self.genesis_ms,
                    included_t_ms=included,
                    delay_ms=included - (first_seen - self.genesis_ms),
                )

    def _record_reveal_choice(self) -> None:
        """A `reveal_choice` event for each epoch a withholding behaviour decided: the e+2 slots
        of its side if it reveals and if it withholds, both computed by the epoch-end rules.
        Their difference when it withheld is the bias won, measured without the noise of the
        schedule draw (the slots its side would get revealing are the honest draw)."""
        choice = getattr(self.node.behaviour, "choice", None)
        if not isinstance(choice, RevealChoice) or choice.epoch == self._choice_epoch:
            return
        self._choice_epoch = choice.epoch
        gained = 0 if choice.reveal else choice.slots_withholding - choice.slots_revealing
        self.reveal_choices += 1
        self.slots_gained += gained
        self.log.emit(
            self._t(),
            "reveal_choice",
            node=self.node_name,
            epoch=choice.epoch,
            revealed=choice.reveal,
            slots_revealing=choice.slots_revealing,
            slots_withholding=choice.slots_withholding,
            slots_gained=gained,
        )

    def on_equivocation(self, found: Equivocation) -> None:
        self.log.emit(
            self._t(),
            "equivocation",
            node=self.node_name,
            producer=to_checksum_address(found.producer),
            slot=found.slot,
        )

    def on_invalid_block(self, block: Block, error: InvalidBlock) -> None:
        self.log.emit(
            self._t(),
            "invalid_block",
            node=self.node_name,
            producer=to_checksum_address(block.header.producer),
            slot=block.slot,
            block=block.number,
            error=str(error),
        )


@dataclass
class ProducerTally:
    name: str
    address: bytes
    rep_start: int
    rep_end: int = 0
    blocks_produced: int = 0
    blocks_rejected: int = 0
    blocks_open: int = 0
    missed_slots: int = 0
    slots_scheduled: int = 0
    slashes: int = 0
    slashed_rep: int = 0


@dataclass
class Pending:
    slot: int
    row: dict[str, Any]
    producer: bytes | None
    block: tuple[int, bytes] | None  # number, hash


@dataclass
class Metrics:
    """metrics.csv, written one row per slot, and the per-producer tallies for the summary."""

    stream: IO[str]
    producers: list[ProducerTally]
    log: EventLog
    delay: int
    pending: collections.deque[Pending] = field(default_factory=collections.deque)
    rows: int = 0
    epochs_ended: int = 0  # epochs whose withheld reveals are already events

    def __post_init__(self) -> None:
        self.by_address = {p.address: p for p in self.producers}
        self.writer = csv.writer(self.stream, lineterminator="\n")
        self.writer.writerow(self.columns())

    def columns(self) -> list[str]:
        reps = [f"rep_{p.name}" for p in self.producers]
        return [
            "slot",
            "producer",
            "block",
            "txs",
            "fees",
            *reps,
            "pool",
            "votes_for",
            "votes_against",
            "finalized",
            "slashes",
        ]

    def sample(self, node: Node, slot: int, t_ms: int) -> None:
        """At the end of `slot`, on the observer."""
        chain, state = node.chain, node.chain.state()
        producer = scheduled_producer(state, slot, chain.rules)
        block = canonical_at_slot(node, slot)
        slashes = self._slashes(state, t_ms)
        self._withheld_reveals(state, t_ms)
        scheduled = self.by_address.get(producer) if producer else None
        if scheduled is not None:
            scheduled.slots_scheduled += 1
        row: dict[str, Any] = {
            "slot": slot,
            "producer": self._name(producer),
            "block": block.number if block else "",
            "txs": len(block.transactions) if block else "",
            "fees": format_amount(sum(tx.fee for tx in block.transactions)) if block else "",
        }
        for p in self.producers:
            row[f"rep_{p.name}"] = format_amount(state.account(p.address).rep_weight)
        row.update(finalized=chain.finalized.number, slashes=slashes)
        self.pending.append(
            Pending(
                slot,
                row,
                block.header.producer if block else producer,
                (block.number, block.hash) if block else None,
            )
        )
        while self.pending and self.pending[0].slot <= slot - self.delay:
            self._write(node, self.pending.popleft())

    def finish(self, node: Node) -> None:
        while self.pending:
            self._write(node, self.pending.popleft())
        state = node.chain.state()
        for p in self.producers:
            p.rep_end = state.account(p.address).rep_weight

    def _write(self, node: Node, entry: Pending) -> None:
        row = entry.row
        tally = self.by_address.get(entry.producer) if entry.producer else None
        pool, votes_for, votes_against = "", 0, 0
        if entry.block is None:
            if tally is not None:
                tally.missed_slots += 1
        elif node.chain.get_canonical_hash(entry.block[0]) != entry.block[1]:
            pool = "orphaned"
        else:
            state = node.chain.state()
            the_pool = state.pool(state.block_pool_id(entry.block[0]))
            pool = STATUS_NAMES.get(the_pool.status, str(the_pool.status))
            votes_for = sum(s.amount for s in the_pool.stakes if s.side == FOR and not s.bond)
            votes_against = sum(
                s.amount for s in the_pool.stakes if s.side == AGAINST and not s.bond
            )
            if tally is not None:
                tally.blocks_produced += 1
                tally.blocks_rejected += the_pool.status == REJECTED
                tally.blocks_open += the_pool.status == OPEN
        row.update(
            pool=pool,
            votes_for=format_amount(votes_for),
            votes_against=format_amount(votes_against),
        )
        self.writer.writerow([row[c] for c in self.columns()])
        self.rows += 1

    def _name(self, address: bytes | None) -> str:
        if address is None:
            return ""
        tally = self.by_address.get(address)
        return tally.name if tally else to_checksum_address(address)

    def _slashes(self, state: State, t_ms: int) -> int:
        """Slashes so far, over all producers; a new one is an event."""
        if slash_history is None:
            return 0
        total = 0
        for p in self.producers:
            history = slash_history(state, p.address)
            new = history.count - p.slashes
            for entry in history.recent[-new:] if new > 0 else ():
                self.log.emit(
                    t_ms,
                    "slash",
                    offender=p.name,
                    offence=OFFENCE_NAMES.get(entry.offence, str(entry.offence)),
                    block=entry.number,
                    rep=format_amount(entry.amount),
                    **offence_of(state, entry.offence, entry.ref),
                )
            p.slashes, p.slashed_rep = history.count, history.total
            total += history.count
        return total

    def _withheld_reveals(self, state: State, t_ms: int) -> None:
        """Each ASC member that committed in an epoch the observer's chain has ended and did
        not reveal: read from the epoch's record, so any cause counts, not only a behaviour."""
        ended = state.beacon.epoch  # epochs below it have been processed
        for epoch in range(self.epochs_ended, ended):
            record = state.epoch_record(epoch)
            revealed = {r.address for r in record.reveals}
            penalties = {p.address: p.amount for p in record.penalties}
            for commit in record.commits:
                if commit.address not in revealed:
                    self.log.emit(
                        t_ms,
                        "reveal_withheld",
                        epoch=epoch,
                        node=self._name(commit.address),
                        penalty=format_amount(penalties.get(commit.address, 0)),
                    )
        self.epochs_ended = max(self.epochs_ended, ended)


def offence_of(state: State, offence: int, ref: bytes) -> dict[str, int]:
    """What a slash punished, from its `ref`: the offence's slot (evidence: the slot, 8 bytes,
    then the producer), or the accused block's number (a censorship case's id)."""
    if offence == CENSORSHIP and len(ref) == 8:
        the_case = court_case(state, int.from_bytes(ref, "big"))
        return {"offence_block": the_case.block_number} if the_case.block_number else {}
    if len(ref) == 28:
        return {"offence_slot": int.from_bytes(ref[:8], "big")}
    return {}


def canonical_at_slot(node: Node, slot: int) -> Block | None:
    """The observer's canonical block for `slot`, if any."""
    header = node.chain.head
    while header.slot > slot and header.number > 0:
        parent = node.chain.get_block(header.parent_hash)
        if parent is None:
            return None
        header = parent.header
    return node.chain.get_block(header.hash) if header.slot == slot and header.number else None


def tallies_json(
    tallies: Iterable[ProducerTally], recorders: Mapping[str, Recorder]
) -> dict[str, Any]:
    """Each producer's summary; a node whose behaviour chose its reveals also has
    `reveal_choices` and `slots_gained` (its recorder's)."""
    return {p.name: _tally_json(p, recorders.get(p.name)) for p in tallies}


def _tally_json(p: ProducerTally, recorder: Recorder | None) -> dict[str, Any]:
    facts = {
        "address": to_checksum_address(p.address),
        "rep_start": format_amount(p.rep_start),
        "rep_end": format_amount(p.rep_end),
        "rep_change": ("-" if p.rep_end < p.rep_start else "")
        + format_amount(abs(p.rep_end - p.rep_start)),
        "blocks_produced": p.blocks_produced,
        "blocks_rejected": p.blocks_rejected,
        "blocks_open": p.blocks_open,
        "missed_slots": p.missed_slots,
        "slots_scheduled": p.slots_scheduled,
        "slashes": p.slashes,
        "slashed_rep": format_amount(p.slashed_rep),
    }
    if recorder is not None and recorder.reveal_choices:
        facts["reveal_choices"] = recorder.reveal_choices
        facts["slots_gained"] = recorder.slots_gained
    return facts
