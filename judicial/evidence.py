"""EVIDENCE: proof, checked by every node with no vote, that a producer broke the rules
(PROTOCOL section 11), and the slash it brings.

Two kinds, after consensus-specs' `process_proposer_slashing`: a slashing is a pure check of
signed messages, then one `slash` that takes the offender's REP wherever it sits.

- EQUIVOCATION: two different headers one producer signed for one slot
  (`porchain.equivocations.is_equivocation`). Nothing else is needed to check it.
- INVALID_BLOCK: a block its producer signed that fails validation on its parent. The evidence
  carries the whole block and the height of its parent, which must be a canonical block at most
  `evidence_window_slots` blocks below the chain's head: every node has that block's state, read
  back through the undo journals (`porchain.state.past.past_view`), and re-runs the block's
  rules on it. A header with other transactions than its tx_root commits to proves nothing
  (anyone can pair a header with a body), nor does a block that turns out valid.

One offence is one producer and one slot, whichever kind proves it: it is punished once, if the
evidence arrives within `evidence_window_slots` of the slot. The offences punished stay in the
state (`Offences`) until they are older than the window, when evidence of them is stale anyway,
so the record stays bounded by the window. The penalty: `equivocation_slash_ppm` of all the
producer's REP; `whistleblower_ppm` of it to the sender, the rest burns; what the producer still
has encumbered is released from the ASC, and its blocks are invalid until the first schedule drawn
after the slash, which leaves it out, takes effect (`check_not_barred`, as consensus-specs refuse
a block of a slashed proposer).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from judicial.slashes import EQUIVOCATION, INVALID_BLOCK, OFFENCE_NAMES, slash, slash_history
from porchain.consensus.asc import epoch_of, release
from porchain.consensus.ledger import LEDGERS, REP, slash_rep
from porchain.consensus.modules import BlockContext, Rules, TxHandler
from porchain.consensus.transition import process_block
from porchain.constants import PPM
from porchain.crypto.keys import to_checksum_address
from porchain.db import schema
from porchain.equivocations import is_equivocation
from porchain.errors import DecodeError, InvalidBlock, InvalidTransaction
from porchain.state.past import StateUnavailable, past_view
from porchain.state.state import State
from porchain.types.blocks import Block, Header, compute_tx_root
from porchain.types.records import Record
from porchain.types.transactions import Transaction, TxKind

EVIDENCE_KINDS = (EQUIVOCATION, INVALID_BLOCK)
MAX_VALID_RERUNS = 1024  # blocks remembered valid on re-run, per node (`EvidenceHandler`)

# -- state ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Offence(Record):
    """An offence evidence punished."""

    slot: int = 0
    producer: bytes = b""
    kind: int = 0  # EQUIVOCATION or INVALID_BLOCK: what proved it
    number: int = 0  # the block that applied the evidence
    amount: int = 0  # REP slashed
    reward: int = 0  # REP of it paid to the whistleblower
    whistleblower: bytes = b""
    tx: bytes = b""  # the EVIDENCE transaction's hash
    barred_until: int = 0  # the first slot the producer may produce in again
    kept: int = 0  # the REP the producer kept after the slash: it may not gain more while barred


@dataclass(slots=True)
class Offences(Record):
    """The offences punished whose slot is within the evidence window, by (slot, producer)."""

    entries: list[Offence] = field(default_factory=list)


def punished_offences(state: State) -> Offences:
    return state.get(schema.PUNISHED_OFFENCES_STATE_KEY, Offences)


def offence_id(producer: bytes, slot: int) -> bytes:
    """An offence's id (and its slashes' `ref`): the slot, 8 bytes, then the producer."""
    return slot.to_bytes(8, "big") + producer


def find_offence(state: State, producer: bytes, slot: int) -> Offence | None:
    for entry in punished_offences(state).entries:
        if entry.slot == slot and entry.producer == producer:
            return entry
    return None


def prune_offences(state: State, slot: int) -> None:
    """Forget the offences evidence of which is stale at `slot` and whose bar has ended."""
    offences = punished_offences(state)
    window = state.params.evidence_window_slots
    kept = [e for e in offences.entries if slot - e.slot <= window or slot < e.barred_until]
    if len(kept) != len(offences.entries):
        offences.entries = kept


def barred_by(state: State, producer: bytes, slot: int) -> Offence | None:
    """The punished offence that bars `producer` from producing at `slot`, if any."""
    for entry in punished_offences(state).entries:
        if entry.producer == producer and slot < entry.barred_until:
            return entry
    return None


def check_not_barred(state: State, header: Header) -> None:
    """A producer slashed by evidence may not produce until the schedules drawn after its
    slash, which leave it out, take effect (as a slashed validator may not propose)."""
    bar = barred_by(state, header.producer, header.slot)
    if bar is not None:
        raise InvalidBlock(
            f"producer {to_checksum_address(header.producer)} was slashed in block "
            f"#{bar.number}: it may not produce before slot {bar.barred_until}"
        )


def keep_barred_out(state: State, slot: int) -> None:
    """While barred, a producer gains no REP and does not re-enter the ASC: what its pools of
    before the slash pay it is forfeited (burned, added to the slash) and what it encumbers
    again is released."""
    for entry in punished_offences(state).entries:
        if slot < entry.barred_until:
            forfeit_gains(state, entry)
            release_remaining(state, entry.producer, slot)


def forfeit_gains(state: State, entry: Offence) -> None:
    weight = state.account(entry.producer).rep_weight
    if weight <= entry.kept:
        return
    share = -(-(weight - entry.kept) * PPM // weight)  # rounded up: each place rounds down
    taken = slash_rep(state, entry.producer, share)
    LEDGERS[REP].burn_from_pool(state, taken)
    entry.amount += taken
    history = slash_history(state, entry.producer)
    history.total += taken
    ref = offence_id(entry.producer, entry.slot)
    for recorded in history.recent:
        if recorded.ref == ref:
            recorded.amount += taken
    entry.kept = state.account(entry.producer).rep_weight


def bar_end(state: State, slot: int) -> int:
    """The first slot of the epoch whose schedule is the first drawn after `slot` (an epoch's
    schedule is drawn at the end of the epoch two before it)."""
    epoch_slots = state.params.epoch_slots
    return (epoch_of(state, slot) + 2) * epoch_slots


# -- the payload ----------------------------------------------------------------------------


@dataclass(slots=True)
class Evidence(Record):
    """The EVIDENCE payload as it travels."""

    kind: int = 0
    first: bytes = b""  # equivocation: one signed header; invalid block: the whole block
    second: bytes = b""  # equivocation: the other signed header; invalid block: empty
    parent_number: int = 0  # invalid block: the height of its (canonical) parent

    @classmethod
    def equivocation(cls, a: Header, b: Header) -> Evidence:
        return cls(EQUIVOCATION, a.encode(), b.encode())

    @classmethod
    def invalid_block(cls, block: Block, parent_number: int) -> Evidence:
        return cls(INVALID_BLOCK, block.encode(), b"", parent_number)


@dataclass(frozen=True, slots=True)
class Proof:
    """A decoded EVIDENCE whose form and signatures are checked."""

    kind: int
    headers: tuple[Header, ...]  # both headers, or the invalid block's
    block: Block | None = None
    parent_number: int = 0

    @property
    def producer(self) -> bytes:
        return self.headers[0].producer

    @property
    def slot(self) -> int:
        return self.headers[0].slot


def why_not_equivocation(a: Header, b: Header) -> str:
    """What keeps two headers from proving an equivocation (`is_equivocation` is False)."""
    if a.hash == b.hash:
        return "the same header twice: one header proves nothing"
    if a.slot != b.slot:
        return f"the headers are for different slots ({a.slot} and {b.slot})"
    if a.producer != b.producer:
        return (
            f"the headers have different producers ({to_checksum_address(a.producer)} and "
            f"{to_checksum_address(b.producer)})"
        )
    for header in (a, b):
        check_signed(header)
    return "not an equivocation"


def check_signed(header: Header) -> None:
    """The header's signature is its producer's."""
    try:
        signer = header.recover_producer()
    except InvalidBlock as exc:
        raise InvalidTransaction(
            f"forged signature on header 0x{header.hash.hex()}: {exc}"
        ) from None
    if signer != header.producer:
        raise InvalidTransaction(
            f"forged signature: header 0x{header.hash.hex()} names producer "
            f"{to_checksum_address(header.producer)} but was signed by "
            f"{to_checksum_address(signer)}"
        )


def decode_equivocation(evidence: Evidence) -> Proof:
    if evidence.parent_number:
        raise InvalidTransaction("malformed EVIDENCE: an equivocation has no parent number")
    try:
        a, b = Header.decode(evidence.first), Header.decode(evidence.second)
    except DecodeError as exc:
        raise InvalidTransaction(f"malformed EVIDENCE: {exc}") from None
    if not is_equivocation(a, b):
        raise InvalidTransaction(why_not_equivocation(a, b))
    return Proof(EQUIVOCATION, (a, b))


def decode_invalid_block(evidence: Evidence) -> Proof:
    if evidence.second:
        raise InvalidTransaction("malformed EVIDENCE: an invalid block is one block")
    try:
        block = Block.decode(evidence.first)
    except DecodeError as exc:
        raise InvalidTransaction(f"malformed EVIDENCE: {exc}") from None
    check_signed(block.header)
    if compute_tx_root(block.transactions) != block.header.tx_root:
        raise InvalidTransaction(
            "the transactions do not match the header's tx_root: anyone can pair a signed "
            "header with other transactions, so this proves nothing against its producer"
        )
    return Proof(INVALID_BLOCK, (block.header,), block, evidence.parent_number)


# -- the rules ------------------------------------------------------------------------------


def check_window(state: State, slot: int) -> None:
    """The offence's slot has passed, and by at most `evidence_window_slots`."""
    current, window = state.chain.slot, state.params.evidence_window_slots
    if slot > current:
        raise InvalidTransaction(f"the offence's slot {slot} is in the future (slot {current})")
    if current - slot > window:
        raise InvalidTransaction(
            f"stale evidence: slot {slot} is {current - slot} slots old, over the evidence "
            f"window of {window}"
        )


def check_not_punished(state: State, producer: bytes, slot: int) -> None:
    punished = find_offence(state, producer, slot)
    if punished is not None:
        raise InvalidTransaction(
            f"already punished: {to_checksum_address(producer)} was slashed for slot {slot} "
            f"in block #{punished.number}"
        )


def check_offender(state: State, producer: bytes) -> None:
    if state.account(producer).rep_weight == 0:
        raise InvalidTransaction(
            f"unknown producer {to_checksum_address(producer)}: it holds no REP (not an ASC "
            f"member), so there is nothing to slash"
        )


def check_invalid_on_parent(state: State, proof: Proof, rules: Rules) -> None:
    """Re-run the block on its parent's state, as the chain saw it: it must fail."""
    assert proof.block is not None
    block, params = proof.block, state.params
    if block.size > params.max_block_bytes:
        raise InvalidTransaction(
            f"the block is {block.size} bytes, over max_block_bytes ({params.max_block_bytes})"
        )
    if state.reader.get(schema.canonical_key(block.number)) == block.hash:
        # this chain imported it, so it is valid: refused before the costly re-run, which a
        # sender could otherwise ask of every node with any recent block, for nothing
        raise InvalidTransaction(
            f"block 0x{block.hash.hex()} is canonical block #{block.number}: it proves nothing"
        )
    number, parent_hash = proof.parent_number, block.header.parent_hash
    if state.reader.get(schema.canonical_key(number)) != parent_hash:
        raise InvalidTransaction(
            f"the block's parent 0x{parent_hash.hex()} is not canonical block #{number}: only "
            f"a block on this chain's blocks can be re-checked"
        )
    try:
        parent_state = State(
            past_view(state.reader, number, params.evidence_window_slots, root=True)
        )
    except StateUnavailable as exc:
        raise InvalidTransaction(
            f"stale evidence: its parent cannot be re-checked: {exc}"
        ) from None
    try:
        process_block(parent_state, block, rules)
        root = parent_state.root()
    except InvalidBlock:
        return
    if root != block.header.state_root:
        return
    raise ValidOnParent(f"block 0x{block.hash.hex()} is valid on its parent: it proves nothing")


class ValidOnParent(InvalidTransaction):
    """The re-run found the block valid."""


def release_remaining(state: State, producer: bytes, slot: int) -> None:
    """The offender leaves the ASC: what it still has encumbered (and not staked) is released."""
    remaining = state.account(producer).rep_encumbered
    if remaining:
        release(state, producer, remaining, epoch_of(state, slot))


def punish(state: State, tx: Transaction, proof: Proof, ctx: BlockContext) -> Offence:
    """Slash the producer, reward the whistleblower, burn the rest, record the offence."""
    params = state.params
    producer, slot, number = proof.producer, proof.slot, ctx.header.number
    ref = offence_id(producer, slot)
    taken = slash(
        state, producer, params.equivocation_slash_ppm, offence=proof.kind, number=number, ref=ref
    )
    reward = taken * params.whistleblower_ppm // PPM
    rep = LEDGERS[REP]
    rep.pay_from_pool(state, tx.sender, reward)
    rep.burn_from_pool(state, taken - reward)
    release_remaining(state, producer, ctx.header.slot)
    until, kept = bar_end(state, ctx.header.slot), state.account(producer).rep_weight
    offence = Offence(
        slot, producer, proof.kind, number, taken, reward, tx.sender, tx.hash, until, kept
    )
    entries = punished_offences(state).entries
    entries.append(offence)
    entries.sort(key=lambda e: (e.slot, e.producer))
    return offence


class EvidenceHandler(TxHandler[Proof]):
    kind = TxKind.EVIDENCE

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules  # the rule set an invalid block is re-run with (set on attach)
        # (block hash, parent hash) pairs found valid on re-run: the result is a pure function
        # of the two, so a block sent again as evidence, under any transaction, costs a lookup
        self.valid_reruns: OrderedDict[tuple[bytes, bytes], None] = OrderedDict()

    def decode(self, payload: list) -> Proof:
        try:
            evidence = Evidence.from_rlp(payload)
        except DecodeError as exc:
            raise InvalidTransaction(f"malformed EVIDENCE: {exc}") from None
        if evidence.kind == EQUIVOCATION:
            return decode_equivocation(evidence)
        if evidence.kind == INVALID_BLOCK:
            return decode_invalid_block(evidence)
        raise InvalidTransaction(
            f"malformed EVIDENCE: kind {evidence.kind} is neither 0 (equivocation) nor "
            f"1 (invalid block)"
        )

    def validate(self, state: State, tx: Transaction, payload: Proof) -> None:
        check_window(state, payload.slot)
        check_not_punished(state, payload.producer, payload.slot)
        check_offender(state, payload.producer)
        if payload.kind == INVALID_BLOCK:
            if self.rules is None:
                raise InvalidTransaction("this node cannot re-run blocks (no rule set attached)")
            assert payload.block is not None
            rerun = (payload.block.hash, payload.block.header.parent_hash)
            if rerun in self.valid_reruns:
                raise InvalidTransaction(
                    f"block 0x{rerun[0].hex()} is valid on its parent: it proves nothing"
                )
            try:
                check_invalid_on_parent(state, payload, self.rules)
            except ValidOnParent:
                self.valid_reruns[rerun] = None
                if len(self.valid_reruns) > MAX_VALID_RERUNS:
                    self.valid_reruns.popitem(last=False)
                raise

    def apply(self, state: State, tx: Transaction, payload: Proof, ctx: BlockContext) -> None:
        punish(state, tx, payload, ctx)

    def describe(self, payload: Proof) -> dict[str, Any]:
        described: dict[str, Any] = {
            "evidence": OFFENCE_NAMES[payload.kind],
            "producer": to_checksum_address(payload.producer),
            "slot": payload.slot,
            "headers": ["0x" + h.hash.hex() for h in payload.headers],
        }
        if payload.block is not None:
            described["parent_number"] = payload.parent_number
            described["block_bytes"] = payload.block.size
        return described
