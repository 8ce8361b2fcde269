"""The relay's HTTP API over real HTTP, checking blocks through a real node's builder_ RPC."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio

from porchain.asgi import serve_app
from porchain.crypto.keys import to_checksum_address
from porchain.node import Node
from porchain.pbs.messages import RELAY_BID, Acceptance, SignedBid
from porchain.pbs.relay import Relay, node_checker
from porchain.pbs.relay_app import RelayApp
from porchain.rpc.async_client import AsyncRPCClient
from tests.factories import CHAIN_ID, PRODUCER, dollars
from tests.test_pbs_relay import BUILDER, RELAY_KEY, submission
from tests.test_rpc import post
from tests.test_rpc_builder import serve

BODY_LIMIT = 8192  # small, so the client has sent all before it is refused


class Served:
    def __init__(self, node: Node, url: str) -> None:
        self.node, self.url = node, url

    async def get(self, path: str) -> tuple[int, Any]:
        return await trio.to_thread.run_sync(post, self.url + path, None)

    async def post(self, path: str, body: dict[str, Any] | bytes) -> tuple[int, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await trio.to_thread.run_sync(post, self.url + path, raw)


async def serve_relay(nursery: trio.Nursery, http: httpx.AsyncClient) -> Served:
    """A node serving the builder API, and a relay checking blocks through it, over HTTP."""
    node, _ = await serve(nursery, builder_api=True)
    checker = node_checker(AsyncRPCClient(node.rpc_url, http))
    relay = Relay(RELAY_KEY, CHAIN_ID, checker, node.clock.now_ms)
    url = await nursery.start(
        serve_app, RelayApp(relay, max_body_bytes=BODY_LIMIT), "127.0.0.1", 0, "relay", "test"
    )
    return Served(node, url)


@pytest.fixture
async def served(nursery: trio.Nursery, http: httpx.AsyncClient) -> Served:
    return await serve_relay(nursery, http)


def hex0x(raw: bytes) -> str:
    return "0x" + raw.hex()


async def test_a_bid_goes_from_builder_through_relay_to_producer(served: Served) -> None:
    status, answer = await served.get("/eth/v1/builder/status")
    assert status == 200 and answer["relay"] == to_checksum_address(RELAY_KEY.address)
    sub = submission(served.node.chain, BUILDER, dollars(1))
    header = sub.signed.bid.header
    where = f"{header.slot}/{hex0x(header.parent_hash)}/{hex0x(PRODUCER.address)}"
    path = f"/eth/v1/builder/header/{where}"
    assert (await served.get(path))[0] == 204  # no bid yet
    status, answer = await served.post(
        "/relay/v1/builder/blocks", {"submission": hex0x(sub.encode())}
    )
    assert status == 200 and answer["data"]["value"] == str(sub.signed.bid.value)
    status, answer = await served.get(path)
    offered = SignedBid.decode(bytes.fromhex(answer["data"]["raw"][2:]))
    assert status == 200 and offered.bid == sub.signed.bid
    assert offered.signer(RELAY_BID) == RELAY_KEY.address
    accepted = Acceptance.sign(CHAIN_ID, header, PRODUCER)
    status, answer = await served.post(
        "/eth/v1/builder/blinded_blocks", {"acceptance": hex0x(accepted.encode())}
    )
    assert status == 200
    assert answer["data"]["transactions"] == [hex0x(tx.encoded) for tx in sub.transactions]
    status, delivered = await served.get("/relay/v1/data/bidtraces/proposer_payload_delivered")
    assert status == 200 and delivered[0]["slot"] == header.slot


async def test_refusals_carry_a_status_and_a_reason(served: Served) -> None:
    cases = [
        (await served.get("/nowhere"), 404, "no such endpoint"),
        (await served.get("/eth/v1/builder/header/1/0x00/0x00"), 404, "no such endpoint"),
        (await served.post("/relay/v1/builder/blocks", b"[[[["), 400, "must be JSON"),
        (await served.post("/relay/v1/builder/blocks", {"submission": 5}), 400, "must be JSON"),
        (
            await served.post("/relay/v1/builder/blocks", {"submission": "0xc0"}),
            400,
            "not a signed",
        ),
        (
            await served.post("/eth/v1/builder/blinded_blocks", b"[" * BODY_LIMIT),
            400,
            "must be JSON",
        ),
        (await served.post("/relay/v1/builder/blocks", b"x" * (BODY_LIMIT + 1)), 413, "over 8192"),
    ]
    for (status, answer), want, why in cases:
        assert status == want and answer["code"] == want and why in answer["message"], answer
