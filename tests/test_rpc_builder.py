"""The `builder_` RPC namespace over real HTTP: blocks built and checked for builders, relays."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.node import Node, NodeConfig
from porchain.rpc import errors
from porchain.types.blocks import Block
from tests.factories import KEYS, PRODUCER, dollars, new_chain, next_slot, transfer
from tests.test_rpc import Client, raw_hex

ALICE, BOB, BUILDER = KEYS[1], KEYS[2], KEYS[3]


async def serve(nursery: trio.Nursery, *, builder_api: bool) -> tuple[Node, Client]:
    chain: Chain = new_chain()
    state = chain.state()
    clock = SlotClock(state.chain.genesis_time_ms, state.params.slot_ms)
    config = NodeConfig(rpc_port=0, produce=False, builder_api=builder_api)
    node = Node(chain, clock, key=PRODUCER, config=config)
    await nursery.start(node.run)
    assert node.rpc_url is not None
    return node, Client(node.rpc_url)


@pytest.fixture
async def served(nursery: trio.Nursery) -> AsyncIterator[tuple[Node, Client]]:
    yield await serve(nursery, builder_api=True)


async def test_a_built_block_puts_the_payment_first_checks_and_imports_once_signed(
    served: tuple[Node, Client],
) -> None:
    node, client = served
    user_tx = transfer(ALICE, BOB.address, dollars(1), nonce=0)
    await client.call("por_sendRawTransaction", raw_hex(user_tx))
    payment = transfer(BUILDER, PRODUCER.address, dollars(2), nonce=0)
    slot, _ = next_slot(node.chain, node.chain.head.slot)
    built = await client.call("builder_buildBlock", slot, [raw_hex(payment)])
    block = Block.decode(bytes.fromhex(built["block"][2:]))
    assert [tx.hash for tx in block.transactions] == [payment.hash, user_tx.hash]
    assert built["slot"] == slot and built["transactions"] == 2 and not block.header.signature
    alone = await client.call("builder_buildBlock", slot, [], ["0x" + ALICE.address.hex()])
    gained = int(built["value"]) - int(alone["value"])  # both pay the subsidy as salary
    assert dollars(2) <= gained <= dollars(2) + payment.fee + user_tx.fee
    checked = await client.call("builder_checkBlock", built["block"])
    assert checked["valid"] and checked["value"] == built["value"]
    node.import_block(Block(block.header.signed(PRODUCER), block.transactions))
    assert node.chain.head.number == 1
    stale = await client.call("builder_checkBlock", built["block"])
    assert stale == {"valid": False, "error": "not built on the head"}


async def test_excluded_senders_are_left_out(served: tuple[Node, Client]) -> None:
    node, client = served
    await client.call("por_sendRawTransaction", raw_hex(transfer(ALICE, BOB.address, 1, nonce=0)))
    slot, _ = next_slot(node.chain, node.chain.head.slot)
    built = await client.call("builder_buildBlock", slot, [], ["0x" + ALICE.address.hex()])
    assert built["transactions"] == 0


async def test_a_tampered_block_is_invalid_and_garbage_is_refused(
    served: tuple[Node, Client],
) -> None:
    node, client = served
    slot, _ = next_slot(node.chain, node.chain.head.slot)
    built = await client.call("builder_buildBlock", slot)
    raw = bytearray(bytes.fromhex(built["block"][2:]))
    raw[-40] ^= 1  # inside the header's state root
    checked = await client.call("builder_checkBlock", "0x" + raw.hex())
    assert not checked["valid"] and "state_root" in checked["error"]
    error = await client.error("builder_checkBlock", "0x1234")
    assert error["code"] == errors.INVALID_PARAMS
    overdrawn = transfer(BUILDER, PRODUCER.address, dollars(10**6), nonce=0)
    error = await client.error("builder_buildBlock", slot, [raw_hex(overdrawn)])
    assert error["code"] == errors.INVALID_PARAMS and "insufficient funds" in error["message"]
    error = await client.error("builder_buildBlock", slot, ["0x" + "00" * 40])
    assert error["code"] == errors.INVALID_PARAMS
    error = await client.error("builder_buildBlock", 0)
    assert error["code"] == errors.INVALID_PARAMS


async def test_without_builder_api_the_namespace_is_not_served(nursery: trio.Nursery) -> None:
    _, client = await serve(nursery, builder_api=False)
    error = await client.error("builder_checkBlock", "0x")
    assert error["code"] == errors.METHOD_NOT_FOUND
