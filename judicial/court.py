"""The court's transactions: ACCUSE, JURY_COMMIT and JURY_REVEAL (PROTOCOL section 11).

ACCUSE(block_hash, tx hashes, stake) names a canonical block at most `accuse_window` blocks
old and up to `max_accused_txs` transactions it should have included; the accused is the
block's producer. JURY_COMMIT(case_id, commitment) and JURY_REVEAL(case_id, vote, salt) are a
drawn juror's secret ballot, each accepted only in its phase (judicial.cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from judicial import cases as c
from porchain.consensus.ledger import LEDGERS, REP
from porchain.consensus.modules import BlockContext, TxHandler
from porchain.crypto.keys import to_checksum_address
from porchain.db import schema
from porchain.errors import DecodeError, InvalidTransaction
from porchain.params import WSCParams
from porchain.state.state import State
from porchain.types.codec import RLPItem, decode_fixed, decode_list, decode_uint, encode_uint
from porchain.types.transactions import Transaction, TxKind
from porchain.units import format_amount

HASH_SIZE = 32
SALT_SIZE = 32
MAX_LISTED_TXS = 64  # the most any parameter set allows (`max_accused_txs`): decoding bound


def short(block_hash: bytes) -> str:
    return "0x" + block_hash.hex()[:16]


# -- ACCUSE ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accusation:
    block_hash: bytes
    txs: tuple[bytes, ...]
    stake: int

    def to_rlp(self) -> list[RLPItem]:
        return [self.block_hash, list(self.txs), encode_uint(self.stake)]


class AccuseHandler(TxHandler[Accusation]):
    kind = TxKind.ACCUSE

    def decode(self, payload: list[RLPItem]) -> Accusation:
        try:
            items = decode_list(payload, 3, "ACCUSE payload")
            block_hash = decode_fixed(items[0], HASH_SIZE, "block_hash")
            listed = decode_list(items[1], None, "txs")
            if len(listed) > MAX_LISTED_TXS:
                raise InvalidTransaction(f"ACCUSE names {len(listed)} transactions, over 64")
            txs = tuple(decode_fixed(t, HASH_SIZE, "tx hash") for t in listed)
            stake = decode_uint(items[2], "stake", 16)
        except DecodeError as exc:
            raise InvalidTransaction(f"malformed ACCUSE: {exc}") from None
        if not txs:
            raise InvalidTransaction("ACCUSE must name at least one censored transaction")
        if len(set(txs)) != len(txs):
            raise InvalidTransaction("ACCUSE names a transaction twice")
        return Accusation(block_hash, txs, stake)

    def validate(self, state: State, tx: Transaction, payload: Accusation) -> None:
        params = state.params
        check_terms(params, payload)
        number = c.accusable_number(state, payload.block_hash)
        now = state.chain.number
        if number == 0 or now - number > params.accuse_window:
            raise InvalidTransaction(
                f"block {short(payload.block_hash)} is not a canonical block of the last "
                f"{params.accuse_window} (accuse_window): it cannot be accused"
            )
        ref = c.block_ref(state, number)
        accused = ref.producer
        who = to_checksum_address(accused)
        if accused == tx.sender:
            raise InvalidTransaction("a producer cannot accuse its own block")
        if ref.guilty_case:
            raise InvalidTransaction(
                f"block #{number} was already found censoring in case #{ref.guilty_case}"
            )
        open_case = c.open_case_against(state, accused)
        if open_case:
            raise InvalidTransaction(f"{who} is already accused in open case #{open_case}")
        until = c.protected_until(state, accused)
        if until >= now:
            raise InvalidTransaction(
                f"{who} was found not guilty and cannot be accused until after block #{until}"
            )
        if len(c.court(state).open_cases) >= params.max_open_cases:
            raise InvalidTransaction(
                f"the court has {params.max_open_cases} open cases (max_open_cases): try again "
                "when one closes"
            )
        available = LEDGERS[REP].available(state, tx.sender)
        if available < payload.stake:
            raise InvalidTransaction(
                f"cannot stake {format_amount(payload.stake)} REP: "
                f"{to_checksum_address(tx.sender)} has {format_amount(available)} REP free "
                "or encumbered and not staked"
            )

    def apply(self, state: State, tx: Transaction, payload: Accusation, ctx: BlockContext) -> None:
        file_case(state, tx.sender, payload, ctx.header.number)

    def describe(self, payload: Accusation) -> dict[str, Any]:
        return {
            "block_hash": "0x" + payload.block_hash.hex(),
            "txs": ["0x" + h.hex() for h in payload.txs],
            "stake": str(payload.stake),
        }


def check_terms(params: WSCParams, payload: Accusation) -> None:
    if len(payload.txs) > params.max_accused_txs:
        raise InvalidTransaction(
            f"ACCUSE names {len(payload.txs)} transactions, over max_accused_txs "
            f"({params.max_accused_txs})"
        )
    if payload.stake < params.flag_stake:
        raise InvalidTransaction(
            f"ACCUSE stakes {format_amount(payload.stake)} REP, below flag_stake "
            f"({format_amount(params.flag_stake)} REP)"
        )


def file_case(state: State, accuser: bytes, payload: Accusation, number: int) -> c.Case:
    """Open a case on the terms of the active WSC; the case holds the accuser's stake."""
    params = state.params
    the_court = c.court(state)
    the_court.next_id += 1
    block_number = c.accusable_number(state, payload.block_hash)
    new = c.Case(
        id=the_court.next_id,
        accuser=accuser,
        accused=c.block_ref(state, block_number).producer,
        block_hash=payload.block_hash,
        block_number=block_number,
        txs=list(payload.txs),
        stake=c.take_rep(state, accuser, payload.stake),
        filed_at=number,
        draw_at=number + params.review_blocks,
        jury_size=params.jury_size,
        commit_blocks=params.commit_blocks,
        reveal_blocks=params.reveal_blocks,
        juror_reward=params.juror_reward,
        flagger_reward=params.flagger_reward,
        slash_ppm=params.censorship_slash_ppm,
        absent_penalty=params.juror_absent_penalty,
        protection_blocks=params.protection_blocks,
    )
    state.set(schema.case_state_key(new.id), new)
    the_court.open_cases.append(new.id)
    return new


# -- JURY_COMMIT and JURY_REVEAL ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JuryCommitment:
    case_id: int
    commitment: bytes

    def to_rlp(self) -> list[RLPItem]:
        return [encode_uint(self.case_id), self.commitment]


@dataclass(frozen=True, slots=True)
class JuryBallot:
    case_id: int
    vote: int
    salt: bytes

    def to_rlp(self) -> list[RLPItem]:
        return [encode_uint(self.case_id), encode_uint(self.vote), self.salt]


def juror_in_phase(state: State, tx: Transaction, case_id: int, phase: int) -> c.Juror:
    """The sender's seat on case `case_id`, which must be in `phase`."""
    the_case = c.case(state, case_id)
    if the_case.is_empty():
        raise InvalidTransaction(f"no case #{case_id}")
    if the_case.phase != phase:
        raise InvalidTransaction(
            f"case #{case_id} is in its {c.PHASE_NAMES[the_case.phase]} phase, not "
            f"{c.PHASE_NAMES[phase]}"
        )
    juror = c.juror_of(the_case, tx.sender)
    if juror is None:
        raise InvalidTransaction(
            f"{to_checksum_address(tx.sender)} is not a juror of case #{case_id}"
        )
    return juror


class JuryCommitHandler(TxHandler[JuryCommitment]):
    kind = TxKind.JURY_COMMIT

    def decode(self, payload: list[RLPItem]) -> JuryCommitment:
        try:
            items = decode_list(payload, 2, "JURY_COMMIT payload")
            return JuryCommitment(
                decode_uint(items[0], "case_id", 8), decode_fixed(items[1], HASH_SIZE, "commitment")
            )
        except DecodeError as exc:
            raise InvalidTransaction(f"malformed JURY_COMMIT: {exc}") from None

    def validate(self, state: State, tx: Transaction, payload: JuryCommitment) -> None:
        juror = juror_in_phase(state, tx, payload.case_id, c.COMMIT)
        if juror.commitment:
            raise InvalidTransaction(f"already committed on case #{payload.case_id}")

    def apply(
        self, state: State, tx: Transaction, payload: JuryCommitment, ctx: BlockContext
    ) -> None:
        juror = c.juror_of(c.case(state, payload.case_id), tx.sender)
        assert juror is not None
        juror.commitment, juror.committed = payload.commitment, 1

    def describe(self, payload: JuryCommitment) -> dict[str, Any]:
        return {"case_id": payload.case_id, "commitment": "0x" + payload.commitment.hex()}


class JuryRevealHandler(TxHandler[JuryBallot]):
    kind = TxKind.JURY_REVEAL

    def decode(self, payload: list[RLPItem]) -> JuryBallot:
        try:
            items = decode_list(payload, 3, "JURY_REVEAL payload")
            ballot = JuryBallot(
                decode_uint(items[0], "case_id", 8),
                decode_uint(items[1], "vote", 1),
                decode_fixed(items[2], SALT_SIZE, "salt"),
            )
        except DecodeError as exc:
            raise InvalidTransaction(f"malformed JURY_REVEAL: {exc}") from None
        if ballot.vote not in (c.GUILTY, c.NOT_GUILTY):
            raise InvalidTransaction("JURY_REVEAL vote must be 1 (guilty) or 2 (not guilty)")
        return ballot

    def validate(self, state: State, tx: Transaction, payload: JuryBallot) -> None:
        juror = juror_in_phase(state, tx, payload.case_id, c.REVEAL)
        if not juror.commitment:
            raise InvalidTransaction(f"no commitment from this juror on case #{payload.case_id}")
        if juror.vote != c.NO_VOTE:
            raise InvalidTransaction(f"already revealed on case #{payload.case_id}")
        expected = c.ballot_commitment(payload.vote, payload.salt, tx.sender, payload.case_id)
        if expected != juror.commitment:
            raise InvalidTransaction("the vote and salt do not match the juror's commitment")

    def apply(self, state: State, tx: Transaction, payload: JuryBallot, ctx: BlockContext) -> None:
        juror = c.juror_of(c.case(state, payload.case_id), tx.sender)
        assert juror is not None
        juror.vote = payload.vote

    def describe(self, payload: JuryBallot) -> dict[str, Any]:
        return {
            "case_id": payload.case_id,
            "vote": c.VOTE_NAMES[payload.vote],
            "salt": "0x" + payload.salt.hex(),
        }
