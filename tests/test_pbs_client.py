"""A producer's relay client over real HTTP: every answer checked, every failure a fault kind."""

from __future__ import annotations

import httpx
import pytest
import trio

from porchain.asgi import lifespan, serve_app
from porchain.crypto.keys import PrivateKey
from porchain.pbs.client import RelayAddress, RelayClient, SourceFault
from porchain.pbs.messages import Acceptance
from tests.factories import CHAIN_ID, PRODUCER, dollars
from tests.test_pbs_relay import BUILDER, RELAY_KEY, submission
from tests.test_pbs_relay_http import Served, serve_relay


@pytest.fixture
async def served(nursery: trio.Nursery, http: httpx.AsyncClient) -> Served:
    return await serve_relay(nursery, http)


def client_of(served: Served, http: httpx.AsyncClient, key: PrivateKey = RELAY_KEY) -> RelayClient:
    return RelayClient(RelayAddress(served.url, key.address), CHAIN_ID, http)


async def submitted(served: Served):  # the submission, once the relay took it
    sub = submission(served.node.chain, BUILDER, dollars(1))
    status, answer = await served.post(
        "/relay/v1/builder/blocks", {"submission": "0x" + sub.encode().hex()}
    )
    assert status == 200, answer
    return sub


def test_relay_urls_name_the_relay_key() -> None:
    text = f"http://0x{RELAY_KEY.address.hex()}@127.0.0.1:18550"
    parsed = RelayAddress.parse(text)
    assert parsed.url == "http://127.0.0.1:18550" and parsed.address == RELAY_KEY.address
    assert str(parsed) == text
    for bad in ("http://127.0.0.1:18550", "ftp://0x" + "00" * 20 + "@h:1", "http://0x12@h:1"):
        with pytest.raises(ValueError, match="expected http://0x<relay address>@host:port"):
            RelayAddress.parse(bad)


async def test_a_bid_and_its_body_come_checked(served: Served, http: httpx.AsyncClient) -> None:
    relay = client_of(served, http)
    sub = await submitted(served)
    header = sub.signed.bid.header
    assert await relay.header(header.slot + 1, header.parent_hash, PRODUCER.address) is None
    signed = await relay.header(header.slot, header.parent_hash, PRODUCER.address)
    assert signed is not None and signed.bid == sub.signed.bid
    body = await relay.body(Acceptance.sign(CHAIN_ID, header, PRODUCER))
    assert body == sub.transactions


async def test_a_bid_signed_by_another_key_is_a_bad_bid(
    served: Served, http: httpx.AsyncClient
) -> None:
    sub = await submitted(served)
    header = sub.signed.bid.header
    impostor = client_of(served, http, PrivateKey(b"\x07" * 32))
    with pytest.raises(SourceFault, match="not signed by the relay's key") as fault:
        await impostor.header(header.slot, header.parent_hash, PRODUCER.address)
    assert fault.value.kind == "bad_bid"


async def test_a_body_refused_after_acceptance_is_withheld(
    served: Served, http: httpx.AsyncClient
) -> None:
    sub = await submitted(served)
    other = submission(served.node.chain, BUILDER, dollars(2)).signed.bid.header  # never sent
    with pytest.raises(SourceFault, match="no bid of this relay") as fault:
        await client_of(served, http).body(Acceptance.sign(CHAIN_ID, other, PRODUCER))
    assert fault.value.kind == "withheld"
    assert sub.signed.bid.header != other


async def test_an_unreachable_relay_is_a_timeout(http: httpx.AsyncClient) -> None:
    with trio.socket.socket() as sock:  # a port nobody listens on
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    relay = RelayClient(RelayAddress(f"http://127.0.0.1:{port}", RELAY_KEY.address), CHAIN_ID, http)
    with pytest.raises(SourceFault) as fault:
        await relay.header(1, b"\x00" * 32, PRODUCER.address)
    assert fault.value.kind == "timeout"


async def test_answers_that_are_not_bids_are_bad_bids(
    nursery: trio.Nursery, http: httpx.AsyncClient
) -> None:
    """A server that is no relay: garbage, an error status, an endless answer."""
    answers = {
        "/garbage": (200, b"not json"),
        "/error": (500, b'{"code":500,"message":"down"}'),
        "/shape": (200, b'{"data":{"raw":"0xc0"}}'),
        "/huge": (200, b"[" + b"0," * (4 * 1024 * 1024) + b"0]"),
    }

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        prefix = "/" + scope["path"].split("/")[1]
        status, body = answers[prefix]
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    url = await nursery.start(serve_app, app, "127.0.0.1", 0, "liar", "test")
    for prefix, why in [
        ("/garbage", "not JSON"),
        ("/error", "HTTP 500: down"),
        ("/shape", "not a signed bid"),
        ("/huge", "an answer over"),
    ]:
        relay = RelayClient(RelayAddress(url + prefix, RELAY_KEY.address), CHAIN_ID, http)
        with pytest.raises(SourceFault, match=why) as fault:
            await relay.header(1, b"\x00" * 32, PRODUCER.address)
        assert fault.value.kind == "bad_bid"
