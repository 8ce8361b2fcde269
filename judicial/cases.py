"""Accusations and juries (PROTOCOL section 11): a case's life, its jury and its verdict.

    ACCUSE in block F (the accuser's stake is held by the case)
      review   until block F + review_blocks: the jury is drawn at its end, from the mix then
      commit   the next commit_blocks blocks: each juror sends JURY_COMMIT(keccak(vote || salt ||
               juror || case id))
      reveal   the next reveal_blocks blocks, or until every juror has revealed: JURY_REVEAL
      closed   GUILTY iff the revealed guilty weight is above the not-guilty weight; paid out

`review_blocks >= 2 * epoch_slots` (checked with the parameters), so the draw's block is in the
second epoch after the filing epoch or later: its mix was fixed by reveals made after the
filing, which nobody could know then. Jurors are ASC members (the REP holders the chain lists,
and the ones whose nodes vote by themselves) other than the parties, owning at least
`min_juror_rep`, drawn without replacement with probability proportional to the REP they own.
A juror votes with the REP it owned at the draw, except that the largest weight is capped at
the sum of the others, so no juror alone outweighs the rest of the jury.

A case keeps the terms it was filed under (jury size, rewards, penalties, phase lengths), so
a WSC change while it is open cannot make its stake too small for its jurors' rewards.
All REP a case moves sits in pool-held REP in between, so every case conserves REP exactly:
what it takes (stake, slash, penalties) is what it pays out plus what it burns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from judicial.slashes import CENSORSHIP, slash
from porchain.consensus.ledger import LEDGERS, REP
from porchain.consensus.salary import settle_salary
from porchain.consensus.selection import draw
from porchain.crypto.hashing import keccak
from porchain.db import schema
from porchain.state.objects import Weight
from porchain.state.state import State
from porchain.types.blocks import Header
from porchain.types.records import Record

# phases
REVIEW, COMMIT, REVEAL, CLOSED = 0, 1, 2, 3
PHASE_NAMES = {REVIEW: "review", COMMIT: "commit", REVEAL: "reveal", CLOSED: "closed"}
# votes, and a closed case's verdict
NO_VOTE, GUILTY, NOT_GUILTY = 0, 1, 2
VOTE_NAMES = {NO_VOTE: None, GUILTY: "guilty", NOT_GUILTY: "not_guilty"}

MAX_PRUNED_PER_BLOCK = 4  # accusable-block records dropped per block: twice what is added


@dataclass(slots=True)
class Juror(Record):
    address: bytes = b""
    rep: int = 0  # the REP it owned at the draw
    weight: int = 0  # its vote's weight: `rep`, the largest capped at the sum of the others
    commitment: bytes = b""  # dropped when the case closes
    committed: int = 0  # 1 once its JURY_COMMIT was applied (kept when the case closes)
    vote: int = NO_VOTE  # revealed vote
    payout: int = 0  # REP it was paid
    penalty: int = 0  # REP it lost for not revealing


@dataclass(slots=True)
class Case(Record):
    id: int = 0
    accuser: bytes = b""
    accused: bytes = b""
    block_hash: bytes = b""
    block_number: int = 0
    txs: list[bytes] = field(default_factory=list)
    stake: int = 0
    filed_at: int = 0
    phase: int = REVIEW
    draw_at: int = 0  # the block at whose end the jury is drawn
    commit_ends: int = 0  # the last block taking JURY_COMMIT (0: not drawn yet)
    reveal_ends: int = 0  # the last block taking JURY_REVEAL (0: not in that phase yet)
    mix: bytes = b""  # the beacon mix the jury was drawn from
    mix_epoch: int = 0  # the epoch that mix belongs to
    jurors: list[Juror] = field(default_factory=list)
    # terms fixed at filing
    jury_size: int = 0
    commit_blocks: int = 0
    reveal_blocks: int = 0
    juror_reward: int = 0
    flagger_reward: int = 0
    slash_ppm: int = 0
    absent_penalty: int = 0
    protection_blocks: int = 0
    # the outcome
    verdict: int = NO_VOTE
    closed_at: int = 0
    guilty_weight: int = 0
    not_guilty_weight: int = 0
    slashed: int = 0  # REP taken from the accused
    returned: int = 0  # REP of its stake the accuser got back
    flagger_paid: int = 0  # the accuser's reward
    burned: int = 0  # REP the case burned (penalties included)


@dataclass(slots=True)
class Protection(Record):
    address: bytes = b""
    until: int = 0  # the last block at which it cannot be accused


@dataclass(slots=True)
class Court(Record):
    next_id: int = 0
    open_cases: list[int] = field(default_factory=list)
    protected: list[Protection] = field(default_factory=list)  # by address
    pruned_below: int = 0  # accusable-block records below this number are gone


@dataclass(slots=True)
class BlockRef(Record):
    """A recent canonical block, while it can be accused."""

    block_hash: bytes = b""  # known once its child is applied
    producer: bytes = b""
    slot: int = 0
    guilty_case: int = 0  # a case that found it censored: it cannot be accused again


@dataclass(slots=True)
class HashRef(Record):
    number: int = 0


def court(state: State) -> Court:
    return state.get(schema.COURT_STATE_KEY, Court)


def case(state: State, case_id: int) -> Case:
    return state.get(schema.case_state_key(case_id), Case)


def block_ref(state: State, number: int) -> BlockRef:
    return state.get(schema.accusable_block_state_key(number), BlockRef)


def accusable_number(state: State, block_hash: bytes) -> int:
    """The number of a recent canonical block by hash; 0 if the state holds none."""
    return state.get(schema.accusable_hash_state_key(block_hash), HashRef).number


def case_ref(case_id: int) -> bytes:
    return case_id.to_bytes(8, "big")


def ballot_commitment(vote: int, salt: bytes, juror: bytes, case_id: int) -> bytes:
    return keccak(bytes([vote]) + salt + juror + case_ref(case_id))


def protected_until(state: State, address: bytes) -> int:
    return next((p.until for p in court(state).protected if p.address == address), 0)


def open_case_against(state: State, address: bytes) -> int:
    """The open case accusing `address`, or 0."""
    return next((c for c in court(state).open_cases if case(state, c).accused == address), 0)


# -- recent blocks ---------------------------------------------------------------------------------


def record_block(state: State, header: Header) -> None:
    """At the end of a block: note its producer, so it can be accused once its hash is known."""
    state.set(
        schema.accusable_block_state_key(header.number), BlockRef(b"", header.producer, header.slot)
    )


def record_parent_hash(state: State, header: Header) -> None:
    """At the start of a block: its parent's hash is now known."""
    parent = block_ref(state, header.number - 1)
    if parent.producer and not parent.block_hash:
        parent.block_hash = header.parent_hash
        state.set(schema.accusable_hash_state_key(header.parent_hash), HashRef(header.number - 1))


def prune_blocks(state: State, number: int) -> None:
    """Drop the records of blocks no longer accusable at `number`, a few per block."""
    the_court = court(state)
    oldest_accusable = number - state.params.accuse_window
    stop = min(oldest_accusable, the_court.pruned_below + MAX_PRUNED_PER_BLOCK)
    for old in range(the_court.pruned_below, stop):
        ref = block_ref(state, old)
        if ref.block_hash:
            state.set(schema.accusable_hash_state_key(ref.block_hash), HashRef())
        state.set(schema.accusable_block_state_key(old), BlockRef())
    the_court.pruned_below = max(the_court.pruned_below, stop)


# -- REP a case holds ------------------------------------------------------------------------------


def take_rep(state: State, address: bytes, amount: int) -> int:
    """Take up to `amount` of the account's free REP, then of its unstaked encumbered REP, into
    pool-held REP (where a case holds it); return what was taken."""
    account = state.account(address)
    settle_salary(state, account)
    free = min(account.rep, amount)
    encumbered = min(account.rep_encumbered, amount - free)
    account.rep -= free
    account.rep_encumbered -= encumbered
    taken = free + encumbered
    state.supply.rep -= taken
    state.supply.rep_pooled += taken
    return taken


# -- the jury --------------------------------------------------------------------------------------


def jury_candidates(state: State, accuser: bytes, accused: bytes) -> list[Weight]:
    """ASC members but the parties, by address, with the REP each owns if at least
    `min_juror_rep` (and some)."""
    least = max(state.params.min_juror_rep, 1)
    out = []
    for address in state.asc_members.addresses:
        if address in (accuser, accused):
            continue
        owned = state.account(address).rep_weight
        if owned >= least:
            out.append(Weight(address, owned))
    return out


def draw_jury(mix: bytes, case_id: int, candidates: list[Weight], size: int) -> list[Weight]:
    """`size` distinct candidates (all of them if fewer), each draw REP-weighted over those
    not drawn yet, from a seed of the mix and the case: anyone with the state can redo it."""
    seed = keccak(mix + case_ref(case_id))
    remaining = list(candidates)
    drawn = []
    for index in range(min(size, len(remaining))):
        chosen = draw(seed, index, remaining)
        drawn.append(next(w for w in remaining if w.address == chosen))
        remaining = [w for w in remaining if w.address != chosen]
    return drawn


def capped_weights(reps: list[int]) -> list[int]:
    """The vote weights: the largest REP (the first, on a tie) capped at the sum of the
    others. Then no weight is above the sum of the others; a jury of one has no weight."""
    if not reps:
        return []
    top = max(range(len(reps)), key=lambda i: reps[i])
    weights = list(reps)
    weights[top] = min(reps[top], sum(reps) - reps[top])
    return weights


def empanel(state: State, the_case: Case, number: int) -> None:
    """Draw the jury at the end of block `number` from the mix of the epoch it is in."""
    beacon = state.beacon
    drawn = draw_jury(
        beacon.mix,
        the_case.id,
        jury_candidates(state, the_case.accuser, the_case.accused),
        the_case.jury_size,
    )
    weights = capped_weights([w.weight for w in drawn])
    the_case.jurors = [
        Juror(w.address, w.weight, weight) for w, weight in zip(drawn, weights, strict=True)
    ]
    the_case.mix, the_case.mix_epoch = beacon.mix, beacon.epoch
    the_case.phase = COMMIT
    the_case.commit_ends = number + the_case.commit_blocks


def juror_of(the_case: Case, address: bytes) -> Juror | None:
    return next((j for j in the_case.jurors if j.address == address), None)


# -- verdict and payouts ---------------------------------------------------------------------------


def tally(the_case: Case) -> int:
    """GUILTY iff the revealed guilty weight is above the not-guilty weight."""
    the_case.guilty_weight = sum(j.weight for j in the_case.jurors if j.vote == GUILTY)
    the_case.not_guilty_weight = sum(j.weight for j in the_case.jurors if j.vote == NOT_GUILTY)
    return GUILTY if the_case.guilty_weight > the_case.not_guilty_weight else NOT_GUILTY


def penalise_absent(state: State, the_case: Case) -> None:
    """A juror who did not reveal loses `juror_absent_penalty` (what it has, if less): burned."""
    ledger = LEDGERS[REP]
    for juror in the_case.jurors:
        if juror.vote == NO_VOTE:
            juror.penalty = take_rep(state, juror.address, the_case.absent_penalty)
            ledger.burn_from_pool(state, juror.penalty)
            the_case.burned += juror.penalty


def pay_guilty(state: State, the_case: Case, number: int) -> None:
    """The accused loses `slash_ppm` of all its REP. Out of it each guilty juror gets its
    reward, then the accuser its flagger reward; the rest burns. A slash too small for every
    reward pays the jurors first, in equal shares; nothing is minted. The accuser's stake
    comes back whole."""
    ledger = LEDGERS[REP]
    pot = slash(
        state,
        the_case.accused,
        the_case.slash_ppm,
        offence=CENSORSHIP,
        number=number,
        ref=case_ref(the_case.id),
    )
    the_case.slashed = pot
    winners = [j for j in the_case.jurors if j.vote == GUILTY]
    reward = min(the_case.juror_reward, pot // len(winners)) if winners else 0
    for juror in winners:
        juror.payout = reward
        ledger.pay_from_pool(state, juror.address, reward)
    pot -= reward * len(winners)
    the_case.flagger_paid = min(the_case.flagger_reward, pot)
    the_case.returned = the_case.stake
    ledger.pay_from_pool(state, the_case.accuser, the_case.stake + the_case.flagger_paid)
    ledger.burn_from_pool(state, pot - the_case.flagger_paid)
    the_case.burned += pot - the_case.flagger_paid
    ref = block_ref(state, the_case.block_number)
    if ref.block_hash == the_case.block_hash:
        ref.guilty_case = the_case.id


def pay_not_guilty(state: State, the_case: Case, number: int) -> None:
    """Each not-guilty juror gets its reward out of the accuser's stake, the rest returns; the
    accused is protected from new accusations for `protection_blocks`."""
    ledger = LEDGERS[REP]
    winners = [j for j in the_case.jurors if j.vote == NOT_GUILTY]
    for juror in winners:
        juror.payout = the_case.juror_reward
        ledger.pay_from_pool(state, juror.address, juror.payout)
    the_case.returned = the_case.stake - the_case.juror_reward * len(winners)
    ledger.pay_from_pool(state, the_case.accuser, the_case.returned)
    protect(state, the_case.accused, number + the_case.protection_blocks)


def protect(state: State, address: bytes, until: int) -> None:
    the_court = court(state)
    others = [p for p in the_court.protected if p.address != address]
    the_court.protected = sorted([*others, Protection(address, until)], key=lambda p: p.address)


def close_case(state: State, the_case: Case, number: int) -> None:
    the_case.verdict = tally(the_case)
    penalise_absent(state, the_case)
    if the_case.verdict == GUILTY:
        pay_guilty(state, the_case, number)
    else:
        pay_not_guilty(state, the_case, number)
    the_case.phase, the_case.closed_at = CLOSED, number
    for juror in the_case.jurors:  # the ballots are public now; their commitments weigh nothing
        juror.commitment = b""


def all_revealed(the_case: Case) -> bool:
    return all(j.vote != NO_VOTE for j in the_case.jurors)


def advance_case(state: State, the_case: Case, number: int) -> None:
    """The phase change due at the end of block `number`, if any."""
    if the_case.phase == REVIEW and number >= the_case.draw_at:
        empanel(state, the_case, number)
        if not the_case.jurors:  # nobody to judge: no votes, not guilty
            close_case(state, the_case, number)
    elif the_case.phase == COMMIT and number >= the_case.commit_ends:
        the_case.phase = REVEAL
        the_case.reveal_ends = number + the_case.reveal_blocks
    elif the_case.phase == REVEAL and (number >= the_case.reveal_ends or all_revealed(the_case)):
        close_case(state, the_case, number)


def process_cases(state: State, number: int) -> None:
    """End of block `number`: advance every open case; forget expired protections."""
    the_court = court(state)
    for case_id in the_court.open_cases:
        advance_case(state, case(state, case_id), number)
    the_court.open_cases = [c for c in the_court.open_cases if case(state, c).phase != CLOSED]
    the_court.protected = [p for p in the_court.protected if p.until >= number]
