"""EVIDENCE (PROTOCOL section 11): equivocations and invalid blocks proven by a transaction,
checked by every node, and the slash they bring; every way evidence is refused, each with its
own error; conservation of REP through the whole path (minted = credited + burned)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judicial import evidence
from judicial.evidence import (
    EQUIVOCATION,
    EVIDENCE_KINDS,
    INVALID_BLOCK,
    Evidence,
    find_offence,
    keep_barred_out,
    offence_id,
)
from judicial.module import JudicialEvidenceModule
from judicial.slashes import slash_history
from porchain.chain import Chain
from porchain.composition import core_modules
from porchain.consensus.asc import Amount, encumber
from porchain.consensus.ledger import mint_rep
from porchain.consensus.modules import Rules
from porchain.consensus.slots import advance_to_slot, scheduled_producer
from porchain.consensus.transition import process_block, validate_transaction
from porchain.crypto.hashing import keccak
from porchain.crypto.keys import PrivateKey
from porchain.errors import InvalidBlock, InvalidTransaction
from porchain.params import PPM
from porchain.state.state import State
from porchain.types.blocks import Block, Header
from porchain.types.codec import RLPItem
from porchain.types.transactions import Transaction, TxKind
from tests.factories import (
    KEYS,
    build_on_head,
    dollars,
    extend,
    keys_by_address,
    make_genesis,
    new_chain,
    resign,
    sign_tx,
    transfer,
)

PRODUCERS = KEYS[:2]
WHISTLEBLOWER = KEYS[3]
OUTSIDER = KEYS[5]  # funded, holds no REP
REP_EACH = dollars(100)


def judicial_rules() -> Rules:
    return Rules([*core_modules(), JudicialEvidenceModule()])


def judicial_chain(**wsc: int) -> Chain:
    alloc = {k: {"balance": "1000"} for k in KEYS}
    for producer in PRODUCERS:
        alloc[producer] = {"balance": "1000", "rep_encumbered": "100"}
    return new_chain(make_genesis(alloc, wsc=wsc), rules=judicial_rules())


def nonce(chain: Chain, key: PrivateKey) -> int:
    return chain.state().account(key.address).nonce


def evidence_tx(chain: Chain, evidence: Evidence | list[RLPItem], key=WHISTLEBLOWER) -> Transaction:
    payload = evidence.to_rlp() if isinstance(evidence, Evidence) else evidence
    return sign_tx(key, TxKind.EVIDENCE, payload, nonce=nonce(chain, key))


def pending(chain: Chain) -> State:
    """The head state a few slots on, as a node's mempool checks evidence of the latest slots."""
    return advance_to_slot(chain.state(), chain.head.slot + 4, chain.rules)


def refusal(chain: Chain, tx: Transaction) -> str:
    """Why the state refuses `tx` (it must)."""
    with pytest.raises(InvalidTransaction) as caught:
        validate_transaction(pending(chain), tx, chain.rules)
    return str(caught.value)


def twins(chain: Chain) -> tuple[Header, Header]:
    """Two valid blocks for the next slot, one producer: the head and a side block."""
    one = build_on_head(chain, keys=PRODUCERS).block
    other = build_on_head(chain, slot=one.slot, keys=PRODUCERS, extra=b"twin").block
    first, second = sorted((one, other), key=lambda b: b.hash)
    assert chain.import_block(first).status == "head"
    assert chain.import_block(second).status == "side"
    return first.header, second.header


def invalid_block(chain: Chain, **changes: object) -> Block:
    """The next block, re-signed by its producer with header `changes`: refused on import."""
    block = build_on_head(chain, keys=PRODUCERS).block
    bad = resign(block, keys_by_address()[block.header.producer], **changes)
    with pytest.raises(InvalidBlock):
        chain.import_block(bad)
    return bad


def wrong_root(block_root: bytes) -> bytes:
    return keccak(b"not the state root" + block_root)


def signer_of(header: Header) -> PrivateKey:
    return keys_by_address()[header.producer]


# -- equivocation ----------------------------------------------------------------------------


def test_an_equivocation_slashes_all_the_producers_rep_and_rewards_the_whistleblower() -> None:
    chain = judicial_chain()
    a, b = twins(chain)
    offender = a.producer
    rep_before = chain.state().supply.rep
    assert chain.state().account(offender).rep_weight == REP_EACH

    block = extend(chain, [evidence_tx(chain, Evidence.equivocation(a, b))], keys=PRODUCERS)

    state = chain.state()
    reward = REP_EACH * 50_000 // PPM  # whistleblower_ppm: 5% of the slash
    assert state.account(offender).rep_weight == 0
    assert state.account(offender).asc_weight == 0
    assert state.account(WHISTLEBLOWER.address).rep == reward
    assert state.supply.rep == rep_before - REP_EACH + reward
    history = slash_history(state, offender)
    assert (history.count, history.total) == (1, REP_EACH)
    (recent,) = history.recent
    assert (recent.number, recent.offence, recent.amount) == (block.number, EQUIVOCATION, REP_EACH)
    assert recent.ref == offence_id(offender, a.slot)
    punished = find_offence(state, offender, a.slot)
    assert punished is not None
    assert (punished.kind, punished.amount, punished.reward) == (EQUIVOCATION, REP_EACH, reward)
    assert punished.whistleblower == WHISTLEBLOWER.address
    assert punished.tx == block.transactions[0].hash


def test_the_pair_in_either_order_proves_the_same_offence_once() -> None:
    chain = judicial_chain()
    a, b = twins(chain)
    extend(chain, [evidence_tx(chain, Evidence.equivocation(a, b))], keys=PRODUCERS)
    again = evidence_tx(chain, Evidence.equivocation(b, a), key=KEYS[4])
    assert "already punished" in refusal(chain, again)
    assert f"for slot {a.slot}" in refusal(chain, again)


def test_a_forged_signature_proves_nothing() -> None:
    chain = judicial_chain()
    a, b = twins(chain)
    forger = KEYS[4]  # signs a header that names the producer
    forged = replace(b, signature=b"").signed(forger)
    assert "forged signature" in refusal(
        chain, evidence_tx(chain, Evidence.equivocation(a, forged))
    )
    garbled = replace(b, signature=b"\x01" * 65)
    assert "forged signature" in refusal(
        chain, evidence_tx(chain, Evidence.equivocation(garbled, a))
    )


def test_the_same_header_twice_proves_nothing() -> None:
    chain = judicial_chain()
    a, _ = twins(chain)
    message = refusal(chain, evidence_tx(chain, Evidence.equivocation(a, a)))
    assert "the same header twice" in message


def test_headers_of_different_slots_prove_nothing() -> None:
    chain = judicial_chain()
    a, b = twins(chain)
    later = replace(b, slot=b.slot + 1, signature=b"").signed(signer_of(b))
    message = refusal(chain, evidence_tx(chain, Evidence.equivocation(a, later)))
    assert f"different slots ({a.slot} and {a.slot + 1})" in message


def test_headers_of_different_producers_prove_nothing() -> None:
    chain = judicial_chain()
    a, b = twins(chain)
    other = next(k for k in PRODUCERS if k.address != a.producer)
    theirs = replace(b, producer=other.address, signature=b"").signed(other)
    message = refusal(chain, evidence_tx(chain, Evidence.equivocation(a, theirs)))
    assert "different producers" in message


def test_an_unknown_producer_has_nothing_to_slash() -> None:
    chain = judicial_chain()
    a, b = twins(chain)
    pair = [replace(h, producer=OUTSIDER.address, signature=b"").signed(OUTSIDER) for h in (a, b)]
    message = refusal(chain, evidence_tx(chain, Evidence.equivocation(*pair)))
    assert "unknown producer" in message and "holds no REP" in message


def test_evidence_is_stale_after_the_window_and_early_before_the_slot() -> None:
    chain = judicial_chain(evidence_window_slots=6)
    a, b = twins(chain)
    while chain.head.slot - a.slot <= 6:
        extend(chain, keys=PRODUCERS)
    message = refusal(chain, evidence_tx(chain, Evidence.equivocation(a, b)))
    assert f"stale evidence: slot {a.slot} is" in message and "window of 6" in message
    future = [
        replace(h, slot=chain.head.slot + 50, signature=b"").signed(signer_of(h)) for h in (a, b)
    ]
    assert "in the future" in refusal(chain, evidence_tx(chain, Evidence.equivocation(*future)))


def test_punished_offences_are_forgotten_once_stale_and_the_bar_over() -> None:
    chain = judicial_chain(evidence_window_slots=6)
    a, b = twins(chain)
    extend(chain, [evidence_tx(chain, Evidence.equivocation(a, b))], keys=PRODUCERS)
    punished = find_offence(chain.state(), a.producer, a.slot)
    assert punished is not None
    honest = [k for k in PRODUCERS if k.address != a.producer]
    while chain.head.slot - a.slot <= 6 or chain.head.slot < punished.barred_until:
        assert find_offence(chain.state(), a.producer, a.slot) is not None
        extend(chain, keys=honest)
    extend(chain, keys=honest)
    assert find_offence(chain.state(), a.producer, a.slot) is None
    assert "stale evidence" in refusal(chain, evidence_tx(chain, Evidence.equivocation(a, b)))


def test_a_slashed_producer_may_not_produce_until_the_next_drawn_schedule() -> None:
    """Its slots already drawn stay empty (consensus-specs refuse a slashed proposer's block);
    the first schedule drawn after the slash leaves it out, as it has no ASC weight."""
    chain = judicial_chain()
    a, b = twins(chain)
    block = extend(chain, [evidence_tx(chain, Evidence.equivocation(a, b))], keys=PRODUCERS)
    punished = find_offence(chain.state(), a.producer, a.slot)
    assert punished is not None
    epoch_slots = chain.state().params.epoch_slots
    assert punished.barred_until == (block.slot // epoch_slots + 2) * epoch_slots
    offender = signer_of(a)
    slot = next(
        s
        for s in range(chain.head.slot + 1, punished.barred_until)
        if scheduled_producer(chain.state(), s, chain.rules) == offender.address
    )
    with pytest.raises(InvalidBlock, match=r"was slashed in block #.*may not produce before slot"):
        build_on_head(chain, slot=slot, keys=[offender])
    honest = [k for k in PRODUCERS if k.address != a.producer]
    while chain.head.slot < punished.barred_until + 2 * epoch_slots:
        extend(chain, keys=honest)
    for epoch in range(punished.barred_until // epoch_slots, chain.head.slot // epoch_slots + 2):
        assert offender.address not in chain.state().schedule(epoch).producers


@pytest.mark.parametrize(
    "payload, expected",
    [
        ([], "malformed EVIDENCE"),
        ([b"\x07", b"", b"", b""], "kind 7 is neither"),
        ([b"", b"\x01\x02", b"\x03", b""], "malformed EVIDENCE"),
        ([b"", b"", b"", b"\x05"], "an equivocation has no parent number"),
        ([b"\x01", b"\xc0", b"", b""], "malformed EVIDENCE"),
        ([b"\x01", b"", b"\x01", b""], "an invalid block is one block"),
    ],
)
def test_malformed_evidence_is_refused(payload: list[RLPItem], expected: str) -> None:
    chain = judicial_chain()
    assert expected in refusal(chain, evidence_tx(chain, payload))


# -- invalid blocks --------------------------------------------------------------------------


def test_an_invalid_block_slashes_its_producer() -> None:
    chain = judicial_chain()
    bad = invalid_block(chain, state_root=wrong_root(b""))
    offender = bad.header.producer
    extend(
        chain, [evidence_tx(chain, Evidence.invalid_block(bad, chain.head.number))], keys=PRODUCERS
    )
    state = chain.state()
    assert state.account(offender).rep_weight == 0
    assert state.account(WHISTLEBLOWER.address).rep == REP_EACH * 50_000 // PPM
    (recent,) = slash_history(state, offender).recent
    assert (recent.offence, recent.amount) == (INVALID_BLOCK, REP_EACH)
    assert find_offence(state, offender, bad.slot) is not None
    twin_headers = Evidence.invalid_block(bad, chain.head.number - 1)
    assert "already punished" in refusal(chain, evidence_tx(chain, twin_headers, key=KEYS[4]))


def test_a_block_with_a_refused_transaction_is_provably_invalid() -> None:
    chain = judicial_chain()
    built = build_on_head(chain, keys=PRODUCERS).block
    producer = signer_of(built.header)
    gap = sign_tx(producer, TxKind.ENCUMBER, Amount(1).to_rlp(), nonce=1000)
    bad = resign(built, producer, transactions=[*built.transactions, gap])
    with pytest.raises(InvalidBlock, match="nonce gap"):
        chain.import_block(bad)
    parent = chain.head.number
    for _ in range(3):  # its parent a few blocks back: re-checked on the state then
        extend(chain, keys=PRODUCERS)
    extend(chain, [evidence_tx(chain, Evidence.invalid_block(bad, parent))], keys=PRODUCERS)
    assert slash_history(chain.state(), producer.address).count == 1
    assert chain.state().account(producer.address).rep_weight == 0


def test_a_valid_block_given_as_invalid_proves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = judicial_chain()
    good = build_on_head(chain, keys=PRODUCERS).block
    message = refusal(chain, evidence_tx(chain, Evidence.invalid_block(good, chain.head.number)))
    assert "is valid on its parent: it proves nothing" in message
    monkeypatch.setattr(evidence, "process_block", no_re_run)  # from here on, no re-run
    again = evidence_tx(chain, Evidence.invalid_block(good, chain.head.number), key=KEYS[4])
    assert "is valid on its parent: it proves nothing" in refusal(chain, again)  # remembered
    chain.import_block(good)  # still valid, imported: and proves nothing later either
    later = extend(chain, keys=PRODUCERS)  # a canonical block never sent as evidence before
    message = refusal(chain, evidence_tx(chain, Evidence.invalid_block(later, good.number)))
    assert f"is canonical block #{later.number}: it proves nothing" in message


def no_re_run(*args: object) -> None:
    raise AssertionError("the block was re-run")


def test_a_header_with_another_body_proves_nothing() -> None:
    chain = judicial_chain()
    good = build_on_head(chain, keys=PRODUCERS).block
    other_body = Block(
        good.header, (sign_tx(KEYS[4], TxKind.ENCUMBER, Amount(1).to_rlp(), nonce=0),)
    )
    message = refusal(chain, evidence_tx(chain, Evidence.invalid_block(other_body, 0)))
    assert "do not match the header's tx_root" in message


def test_an_invalid_block_signed_by_someone_else_proves_nothing() -> None:
    chain = judicial_chain()
    built = build_on_head(chain, keys=PRODUCERS).block
    forged = Block(replace(built.header, signature=b"").signed(KEYS[4]), built.transactions)
    message = refusal(chain, evidence_tx(chain, Evidence.invalid_block(forged, chain.head.number)))
    assert "forged signature" in message
    impostor = resign(built, OUTSIDER, producer=OUTSIDER.address)  # wrong producer, no REP
    message = refusal(
        chain, evidence_tx(chain, Evidence.invalid_block(impostor, chain.head.number))
    )
    assert "unknown producer" in message


def test_the_parent_must_be_canonical_and_within_the_window() -> None:
    chain = judicial_chain(evidence_window_slots=8)
    bad = invalid_block(chain, state_root=wrong_root(b""))
    parent = chain.head.number
    wrong_height = refusal(chain, evidence_tx(chain, Evidence.invalid_block(bad, parent + 1)))
    assert "is not canonical block" in wrong_height
    for _ in range(9):
        extend(chain, keys=PRODUCERS)
    message = refusal(chain, evidence_tx(chain, Evidence.invalid_block(bad, parent)))
    assert "stale evidence" in message


def test_an_invalid_block_carrying_evidence_is_re_checked_with_it() -> None:
    """Evidence inside a re-run block is itself checked on the past state it names: the past
    views compose, so a block carrying valid evidence is valid, and breaking another rule in it
    is still provable."""
    chain = judicial_chain()
    first = invalid_block(chain, state_root=wrong_root(b""))
    inner = evidence_tx(chain, Evidence.invalid_block(first, chain.head.number))
    other = next(k for k in PRODUCERS if k.address != first.header.producer)
    for _ in range(2):  # the inner evidence's parent, re-read through two past views
        extend(chain, keys=PRODUCERS)
    carrying = build_on_head(chain, [inner], keys=[other]).block
    assert carrying.transactions == (inner,)
    parent = chain.head.number
    broken = resign(carrying, other, state_root=wrong_root(carrying.header.state_root))
    with pytest.raises(InvalidBlock):
        chain.import_block(broken)
    for _ in range(2):
        extend(chain, keys=PRODUCERS)
    outer = Evidence.invalid_block(carrying, parent)
    assert "proves nothing" in refusal(chain, evidence_tx(chain, outer, key=KEYS[4]))
    proof = evidence_tx(chain, Evidence.invalid_block(broken, parent), key=KEYS[4])
    validate_transaction(pending(chain), proof, chain.rules)  # accepted
    while chain.head.slot < broken.slot:  # its slot has passed on the chain too
        extend(chain, keys=PRODUCERS)
    extend(chain, [proof], keys=PRODUCERS)
    assert slash_history(chain.state(), other.address).count == 1


# -- conservation and arbitrary input --------------------------------------------------------


def post_state(chain: Chain, block: Block) -> State:
    state = State(chain.db)
    process_block(state, block, chain.rules)
    return state


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slash_ppm=st.integers(0, PPM), reward_ppm=st.integers(0, PPM), invalid=st.booleans())
def test_the_evidence_path_conserves_rep(slash_ppm: int, reward_ppm: int, invalid: bool) -> None:
    """The same block with the evidence and with a transfer paying the same fee instead: what
    differs is exactly the slash, the reward credited and the rest burned; nothing is minted."""
    chain = judicial_chain(equivocation_slash_ppm=slash_ppm, whistleblower_ppm=reward_ppm)
    if invalid:
        bad = invalid_block(chain, state_root=wrong_root(b""))
        offender, evidence = bad.header.producer, Evidence.invalid_block(bad, chain.head.number)
    else:
        a, b = twins(chain)
        offender, evidence = a.producer, Evidence.equivocation(a, b)
    tx = evidence_tx(chain, evidence)
    same_fee = transfer(WHISTLEBLOWER, OUTSIDER.address, 1, nonce=tx.nonce, fee=tx.fee)
    slot = build_on_head(chain, keys=PRODUCERS).block.slot
    with_evidence = post_state(chain, build_on_head(chain, [tx], slot=slot, keys=PRODUCERS).block)
    without = post_state(chain, build_on_head(chain, [same_fee], slot=slot, keys=PRODUCERS).block)
    taken = slash_history(with_evidence, offender).total
    assert slash_history(without, offender).total == 0
    weight = without.account(offender).rep_weight
    assert weight * slash_ppm // PPM - 2 < taken <= weight * slash_ppm // PPM
    reward = taken * reward_ppm // PPM
    after, before = with_evidence.supply, without.supply
    assert with_evidence.account(offender).rep_weight == weight - taken
    assert with_evidence.account(offender).rep_encumbered == 0  # released from the ASC
    assert with_evidence.account(WHISTLEBLOWER.address).rep == reward
    assert after.rep_minted == before.rep_minted  # minted = credited + burned: nothing minted
    assert after.rep_burned - before.rep_burned == taken - reward
    assert before.rep - after.rep == taken - reward  # supply falls by slash minus reward
    assert after.rep_pooled == before.rep_pooled
    owned = sum(with_evidence.account(k.address).rep_weight for k in KEYS)
    assert owned == after.rep


@settings(max_examples=200, deadline=None)
@given(
    payload=st.recursive(st.binary(max_size=40), lambda c: st.lists(c, max_size=5), max_leaves=12)
)
def test_arbitrary_payloads_are_refused_cleanly(payload: RLPItem) -> None:
    handler = JudicialEvidenceModule().evidence
    items = payload if isinstance(payload, list) else [payload]
    try:
        proof = handler.decode(items)
    except InvalidTransaction as exc:
        assert str(exc)  # an error the sender can read, never another exception
    else:
        assert proof.kind in EVIDENCE_KINDS


def test_rules_without_the_module_refuse_evidence_as_unsupported() -> None:
    chain = new_chain()
    tx = sign_tx(WHISTLEBLOWER, TxKind.EVIDENCE, Evidence().to_rlp(), nonce=0)
    with pytest.raises(InvalidTransaction, match="unsupported transaction kind EVIDENCE"):
        validate_transaction(chain.state(), tx, chain.rules)
    assert isinstance(State(chain.db).reader, type(chain.db))


def test_what_a_barred_producer_gains_is_forfeited_and_what_it_encumbers_released() -> None:
    chain = judicial_chain()
    a, b = twins(chain)
    extend(chain, [evidence_tx(chain, Evidence.equivocation(a, b))], keys=PRODUCERS)
    state = chain.state()
    punished = find_offence(state, a.producer, a.slot)
    assert punished is not None and punished.kept == 0
    burned = state.supply.rep_burned
    mint_rep(state, a.producer, dollars(3))  # a pool of before the slash pays it
    encumber(state, a.producer, dollars(1))  # and it encumbers that again
    keep_barred_out(state, punished.barred_until - 1)
    assert state.account(a.producer).rep_weight == 0
    assert state.account(a.producer).asc_weight == 0
    assert state.supply.rep_burned == burned + dollars(3)
    assert punished.amount == REP_EACH + dollars(3)
    history = slash_history(state, a.producer)
    assert history.total == history.recent[0].amount == REP_EACH + dollars(3)
    mint_rep(state, a.producer, dollars(2))  # once the bar is over it keeps what it earns
    keep_barred_out(state, punished.barred_until)
    assert state.account(a.producer).rep == dollars(2)
