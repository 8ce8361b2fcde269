"""Accusations and juries (PROTOCOL section 11, judicial.cases and judicial.court): the draw,
the weight cap, each phase, every verdict and payout path, and REP conserved exactly.

The chain tests run real blocks: KEYS[0..4] produce (and are the ASC, so the juror pool),
ACCUSER holds free REP and files; jurors are driven by hand here (the automatic ones are in
tests/test_jurors.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judicial import cases as c
from judicial.court import Accusation, JuryBallot, JuryCommitment
from judicial.court_module import CourtModule
from judicial.slashes import slash_history
from porchain.chain import Chain
from porchain.composition import core_modules
from porchain.consensus.modules import Rules
from porchain.consensus.pool_codes import OPEN
from porchain.crypto.keys import PrivateKey
from porchain.db import schema
from porchain.errors import InvalidParameters, InvalidTransaction
from porchain.params import WSCParams
from porchain.state.objects import Pool, Weight
from porchain.state.state import State
from porchain.types.transactions import Transaction, TxKind
from tests.factories import accounts, build_on_head, dollars, extend, key, make_genesis, new_chain
from tests.factories import sign_tx as _sign

PRODUCERS = tuple(key(300 + i) for i in range(5))
ACCUSER = key(310)
OUTSIDER = key(311)
REP_EACH = dollars(1000)  # REP has 9 decimals, as `$` does
PARAMS = WSCParams.preset("minimal")
SALT = b"\x5a" * 32


def court_rules() -> Rules:
    return Rules([*core_modules(), CourtModule()])


class Court:
    """A chain with the court module and the few moves the tests make on it."""

    def __init__(self, **wsc: int) -> None:
        alloc = {k: {"balance": "1000", "rep_encumbered": "1000"} for k in PRODUCERS}
        alloc[ACCUSER] = {"balance": "1000", "rep": "100"}
        alloc[OUTSIDER] = {"balance": "1000"}
        self.genesis = make_genesis(alloc, wsc=wsc)
        self.chain: Chain = new_chain(self.genesis, rules=court_rules())
        self.salts: dict[tuple[int, bytes], bytes] = {}

    def state(self) -> State:
        return self.chain.state()

    @property
    def params(self) -> WSCParams:
        return self.state().params

    def sign(self, signer: PrivateKey, kind: int, payload: list) -> Transaction:
        return _sign(signer, kind, payload, nonce=self.state().account(signer.address).nonce)

    def block(self, *txs: Transaction):
        return extend(self.chain, txs, keys=PRODUCERS)

    def run_to(self, number: int) -> None:
        while self.chain.head.number < number:
            self.block()

    def accuse(
        self, number: int, txs: Sequence[bytes] = (b"\x11" * 32,), stake: int | None = None
    ) -> Transaction:
        block = self.chain.get_block_by_number(number)
        assert block is not None
        stake = self.params.flag_stake if stake is None else stake
        return self.sign(ACCUSER, TxKind.ACCUSE, Accusation(block.hash, tuple(txs), stake).to_rlp())

    def file(self, number: int, **kwargs) -> c.Case:
        self.block(self.accuse(number, **kwargs))
        return c.case(self.state(), c.court(self.state()).next_id)

    def case(self, case_id: int) -> c.Case:
        return c.case(self.state(), case_id)

    def juror_key(self, address: bytes) -> PrivateKey:
        return next(k for k in PRODUCERS if k.address == address)

    def commit(self, case_id: int, juror: bytes, vote: int) -> Transaction:
        salt = bytes([len(self.salts)]) * 32
        self.salts[(case_id, juror)] = salt
        commitment = c.ballot_commitment(vote, salt, juror, case_id)
        return self.sign(
            self.juror_key(juror), TxKind.JURY_COMMIT, JuryCommitment(case_id, commitment).to_rlp()
        )

    def reveal(self, case_id: int, juror: bytes, vote: int) -> Transaction:
        salt = self.salts[(case_id, juror)]
        ballot = JuryBallot(case_id, vote, salt)
        return self.sign(self.juror_key(juror), TxKind.JURY_REVEAL, ballot.to_rlp())

    def to_phase(self, case_id: int, phase: int) -> None:
        while self.case(case_id).phase < phase:
            self.block()

    def judge(self, case_id: int, votes: dict[bytes, int], reveal: Sequence[bytes] | None = None):
        """Commit `votes` (juror -> vote) in the commit phase and reveal those in `reveal`
        (default all) in the reveal phase; run until the case closes."""
        self.to_phase(case_id, c.COMMIT)
        self.block(*[self.commit(case_id, j, v) for j, v in votes.items()])
        self.to_phase(case_id, c.REVEAL)
        shown = votes if reveal is None else reveal
        self.block(*[self.reveal(case_id, j, votes[j]) for j in shown])
        self.to_phase(case_id, c.CLOSED)
        return self.case(case_id)


def rep_weight(court: Court, k: PrivateKey | bytes) -> int:
    address = k.address if isinstance(k, PrivateKey) else k
    return court.state().account(address).rep_weight


def open_pools(chain: Chain) -> list[Pool]:
    prefix = schema.STATE_PREFIX + schema.POOL_PREFIX
    return [p for p in (Pool.decode(v) for _, v in chain.db.iterate(prefix)) if p.status == OPEN]


def assert_rep_exact(court: Court) -> None:
    """Accounts own `supply.rep`; genesis + minted == owned + pooled + burned; what is pooled
    is what open pools minted plus the stakes open cases hold."""
    state = court.state()
    supply = state.supply
    held = accounts(court.chain.db)
    assert supply.rep == sum(a.rep_weight for a in held.values())
    genesis = sum(a.rep + a.rep_encumbered for a in court.genesis.alloc.values())
    assert supply.rep + supply.rep_pooled + supply.rep_burned == genesis + supply.rep_minted
    minted = sum(p.author_minted + p.unassigned_minted for p in open_pools(court.chain))
    held_by_cases = sum(court.case(i).stake for i in c.court(state).open_cases)
    assert supply.rep_pooled == minted + held_by_cases


def assert_case_conserves(the_case: c.Case) -> None:
    """What the case took (stake, slash, penalties) is what it paid plus what it burned."""
    taken = the_case.stake + the_case.slashed + sum(j.penalty for j in the_case.jurors)
    paid = the_case.returned + the_case.flagger_paid + sum(j.payout for j in the_case.jurors)
    assert taken == paid + the_case.burned


def accused_block(court: Court) -> int:
    """A block a producer other than the accuser made, recent enough to accuse."""
    court.run_to(3)
    return 2


# -- the jury draw ---------------------------------------------------------------------------------


ADDRESSES = [bytes([i]) * 20 for i in range(1, 10)]


@given(
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**32),
    st.lists(st.integers(1, 10**12), min_size=1, max_size=9),
    st.integers(1, 9),
)
def test_the_draw_is_a_function_of_mix_and_case_and_picks_distinct_members(
    mix: bytes, case_id: int, weights: list[int], size: int
) -> None:
    candidates = [Weight(a, w) for a, w in zip(ADDRESSES, weights, strict=False)]
    jury = c.draw_jury(mix, case_id, candidates, size)
    assert jury == c.draw_jury(mix, case_id, list(candidates), size)
    assert len(jury) == min(size, len(candidates))
    assert len({w.address for w in jury}) == len(jury)
    assert all(w in candidates for w in jury)


def test_the_draw_follows_rep() -> None:
    """Over many cases, a member owning 8 times another's REP sits far more often."""
    candidates = [Weight(ADDRESSES[0], 8_000), Weight(ADDRESSES[1], 1_000)]
    firsts = [c.draw_jury(b"\x01" * 32, i, candidates, 1)[0].address for i in range(400)]
    heavy = firsts.count(ADDRESSES[0])
    assert 300 < heavy < 400  # expected 356 of 400


@given(st.lists(st.integers(0, 10**15), max_size=12))
def test_no_capped_weight_is_above_the_sum_of_the_others(reps: list[int]) -> None:
    weights = c.capped_weights(reps)
    total = sum(weights)
    assert all(w <= total - w for w in weights)
    assert all(0 <= w <= r for w, r in zip(weights, reps, strict=True))
    assert (
        sum(1 for w, r in zip(weights, reps, strict=True) if w != r) <= 1
    )  # only the largest is capped


def test_a_whale_is_capped_at_the_rest_of_the_jury() -> None:
    assert c.capped_weights([100, 10, 20]) == [30, 10, 20]
    assert c.capped_weights([10, 20, 15]) == [10, 20, 15]
    assert c.capped_weights([50]) == [0]  # a jury of one cannot convict


def test_the_jury_excludes_the_parties_and_the_poor_and_is_reproducible() -> None:
    court = Court(min_juror_rep=dollars(500))
    court.run_to(3)
    accused = court.chain.get_block_by_number(2).header.producer
    state = court.state()
    poor = next(k.address for k in PRODUCERS if k.address != accused)
    state.account(poor).rep_encumbered = dollars(100)  # a scratch state: below min_juror_rep
    candidates = c.jury_candidates(state, ACCUSER.address, accused)
    assert {w.address for w in candidates} == {
        k.address for k in PRODUCERS if k.address not in (accused, poor)
    }
    court = Court()
    the_case = court.file(accused_block(court))
    court.to_phase(the_case.id, c.COMMIT)
    drawn = court.case(the_case.id)
    parties = (drawn.accuser, drawn.accused)
    assert len(drawn.jurors) == 3 and not any(j.address in parties for j in drawn.jurors)
    # anyone can redo the draw from the state: the recorded mix and the candidates then
    at_draw = court.chain.state()  # REP did not move since the draw in this quiet chain
    again = c.draw_jury(drawn.mix, drawn.id, c.jury_candidates(at_draw, *parties), 3)
    assert [w.address for w in again] == [j.address for j in drawn.jurors]


def test_the_jury_is_drawn_from_a_mix_fixed_after_the_filing_epoch() -> None:
    court = Court()
    the_case = court.file(accused_block(court))
    filed_epoch = court.chain.head.slot // PARAMS.epoch_slots
    court.to_phase(the_case.id, c.COMMIT)
    drawn = court.case(the_case.id)
    assert drawn.commit_ends == drawn.draw_at + PARAMS.commit_blocks
    assert drawn.draw_at == drawn.filed_at + PARAMS.review_blocks
    assert drawn.mix_epoch >= filed_epoch + 2  # fixed by reveals after the filing epoch
    assert drawn.mix == court.state().epoch_record(drawn.mix_epoch - 1).next_mix


def test_review_shorter_than_two_epochs_is_refused() -> None:
    with pytest.raises(InvalidParameters, match=r"review_blocks .* at least 2 \* epoch_slots"):
        PARAMS.replace(review_blocks=2 * PARAMS.epoch_slots - 1)
    with pytest.raises(InvalidParameters, match="flag_stake"):
        PARAMS.replace(juror_reward=PARAMS.flag_stake)


# -- ACCUSE ----------------------------------------------------------------------------------------


def test_an_accusation_holds_the_stake_and_opens_a_case() -> None:
    court = Court()
    number = accused_block(court)
    accused = court.chain.get_block_by_number(number).header.producer
    before = rep_weight(court, ACCUSER)
    the_case = court.file(number)
    assert (the_case.id, the_case.phase, the_case.accused) == (1, c.REVIEW, accused)
    assert the_case.block_number == number and the_case.stake == PARAMS.flag_stake
    assert rep_weight(court, ACCUSER) == before - PARAMS.flag_stake
    assert c.court(court.state()).open_cases == [1]
    assert_rep_exact(court)


def refused(court: Court, tx: Transaction, match: str) -> None:
    built = build_on_head(court.chain, [tx], keys=PRODUCERS)
    assert [reason for _, reason in built.rejected] and match in built.rejected[0][1], (
        built.rejected
    )


def test_bad_accusations_are_refused_with_the_reason() -> None:
    court = Court()
    number = accused_block(court)
    block = court.chain.get_block_by_number(number)
    producer_key = court.juror_key(block.header.producer)
    refused(court, court.accuse(number, stake=PARAMS.flag_stake - 1), "below flag_stake")
    refused(court, court.accuse(number, txs=[b"\x01" * 32] * 17), "twice")
    many = [bytes([i]) * 32 for i in range(17)]
    refused(court, court.accuse(number, txs=many), "over max_accused_txs")
    refused(court, court.accuse(number, stake=dollars(101)), "cannot stake 101 REP")
    own = court.sign(
        producer_key, TxKind.ACCUSE, Accusation(block.hash, (b"\x11" * 32,), dollars(10)).to_rlp()
    )
    refused(court, own, "cannot accuse its own block")
    unknown = Accusation(b"\x99" * 32, (b"\x11" * 32,), dollars(10))
    refused(court, court.sign(ACCUSER, TxKind.ACCUSE, unknown.to_rlp()), "cannot be accused")
    court.run_to(number + PARAMS.accuse_window)
    refused(court, court.accuse(number), "cannot be accused")


def test_one_open_case_per_accused_and_a_bounded_number_of_cases() -> None:
    court = Court(max_open_cases=1)
    court.run_to(12)
    by_producer: dict[bytes, list[int]] = {}
    for n in range(1, 12):
        by_producer.setdefault(court.chain.get_block_by_number(n).header.producer, []).append(n)
    twice = next(ns for ns in by_producer.values() if len(ns) > 1)
    court.file(twice[0])
    refused(court, court.accuse(twice[1]), "already accused in open case #1")
    other = next(ns[0] for ns in by_producer.values() if ns is not twice)
    refused(court, court.accuse(other), "open cases (max_open_cases)")


def test_malformed_payloads_are_refused() -> None:
    handler = court_rules().handler(TxKind.ACCUSE)
    with pytest.raises(InvalidTransaction, match="malformed ACCUSE"):
        handler.decode([b"\x01", [], b""])
    with pytest.raises(InvalidTransaction, match="at least one"):
        handler.decode([b"\x01" * 32, [], b"\x01"])
    reveal = court_rules().handler(TxKind.JURY_REVEAL)
    with pytest.raises(InvalidTransaction, match="vote must be 1"):
        reveal.decode([b"\x01", b"\x03", SALT])
    with pytest.raises(InvalidTransaction, match="malformed JURY_COMMIT"):
        court_rules().handler(TxKind.JURY_COMMIT).decode([b"\x01", b"\x02"])


# -- the ballot ------------------------------------------------------------------------------------


def test_ballots_are_taken_only_from_jurors_in_their_phase() -> None:
    court = Court()
    the_case = court.file(accused_block(court))
    juror = PRODUCERS[0].address
    outsider = next(k for k in PRODUCERS if k.address in (the_case.accused,))
    refused(court, court.commit(1, juror, c.GUILTY), "in its review phase, not commit")
    court.to_phase(1, c.COMMIT)
    jurors = [j.address for j in court.case(1).jurors]
    refused(court, court.commit(1, outsider.address, c.GUILTY), "is not a juror of case #1")
    refused(court, court.commit(2, jurors[0], c.GUILTY), "no case #2")
    court.block(court.commit(1, jurors[0], c.GUILTY))
    refused(court, court.commit(1, jurors[0], c.GUILTY), "already committed")
    refused(court, court.reveal(1, jurors[0], c.GUILTY), "commit phase, not reveal")
    court.to_phase(1, c.REVEAL)
    refused(court, court.commit(1, jurors[1], c.GUILTY), "reveal phase, not commit")
    court.salts[(1, jurors[1])] = SALT
    refused(court, court.reveal(1, jurors[1], c.GUILTY), "no commitment from this juror")
    wrong = court.sign(
        court.juror_key(jurors[0]),
        TxKind.JURY_REVEAL,
        JuryBallot(1, c.NOT_GUILTY, court.salts[(1, jurors[0])]).to_rlp(),
    )
    refused(court, wrong, "do not match the juror's commitment")


# -- verdicts and payouts --------------------------------------------------------------------------


def jury(court: Court, case_id: int) -> list[bytes]:
    court.to_phase(case_id, c.COMMIT)
    return [j.address for j in court.case(case_id).jurors]


def test_guilty_slashes_the_accused_and_pays_accuser_and_guilty_jurors() -> None:
    court = Court()
    the_case = court.file(accused_block(court))
    jurors = jury(court, 1)
    accused_before = rep_weight(court, the_case.accused)
    accuser_before = rep_weight(court, ACCUSER) + the_case.stake
    votes = {jurors[0]: c.GUILTY, jurors[1]: c.GUILTY, jurors[2]: c.NOT_GUILTY}
    before = {j: rep_weight(court, j) for j in jurors}
    closed = court.judge(1, votes)
    assert closed.verdict == c.GUILTY and closed.phase == c.CLOSED
    assert closed.guilty_weight > closed.not_guilty_weight
    slashed = accused_before * PARAMS.censorship_slash_ppm // 1_000_000
    assert closed.slashed == slashed and closed.slashed > 0
    assert rep_weight(court, ACCUSER) == accuser_before + PARAMS.flagger_reward
    for j in jurors:
        reward = PARAMS.juror_reward if votes[j] == c.GUILTY else 0
        assert court.case(1).jurors[jurors.index(j)].payout == reward
        assert rep_weight(court, j) - before[j] >= reward  # plus any block rewards
    assert closed.burned == slashed - 2 * PARAMS.juror_reward - PARAMS.flagger_reward
    history = slash_history(court.state(), the_case.accused)
    assert (history.count, history.total) == (1, slashed)
    assert history.recent[0].ref == c.case_ref(1)
    assert all(not j.commitment for j in closed.jurors)  # pruned once closed
    assert c.court(court.state()).open_cases == []
    assert_case_conserves(closed)
    assert_rep_exact(court)


def test_not_guilty_pays_the_jurors_out_of_the_stake_and_protects_the_accused() -> None:
    court = Court()
    the_case = court.file(accused_block(court))
    jurors = jury(court, 1)
    accused_before = rep_weight(court, the_case.accused)
    accuser_before = rep_weight(court, ACCUSER) + the_case.stake
    votes = {jurors[0]: c.NOT_GUILTY, jurors[1]: c.NOT_GUILTY, jurors[2]: c.GUILTY}
    closed = court.judge(1, votes)
    assert closed.verdict == c.NOT_GUILTY and closed.slashed == 0
    assert [j.payout for j in closed.jurors] == [PARAMS.juror_reward] * 2 + [0]
    assert closed.returned == the_case.stake - 2 * PARAMS.juror_reward
    assert rep_weight(court, ACCUSER) == accuser_before - 2 * PARAMS.juror_reward
    assert rep_weight(court, the_case.accused) >= accused_before
    until = closed.closed_at + PARAMS.protection_blocks
    assert c.protected_until(court.state(), the_case.accused) == until
    assert_case_conserves(closed)
    assert_rep_exact(court)
    # protected: another block of the accused cannot be accused until the protection ends
    court.block()
    mine = [
        n
        for n in range(court.chain.head.number - PARAMS.accuse_window + 1, court.chain.head.number)
        if court.chain.get_block_by_number(n).header.producer == the_case.accused
    ]
    while not mine:
        court.block()
        head = court.chain.head
        mine = [head.number] if head.producer == the_case.accused else []
    refused(court, court.accuse(mine[-1]), f"cannot be accused until after block #{until}")


def test_protection_ends() -> None:
    court = Court(protection_blocks=2)
    the_case = court.file(accused_block(court))
    jurors = jury(court, 1)
    closed = court.judge(1, dict.fromkeys(jurors, c.NOT_GUILTY))
    court.run_to(closed.closed_at + 3)
    assert c.court(court.state()).protected == []  # forgotten once expired
    while True:
        head = court.chain.head
        if head.producer == the_case.accused:
            break
        court.block()
    court.block(court.accuse(court.chain.head.number))
    assert court.case(2).accused == the_case.accused


def test_a_tie_is_not_guilty() -> None:
    """Two jurors: the cap makes their weights equal whatever their REP, so a split is a tie."""
    court = Court(jury_size=2, juror_reward=dollars(1))
    court.file(accused_block(court))
    jurors = jury(court, 1)
    closed = court.judge(1, {jurors[0]: c.GUILTY, jurors[1]: c.NOT_GUILTY})
    assert closed.guilty_weight == closed.not_guilty_weight > 0
    assert closed.verdict == c.NOT_GUILTY
    assert [j.payout for j in closed.jurors] == [0, dollars(1)]
    assert_case_conserves(closed)
    assert_rep_exact(court)


def test_no_reveals_is_not_guilty_and_every_absent_juror_is_penalised() -> None:
    court = Court()
    the_case = court.file(accused_block(court))
    jurors = jury(court, 1)
    before = {j: rep_weight(court, j) for j in jurors}
    closed = court.judge(1, dict.fromkeys(jurors, c.GUILTY), reveal=[])
    assert closed.verdict == c.NOT_GUILTY and closed.guilty_weight == 0
    assert closed.closed_at == closed.reveal_ends  # no early close: it waited for reveals
    assert [j.penalty for j in closed.jurors] == [PARAMS.juror_absent_penalty] * 3
    assert closed.returned == the_case.stake  # nobody to pay
    assert closed.burned == 3 * PARAMS.juror_absent_penalty
    for j in jurors:
        assert rep_weight(court, j) <= before[j] - PARAMS.juror_absent_penalty + dollars(50)
    assert_case_conserves(closed)
    assert_rep_exact(court)


def test_an_absent_juror_loses_its_penalty_and_the_others_decide() -> None:
    court = Court()
    court.file(accused_block(court))
    jurors = jury(court, 1)
    votes = dict.fromkeys(jurors, c.GUILTY)
    closed = court.judge(1, votes, reveal=jurors[:2])
    assert closed.verdict == c.GUILTY
    assert [j.penalty for j in closed.jurors] == [0, 0, PARAMS.juror_absent_penalty]
    assert [j.payout for j in closed.jurors] == [PARAMS.juror_reward] * 2 + [0]
    assert_case_conserves(closed)
    assert_rep_exact(court)


def test_the_case_closes_early_when_every_juror_has_revealed() -> None:
    court = Court()
    court.file(accused_block(court))
    jurors = jury(court, 1)
    closed = court.judge(1, dict.fromkeys(jurors, c.NOT_GUILTY))
    assert closed.closed_at < closed.reveal_ends
    assert closed.closed_at == closed.commit_ends + 1  # the block with the reveals


def test_a_case_without_eligible_jurors_closes_not_guilty() -> None:
    court = Court(min_juror_rep=dollars(10**6))
    the_case = court.file(accused_block(court))
    court.to_phase(1, c.CLOSED)
    closed = court.case(1)
    assert closed.jurors == [] and closed.verdict == c.NOT_GUILTY
    assert closed.closed_at == the_case.draw_at and closed.returned == the_case.stake
    assert_rep_exact(court)


def test_a_slash_too_small_for_the_rewards_pays_jurors_first_and_mints_nothing() -> None:
    court = Court(censorship_slash_ppm=1, flagger_reward=dollars(5))
    the_case = court.file(accused_block(court))
    jurors = jury(court, 1)
    closed = court.judge(1, dict.fromkeys(jurors, c.GUILTY))
    pot = closed.slashed
    assert 0 < pot < 3 * PARAMS.juror_reward
    assert [j.payout for j in closed.jurors] == [pot // 3] * 3
    assert closed.flagger_paid == pot - 3 * (pot // 3) and closed.returned == the_case.stake
    assert closed.burned == 0
    assert_case_conserves(closed)
    assert_rep_exact(court)


def test_a_block_found_censoring_cannot_be_accused_again() -> None:
    court = Court(accuse_window=40)
    number = accused_block(court)
    court.file(number)
    jurors = jury(court, 1)
    closed = court.judge(1, dict.fromkeys(jurors, c.GUILTY))
    assert closed.verdict == c.GUILTY
    assert court.chain.head.number - number <= 40
    assert c.block_ref(court.state(), number).guilty_case == 1
    refused(court, court.accuse(number), "already found censoring in case #1")


def test_old_block_records_are_pruned() -> None:
    court = Court()
    court.run_to(PARAMS.accuse_window + 12)
    state = court.state()
    head = court.chain.head.number
    assert c.court(state).pruned_below == head - PARAMS.accuse_window
    assert c.block_ref(state, head - PARAMS.accuse_window - 1).is_empty()
    assert not c.block_ref(state, head - PARAMS.accuse_window).is_empty()
    old_hash = court.chain.get_block_by_number(2).hash
    assert c.accusable_number(state, old_hash) == 0


# -- conservation over random juries ---------------------------------------------------------------


VOTE = st.sampled_from([c.GUILTY, c.NOT_GUILTY, c.NO_VOTE])


@settings(max_examples=12, deadline=None)
@given(st.lists(VOTE, min_size=3, max_size=3), st.integers(1, 1_000_000))
def test_every_outcome_conserves_rep(votes: list[int], slash_ppm: int) -> None:
    court = Court(censorship_slash_ppm=slash_ppm)
    court.file(accused_block(court))
    jurors = jury(court, 1)
    ballots = {j: v for j, v in zip(jurors, votes, strict=True) if v != c.NO_VOTE}
    every = {j: v if v != c.NO_VOTE else c.GUILTY for j, v in zip(jurors, votes, strict=True)}
    closed = court.judge(1, every, reveal=list(ballots))
    guilty = sum(j.weight for j in closed.jurors if ballots.get(j.address) == c.GUILTY)
    not_guilty = sum(j.weight for j in closed.jurors if ballots.get(j.address) == c.NOT_GUILTY)
    assert closed.verdict == (c.GUILTY if guilty > not_guilty else c.NOT_GUILTY)
    assert_case_conserves(closed)
    assert_rep_exact(court)
