"""The relay's rules: checked bids only, signed by the relay, bodies to the accepting producer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from porchain.builder import build_unsigned
from porchain.chain import Chain
from porchain.consensus.slots import scheduled_producer
from porchain.crypto.keys import PrivateKey
from porchain.errors import InvalidBlock
from porchain.pbs.messages import (
    BUILDER_BID,
    RELAY_BID,
    Acceptance,
    Bid,
    SignedBid,
    Submission,
)
from porchain.pbs.relay import BUILDERS_PER_SLOT, KEEP_MS, Relay, RelayError
from porchain.pbs.value import check_unsigned_block
from porchain.types.blocks import Block
from tests.factories import CHAIN_ID, KEYS, PRODUCER, dollars, next_slot, transfer

BUILDER, OTHER_BUILDER = KEYS[3], KEYS[4]
RELAY_KEY = PrivateKey(b"\x42" * 32)


def chain_checker(chain: Chain):
    """builder_checkBlock, in-process, on `chain`'s head."""

    async def check_block(raw: bytes) -> dict:
        try:
            checked = check_unsigned_block(chain.state(), Block.decode(raw), chain.rules)
        except InvalidBlock as exc:
            return {"valid": False, "error": str(exc)}
        return {"valid": True, "value": str(checked.value)}

    return check_block


def relay_on(chain: Chain, clock: list[int]) -> Relay:
    return Relay(RELAY_KEY, CHAIN_ID, chain_checker(chain), lambda: clock[0])


def submission(
    chain: Chain, builder: PrivateKey, pay: int, *, claim: int | None = None
) -> Submission:
    slot, _ = next_slot(chain, chain.head.slot)
    producer = scheduled_producer(chain.state(), slot, chain.rules)
    payment = transfer(builder, producer, pay, nonce=0)
    block = build_unsigned(chain.state(), chain.head, slot, producer, [payment], chain.rules).block
    value = check_unsigned_block(chain.state(), block, chain.rules).value
    bid = Bid(CHAIN_ID, block.header, value if claim is None else claim, builder.address)
    return Submission(SignedBid.sign(bid, builder, BUILDER_BID), block.transactions)


@pytest.fixture
def clock() -> list[int]:
    return [1_000_000]


async def test_the_best_checked_bid_is_offered_signed_by_the_relay(chain: Chain, clock) -> None:
    relay = relay_on(chain, clock)
    low, high = submission(chain, BUILDER, dollars(1)), submission(chain, OTHER_BUILDER, dollars(2))
    for sub in (low, high):
        await relay.submit(sub.encode())
    header = high.signed.bid.header
    best = relay.best_bid(header.slot, header.parent_hash, header.producer)
    assert best is not None and best.bid == high.signed.bid
    assert best.signer(RELAY_BID) == RELAY_KEY.address
    assert relay.best_bid(header.slot + 1, header.parent_hash, header.producer) is None


async def test_refused_submissions_change_nothing(chain: Chain, clock) -> None:
    relay = relay_on(chain, clock)
    honest = submission(chain, BUILDER, dollars(1))
    overclaimed = submission(chain, BUILDER, dollars(1), claim=dollars(50))
    forged = Submission(
        SignedBid(
            honest.signed.bid, OTHER_BUILDER.sign_hash(honest.signed.bid.signing_hash(BUILDER_BID))
        ),
        honest.transactions,
    )
    truncated = Submission(honest.signed, ())
    cases = [
        (overclaimed.encode(), "the block pays"),
        (forged.encode(), "not signed by the builder"),
        (truncated.encode(), "tx_root"),
        (b"\xc0", "not a signed submission"),
    ]
    for raw, why in cases:
        with pytest.raises(RelayError, match=why) as refused:
            await relay.submit(raw)
        assert refused.value.status == 400
    assert relay.offers == {}


async def test_the_body_goes_to_the_accepting_producer_once_per_slot(chain: Chain, clock) -> None:
    relay = relay_on(chain, clock)
    first, second = (
        submission(chain, BUILDER, dollars(1)),
        submission(chain, OTHER_BUILDER, dollars(2)),
    )
    for sub in (first, second):
        await relay.submit(sub.encode())
    header = first.signed.bid.header
    assert header.producer == PRODUCER.address
    with pytest.raises(RelayError, match="not signed by the header's producer"):
        relay.reveal(Acceptance.sign(CHAIN_ID, header, BUILDER).encode())
    body = relay.reveal(Acceptance.sign(CHAIN_ID, header, PRODUCER).encode())
    assert body == first.transactions
    assert relay.reveal(Acceptance.sign(CHAIN_ID, header, PRODUCER).encode()) == body  # again
    with pytest.raises(RelayError, match="already revealed") as refused:
        relay.reveal(Acceptance.sign(CHAIN_ID, second.signed.bid.header, PRODUCER).encode())
    assert refused.value.status == 409
    unknown = replace(header, state_root=b"\x07" * 32)
    with pytest.raises(RelayError, match="no bid") as refused:
        relay.reveal(Acceptance.sign(CHAIN_ID, unknown, PRODUCER).encode())
    assert refused.value.status == 404


async def test_bids_are_bounded_and_forgotten(chain: Chain, clock) -> None:
    relay = relay_on(chain, clock)
    builders = [PrivateKey(bytes([9, i + 1]) + b"\x01" * 30) for i in range(BUILDERS_PER_SLOT + 3)]
    # unfunded builders cannot pay: they bid with blocks paying nothing
    for builder in builders:
        slot, _ = next_slot(chain, chain.head.slot)
        producer = scheduled_producer(chain.state(), slot, chain.rules)
        block = build_unsigned(chain.state(), chain.head, slot, producer, [], chain.rules).block
        value = check_unsigned_block(chain.state(), block, chain.rules).value
        bid = Bid(CHAIN_ID, block.header, value, builder.address)
        await relay.submit(Submission(SignedBid.sign(bid, builder, BUILDER_BID), ()).encode())
    assert sum(len(o) for o in relay.offers.values()) == BUILDERS_PER_SLOT
    clock[0] += KEEP_MS + 1
    await relay.submit(submission(chain, BUILDER, dollars(1)).encode())
    assert sum(len(o) for o in relay.offers.values()) == 1
