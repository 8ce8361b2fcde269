"""JSON-RPC over real HTTP against an in-process node: methods, error codes, bad input."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.crypto.keys import to_checksum_address
from porchain.node import Node, NodeConfig
from porchain.rpc import errors
from porchain.types.transactions import Transaction, TxKind
from tests.factories import CHAIN_ID, KEYS, PRODUCER, dollars, extend, key, new_chain, transfer

ALICE, BOB = KEYS[1], KEYS[2]


def post(url: str, body: bytes | None) -> tuple[int, Any]:
    """POST `body` to `url` (GET when it is None): the status and the decoded JSON answer."""
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class Client:
    def __init__(self, url: str) -> None:
        self.url = url

    async def raw(self, body: bytes) -> tuple[int, Any]:
        return await trio.to_thread.run_sync(post, self.url, body)

    async def request(self, method: str, *params: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        return (await self.raw(json.dumps(body).encode()))[1]

    async def call(self, method: str, *params: Any) -> Any:
        answer = await self.request(method, *params)
        assert "error" not in answer, answer
        return answer["result"]

    async def error(self, method: str, *params: Any) -> dict[str, Any]:
        answer = await self.request(method, *params)
        assert "result" not in answer, answer
        return answer["error"]


@pytest.fixture
async def served(nursery: trio.Nursery) -> AsyncIterator[tuple[Node, Client]]:
    chain: Chain = new_chain()
    state = chain.state()
    clock = SlotClock(state.chain.genesis_time_ms, state.params.slot_ms)
    node = Node(chain, clock, key=PRODUCER, config=NodeConfig(rpc_port=0, produce=False))
    await nursery.start(node.run)
    assert node.rpc_url is not None
    yield node, Client(node.rpc_url)


def raw_hex(tx: Transaction) -> str:
    return "0x" + tx.encoded.hex()


async def test_chain_queries(served: tuple[Node, Client]) -> None:
    node, client = served
    block = extend(node.chain, [transfer(ALICE, BOB.address, dollars(2), nonce=0)])
    assert await client.call("por_chainId") == CHAIN_ID
    assert await client.call("por_blockNumber") == 1
    latest = await client.call("por_getBlockByNumber", "latest", True)
    assert latest["hash"] == "0x" + block.hash.hex()
    assert latest["transactions"][0]["payload"]["amount"] == str(dollars(2))
    by_hash = await client.call("por_getBlockByHash", latest["hash"])
    assert by_hash["transactions"] == [latest["transactions"][0]["hash"]]
    assert (await client.call("por_getBlockByNumber", 0))["number"] == 0
    assert await client.call("por_getBlockByNumber", 99) is None
    bob = await client.call("por_getAccount", "0x" + BOB.address.hex())
    assert int(bob["balance"]) == dollars(1002)
    info = await client.call("por_nodeInfo")
    assert info["head"]["number"] == 1 and info["chain_id"] == CHAIN_ID
    assert info["genesis_hash"] == "0x" + node.chain.genesis_hash.hex()
    assert info["behaviour"] == {"name": "honest", "args": {}}
    params = await client.call("por_getParams")
    assert params["wsc_id"] == 0 and params["params"]["subsidy"] == dollars(10)


async def test_transaction_lifecycle(served: tuple[Node, Client]) -> None:
    node, client = served
    tx = transfer(ALICE, BOB.address, dollars(1), nonce=0)
    assert await client.call("por_sendRawTransaction", raw_hex(tx)) == "0x" + tx.hash.hex()
    pending = await client.call("por_getTransaction", "0x" + tx.hash.hex())
    assert pending["status"] == "pending" and pending["block_number"] is None
    assert [t["hash"] for t in await client.call("por_pendingTransactions")] == [pending["hash"]]
    alice = await client.call("por_getAccount", "0x" + ALICE.address.hex())
    assert (alice["nonce"], alice["next_nonce"]) == (0, 1)
    produced = node.produce_block(node.chain.head.slot + 1)  # the only producer: every slot
    assert produced is not None and tx in produced.transactions
    included = await client.call("por_getTransaction", "0x" + tx.hash.hex())
    assert included["status"] == "included" and included["block_number"] == produced.number
    # what is pending now is only the producer's own vote on the block's pool
    (vote,) = await client.call("por_pendingTransactions")
    assert vote["kind"] == "VOTE" and vote["from"] == to_checksum_address(PRODUCER.address)
    assert await client.call("por_getTransaction", "0x" + "00" * 32) is None


def oversized_transfer() -> Transaction:
    payload = [BOB.address, b"\x01", b"\x00" * 20_000]  # minimal preset: max_tx_bytes 16384
    return Transaction.create(
        ALICE, chain_id=CHAIN_ID, nonce=0, kind=TxKind.TRANSFER, payload=payload, fee=dollars(1)
    )


def high_s(tx: Transaction) -> Transaction:
    from porchain.crypto.keys import SECP256K1_N

    s = SECP256K1_N - int.from_bytes(tx.signature[32:64], "big")
    signature = tx.signature[:32] + s.to_bytes(32, "big") + bytes([tx.signature[64] ^ 1])
    return Transaction(tx.chain_id, tx.nonce, tx.kind, tx.payload, tx.fee, signature)


BAD_TRANSACTIONS = [
    ("truncated", lambda: transfer(ALICE, BOB.address, 1, nonce=0).encoded[:-3], "not valid RLP"),
    (
        "garbage signature",
        lambda: (
            Transaction(
                CHAIN_ID, 0, TxKind.TRANSFER, [BOB.address, b"\x01"], dollars(1), b"\x00" * 65
            ).encoded
        ),
        "bad signature",
    ),
    (
        "high-s signature",
        lambda: high_s(transfer(ALICE, BOB.address, 1, nonce=0)).encoded,
        "bad signature",
    ),
    (
        "other chain",
        lambda: transfer(ALICE, BOB.address, 1, nonce=0, chain_id=99).encoded,
        "wrong chain id: this chain is 1337, the transaction is for 99",
    ),
    (
        "nonce gap",
        lambda: transfer(ALICE, BOB.address, 1, nonce=3).encoded,
        "nonce gap: next nonce is 0, got 3",
    ),
    ("unfunded", lambda: transfer(key(100), BOB.address, 1, nonce=0).encoded, "insufficient funds"),
    (
        "overspending",
        lambda: transfer(ALICE, BOB.address, dollars(5000), nonce=0).encoded,
        "insufficient funds",
    ),
    ("over the size limit", lambda: oversized_transfer().encoded, "over the limit of 16384"),
    ("fee too low", lambda: transfer(ALICE, BOB.address, 1, nonce=0, fee=1).encoded, "fee too low"),
]


@pytest.mark.parametrize(
    ("name", "make", "message"), BAD_TRANSACTIONS, ids=[c[0] for c in BAD_TRANSACTIONS]
)
async def test_bad_raw_transactions_are_refused_and_change_nothing(
    served: tuple[Node, Client], name: str, make: Any, message: str
) -> None:
    node, client = served
    before = (node.chain.head, len(node.mempool), list(node.chain.db.iterate()))
    error = await client.error("por_sendRawTransaction", "0x" + make().hex())
    assert error["code"] == errors.TX_REJECTED
    assert message in error["message"], error
    assert (node.chain.head, len(node.mempool), list(node.chain.db.iterate())) == before


async def test_replayed_transaction_is_refused(served: tuple[Node, Client]) -> None:
    node, client = served
    tx = transfer(ALICE, BOB.address, 1, nonce=0)
    extend(node.chain, [tx])
    error = await client.error("por_sendRawTransaction", raw_hex(tx))
    assert error["code"] == errors.TX_REJECTED and "replayed" in error["message"]
    assert len(node.mempool) == 0


async def test_a_transaction_sent_not_to_replace_is_refused_on_a_taken_nonce(
    served: tuple[Node, Client],
) -> None:
    """What `porchain tx` sends with a nonce it read from the node: if the node's own duty took
    that nonce meanwhile, it is refused (and signed again), not a replacement of the duty."""
    node, client = served
    duty = transfer(ALICE, BOB.address, 1, nonce=0)
    await client.call("por_sendRawTransaction", raw_hex(duty))
    ours = transfer(ALICE, BOB.address, 2, nonce=0, fee=dollars("0.01"))  # would replace it
    error = await client.error("por_sendRawTransaction", raw_hex(ours), False)
    assert error["code"] == errors.NONCE_TAKEN and "nonce 0 is taken" in error["message"]
    assert node.mempool.transactions() == [duty]
    again = transfer(ALICE, BOB.address, 2, nonce=1)
    sent = await client.call("por_sendRawTransaction", raw_hex(again), False)
    assert sent == "0x" + again.hash.hex()


async def test_protocol_errors(served: tuple[Node, Client]) -> None:
    _, client = served
    status, answer = await client.raw(b"{not json")
    assert status == 200 and answer["error"]["code"] == errors.PARSE_ERROR and answer["id"] is None
    assert (await client.error("por_noSuchMethod"))["code"] == errors.METHOD_NOT_FOUND
    assert (await client.error("eth_chainId"))["code"] == errors.METHOD_NOT_FOUND
    for method, params in [
        ("por_getBlockByNumber", ["soon"]),
        ("por_getBlockByNumber", [-1]),
        ("por_getBlockByNumber", [1, "yes"]),
        ("por_getBlockByHash", ["0x1234"]),
        ("por_getAccount", ["0xnothex"]),
        ("por_getAccount", [42]),
        ("por_sendRawTransaction", ["deadbeef"]),
        ("por_chainId", [1, 2]),
        ("por_getTransaction", []),
    ]:
        error = await client.error(method, *params)
        assert error["code"] == errors.INVALID_PARAMS, (method, params, error)
    _, answer = await client.raw(b'{"id": 1, "method": "por_chainId"}')
    assert answer["error"]["code"] == errors.INVALID_REQUEST
    _, answer = await client.raw(b"[]")
    assert answer["error"]["code"] == errors.INVALID_REQUEST
    _, answer = await client.raw(
        b'{"jsonrpc": "2.0", "id": 1, "method": "por_chainId", "params": 5}'
    )
    assert answer["error"]["code"] == errors.INVALID_REQUEST


async def test_batches_and_notifications(served: tuple[Node, Client]) -> None:
    _, client = served
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "por_chainId"},
        {"jsonrpc": "2.0", "id": 2, "method": "por_nope"},
        {"jsonrpc": "2.0", "method": "por_blockNumber"},  # a notification gets no answer
        "not a request",
    ]
    _, answers = await client.raw(json.dumps(batch).encode())
    assert answers[0] == {"jsonrpc": "2.0", "id": 1, "result": CHAIN_ID}
    assert answers[1]["error"]["code"] == errors.METHOD_NOT_FOUND
    assert answers[2]["error"]["code"] == errors.INVALID_REQUEST
    assert len(answers) == 3
    status, answer = await client.raw(b'{"jsonrpc": "2.0", "method": "por_blockNumber"}')
    assert (status, answer) == (204, None)


async def test_http_level_refusals(served: tuple[Node, Client]) -> None:
    """Each refusal is a JSON-RPC error object, whatever the HTTP status says."""
    node, _ = served
    assert node.rpc_url is not None
    status, headers, answer = await http(node.rpc_url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405 and headers["allow"] == "POST"
    assert answer["error"]["code"] == errors.INVALID_REQUEST
    too_big = node.config.rpc_limits.max_body_bytes + 1
    request = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {too_big}\r\n\r\n".encode()
    status, _, answer = await http(node.rpc_url, request)  # refused before the body is sent
    assert status == 413 and answer["error"]["code"] == errors.INVALID_REQUEST
    assert f"over {too_big - 1} bytes" in answer["error"]["message"]


async def http(url: str, request: bytes) -> tuple[int, dict[str, str], Any]:
    """Send raw HTTP/1.1 `request` and read one answer (Content-Length framed)."""
    host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        await stream.send_all(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some(65536)
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        pairs = (line.split(": ", 1) for line in lines[1:])
        headers = {name.lower(): value for name, value in pairs}
        while len(body) < int(headers.get("content-length", "0")):
            body += await stream.receive_some(65536)
    return int(lines[0].split()[1]), headers, json.loads(body) if body else None
