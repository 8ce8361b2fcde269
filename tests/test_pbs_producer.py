"""The producer's side of builder/relay separation, every fault path: the relay is the real
RelayApp reached in-process (httpx's ASGI transport), on virtual time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import httpx
import pytest
import trio

from porchain.builder import build_unsigned
from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.crypto.keys import to_checksum_address
from porchain.node import Node, NodeConfig
from porchain.pbs.attacks import OverstatingRelay, UncheckedRelay, WithholdingRelay
from porchain.pbs.client import RelayAddress
from porchain.pbs.messages import BUILDER_BID, Bid, SignedBid, Submission
from porchain.pbs.record import BUILDER, RELAY, SourceRecord
from porchain.pbs.relay import Relay
from porchain.pbs.relay_app import RelayApp
from porchain.pbs.value import check_unsigned_block
from porchain.rpc.methods import PorApi
from porchain.types.blocks import Block
from porchain.types.transactions import Transaction
from tests.factories import CHAIN_ID, GENESIS_TIME_MS, KEYS, PRODUCER, dollars, transfer
from tests.test_pbs_relay import chain_checker

BUILDER_KEY, USER = KEYS[3], KEYS[5]
RELAY_KEY = KEYS[6]
SLOT = 20  # 2 s after genesis (100 ms slots): a transaction sent at genesis is long seen
WAIT_MS = 30


def relay_of(cls: type[Relay], chain: Chain, **args: object) -> Relay:
    """A relay of `cls` checking blocks on `chain`, as builder_checkBlock would."""
    return cls(RELAY_KEY, CHAIN_ID, chain_checker(chain), lambda: GENESIS_TIME_MS, args=dict(args))


def bid_for(
    chain: Chain,
    pay: int,
    *,
    txs: Sequence[Transaction] = (),
    claim: int | None = None,
    state_root: bytes | None = None,
) -> Submission:
    """A builder's block for SLOT: its payment to the producer, then `txs`."""
    payment = transfer(BUILDER_KEY, PRODUCER.address, pay, nonce=0)
    built = build_unsigned(
        chain.state(), chain.head, SLOT, PRODUCER.address, [payment, *txs], chain.rules
    )
    block = built.block
    value = check_unsigned_block(chain.state(), block, chain.rules).value
    header = block.header if state_root is None else replace(block.header, state_root=state_root)
    bid = Bid(CHAIN_ID, header, value if claim is None else claim, BUILDER_KEY.address)
    return Submission(SignedBid.sign(bid, BUILDER_KEY, BUILDER_BID), block.transactions)


async def producer(nursery: trio.Nursery, chain: Chain, app: object) -> Node:
    clock = SlotClock(GENESIS_TIME_MS, chain.state().params.slot_ms, offset_ms=GENESIS_TIME_MS)
    address = RelayAddress.parse(f"http://0x{RELAY_KEY.address.hex()}@relay.test")
    config = NodeConfig(
        rpc_port=None,
        produce=False,
        relays=(address,),
        relay_wait_ms=WAIT_MS,
        relay_transport=httpx.ASGITransport(app=app),
    )
    node = Node(chain, clock, key=PRODUCER, config=config)
    await nursery.start(node.run)
    return node


async def produce(node: Node) -> Block:
    await node.clock.wait_for_slot(SLOT)
    block = await node.produce_block_with_relays(SLOT)
    assert block is not None and node.chain.head.hash == block.hash
    return block


def record(node: Node, role: bytes, address: bytes) -> SourceRecord:
    assert node.sourcing is not None
    return node.sourcing.book.records[role, address]


def faults(node: Node, role: bytes, address: bytes) -> dict[str, int]:
    return {k: v for k, v in record(node, role, address).to_json()["faults"].items() if v}


@pytest.fixture
def clock(autojump_clock: trio.testing.MockClock) -> trio.testing.MockClock:
    return autojump_clock


async def test_a_bid_worth_more_is_signed(nursery: trio.Nursery, chain: Chain, clock) -> None:
    relay = relay_of(Relay, chain)
    node = await producer(nursery, chain, RelayApp(relay))
    sub = bid_for(chain, dollars(2))
    await relay.submit(sub.encode())
    block = await produce(node)
    assert block.header.signing_hash == sub.signed.bid.header.signing_hash
    assert block.transactions == sub.transactions
    assert record(node, RELAY, RELAY_KEY.address).wins == 1
    assert record(node, BUILDER, BUILDER_KEY.address).wins == 1
    assert faults(node, RELAY, RELAY_KEY.address) == {}
    (entry,) = node.sourcing.produced.recent(1)
    assert entry.source == "relay" and entry.block_hash == "0x" + block.hash.hex()
    assert int(entry.value) >= int(entry.local_value) + dollars(2)


async def test_a_bid_worth_less_than_our_block_is_not_taken(
    nursery: trio.Nursery, chain: Chain, clock
) -> None:
    relay = relay_of(Relay, chain)
    node = await producer(nursery, chain, RelayApp(relay))
    await relay.submit(bid_for(chain, dollars(1), claim=0).encode())
    block = await produce(node)
    assert block.transactions == ()
    assert record(node, RELAY, RELAY_KEY.address).bids == 1
    assert record(node, RELAY, RELAY_KEY.address).wins == 0
    (entry,) = node.sourcing.produced.recent(1)
    assert entry.source == "local" and entry.fallback is None


async def test_a_relay_that_does_not_answer_in_time_is_a_timeout(
    nursery: trio.Nursery, chain: Chain, clock
) -> None:
    async def silent(scope, receive, send) -> None:
        await trio.sleep_forever()

    node = await producer(nursery, chain, silent)
    started = trio.current_time()
    block = await produce(node)
    assert block.transactions == ()
    assert trio.current_time() - started <= SLOT * 0.1 + 2 * WAIT_MS / 1000
    assert faults(node, RELAY, RELAY_KEY.address) == {"timeout": 1}
    assert not record(node, RELAY, RELAY_KEY.address).dropped


@pytest.mark.parametrize(
    ("relay_cls", "kind", "blamed"),
    [
        (WithholdingRelay, "withheld", (RELAY,)),
        (OverstatingRelay, "overstated", (RELAY, BUILDER)),
        (UncheckedRelay, "invalid", (RELAY, BUILDER)),
    ],
)
async def test_a_faulty_bid_falls_back_to_our_block_and_drops_its_source(
    nursery: trio.Nursery, chain: Chain, clock, relay_cls: type[Relay], kind: str, blamed
) -> None:
    args = {"after": 0} if relay_cls is WithholdingRelay else {"by": dollars(5)}
    relay = relay_of(relay_cls, chain, **({} if relay_cls is UncheckedRelay else args))
    node = await producer(nursery, chain, RelayApp(relay))
    bad_root = b"\x01" * 32 if relay_cls is UncheckedRelay else None
    await relay.submit(bid_for(chain, dollars(2), state_root=bad_root).encode())
    block = await produce(node)
    assert block.transactions == ()  # ours, within the slot
    for role, address in [(RELAY, RELAY_KEY.address), (BUILDER, BUILDER_KEY.address)]:
        if role in blamed:
            assert faults(node, role, address) == {kind: 1}
            assert record(node, role, address).dropped
            assert not node.sourcing.book.may_ask(role, address, SLOT + 1)
        else:
            assert faults(node, role, address) == {}
    (entry,) = node.sourcing.produced.recent(1)
    assert entry.source == "local" and entry.fallback.startswith(kind)


async def test_a_block_that_censors_by_our_log_is_not_signed(
    nursery: trio.Nursery, chain: Chain, clock
) -> None:
    relay = relay_of(Relay, chain)
    node = await producer(nursery, chain, RelayApp(relay))
    user_tx = transfer(USER, KEYS[7].address, dollars(1), nonce=0)
    node.receive_transaction(user_tx)  # at genesis: long before SLOT's censorship deadline
    await relay.submit(bid_for(chain, dollars(3)).encode())  # leaves it out
    block = await produce(node)
    assert block.transactions == (user_tx,)  # our own block, which includes it
    assert faults(node, BUILDER, BUILDER_KEY.address) == {"censoring": 1}
    assert faults(node, RELAY, RELAY_KEY.address) == {}  # a relay checks blocks, not mempools
    assert node.sourcing.book.may_ask(RELAY, RELAY_KEY.address, SLOT + 1)


async def test_the_record_is_served_over_rpc(nursery: trio.Nursery, chain: Chain, clock) -> None:
    relay = relay_of(WithholdingRelay, chain, after=0)
    node = await producer(nursery, chain, RelayApp(relay))
    await relay.submit(bid_for(chain, dollars(2)).encode())
    await produce(node)
    served = PorApi(node).por_getRelays(8)
    (shown,) = served["relays"]
    assert shown["url"] == str(node.config.relays[0]) and shown["faults"]["withheld"] == 1
    assert shown["dropped_at_slot"] == SLOT and shown["asked"] == 1 and shown["bids"] == 1
    assert [b["address"] for b in served["builders"]] == [to_checksum_address(BUILDER_KEY.address)]
    assert [b["source"] for b in served["blocks"]] == ["local"]
    assert served["blocks"][0]["fallback"].startswith("withheld: ")
