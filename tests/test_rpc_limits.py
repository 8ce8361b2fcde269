"""What one RPC request may cost, against the real server: batch, body, response and list
bounds, pagination, hostile JSON, CORS, and queries running off the event loop on a snapshot."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.db import MemoryDB
from porchain.db.level import LevelDB
from porchain.node import Node, NodeConfig
from porchain.rpc import errors
from porchain.rpc.client import RPCClient, RPCClientError
from porchain.rpc.dispatch import Dispatcher
from porchain.rpc.limits import RPCLimits
from porchain.rpc.params import MAX_LIST
from porchain.rpc.server import parse_cors, rpc_apis
from porchain.rpc.view import on_loop
from tests.factories import extend, new_chain
from tests.test_rpc import Client, http

LIMITS = RPCLimits(
    max_body_bytes=8192,
    max_batch=5,
    max_response_bytes=3000,  # four pools of one stake fit, five do not
    inline_body_bytes=1024,  # bodies above are parsed in a worker thread
)
assert LIMITS.max_depth == 64
POOLS = 12
ORIGIN = "https://app.example"


async def start(nursery: trio.Nursery, **config: Any) -> tuple[Node, Client]:
    chain: Chain = new_chain()
    for _ in range(POOLS):  # each block opens its validation pool
        extend(chain)
    state = chain.state()
    clock = SlotClock(state.chain.genesis_time_ms, state.params.slot_ms)
    config = {"rpc_port": 0, "produce": False, "rpc_limits": LIMITS, **config}
    node = Node(chain, clock, config=NodeConfig(**config))
    await nursery.start(node.run)
    assert node.rpc_url is not None
    return node, Client(node.rpc_url)


@pytest.fixture
async def limited(nursery: trio.Nursery) -> AsyncIterator[tuple[Node, Client]]:
    yield await start(nursery)


def call(method: str, *params: Any, request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}


async def post_json(client: Client, obj: Any) -> Any:
    status, answer = await client.raw(json.dumps(obj).encode())
    assert status == 200, (status, answer)
    return answer


# -- batch, body and response bounds ----------------------------------------------------------


async def test_oversized_batch_is_refused(limited: tuple[Node, Client]) -> None:
    _, client = limited
    answer = await post_json(client, [call("por_chainId", request_id=i) for i in range(6)])
    assert answer["error"]["code"] == errors.INVALID_REQUEST
    assert "1 to 5 requests, got 6" in answer["error"]["message"]
    assert len(await post_json(client, [call("por_chainId", request_id=i) for i in range(5)])) == 5


async def test_oversized_bodies_are_refused(limited: tuple[Node, Client]) -> None:
    node, client = limited
    assert node.rpc_url is not None
    padded = call("por_chainId") | {"pad": "x" * 9000}
    status, answer = await client.raw(json.dumps(padded).encode())
    assert status == 413 and answer["error"]["code"] == errors.INVALID_REQUEST
    assert "over 8192 bytes" in answer["error"]["message"]
    # without a Content-Length, the body is counted as it comes
    chunk = b"x" * 5000
    chunked = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    request = (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked * 2
        + b"0\r\n\r\n"
    )
    status, _, answer = await http(node.rpc_url, request)
    assert status == 413 and answer["error"]["code"] == errors.INVALID_REQUEST


async def test_the_cli_client_says_why_a_body_was_refused(limited: tuple[Node, Client]) -> None:
    node, _ = limited
    assert node.rpc_url is not None
    client = RPCClient(node.rpc_url, timeout=10)
    with pytest.raises(RPCClientError, match="answered HTTP 413: request body over 8192 bytes"):
        await trio.to_thread.run_sync(client.call, "por_sendRawTransaction", "0x" + "00" * 5000)


async def test_list_limits_are_bounded(limited: tuple[Node, Client]) -> None:
    _, client = limited
    for method, params in [
        ("por_listPools", [None, MAX_LIST + 1]),
        ("por_listPools", [None, 0]),
        ("por_getSchedule", [MAX_LIST + 1]),
        ("por_pendingTransactions", [MAX_LIST + 1]),
        ("gov_listPosts", [None, None, None, MAX_LIST + 1]),
        ("por_listPools", [None, 10, 0]),  # a cursor is a pool id
    ]:
        error = await client.error(method, *params)
        assert error["code"] == errors.INVALID_PARAMS, (method, error)
        assert "must be an integer in [1, " in error["message"]


async def test_response_cap_refuses_the_rest_of_a_batch(limited: tuple[Node, Client]) -> None:
    _, client = limited
    batch = [call("por_listPools", None, 1, POOLS + 1 - i, request_id=i) for i in range(5)]
    raw_status, raw = await client.raw(json.dumps(batch).encode())
    answers = raw
    assert raw_status == 200 and [a["id"] for a in answers] == [0, 1, 2, 3, 4]
    assert [a["result"][0]["id"] for a in answers[:4]] == [12, 11, 10, 9]
    assert answers[4]["error"]["code"] == errors.RESPONSE_TOO_LARGE
    assert "response too large" in answers[4]["error"]["message"]
    # one answer over the cap on its own
    error = await client.error("por_listPools", None, 5)
    assert error["code"] == errors.RESPONSE_TOO_LARGE


async def test_lists_page_with_a_cursor(limited: tuple[Node, Client]) -> None:
    _, client = limited
    seen: list[int] = []
    before = None
    while True:
        page = await client.call("por_listPools", None, 3, before)
        if not page:
            break
        seen += [pool["id"] for pool in page]
        before = page[-1]["id"]
    assert seen == list(range(POOLS, 0, -1))
    assert await client.call("gov_listPosts", None, None, None, 10, 5) == []


# -- hostile JSON -----------------------------------------------------------------------------

HOSTILE = [
    (
        "5,000-digit integer",
        b'{"jsonrpc":"2.0","id":1,"method":"por_getPool","params":[%s]}' % (b"9" * 5000),
        "5000 characters",
    ),
    (
        "nested 100,000 deep",
        b'{"jsonrpc":"2.0","id":1,"method":"por_getPool","params":%s%s}'
        % (b"[" * 100_000, b"]" * 100_000),
        "nested too deep",
    ),
    ("NaN", b'{"jsonrpc":"2.0","id":1,"method":"por_getPool","params":[NaN]}', "NaN"),
    (
        "Infinity",
        b'{"jsonrpc":"2.0","id":1,"method":"por_getPool","params":[Infinity]}',
        "Infinity",
    ),
    (
        "-Infinity",
        b'[{"jsonrpc":"2.0","id":1,"method":"por_chainId","params":[-Infinity]}]',
        "Infinity",
    ),
    (
        "overflowing float",
        b'{"jsonrpc":"2.0","id":1,"method":"por_getPool","params":[1e400]}',
        "out of range",
    ),
    ("not UTF-8", b'{"jsonrpc":"2.0","id":"\xff\xfe","method":"por_chainId"}', "parse error"),
]


@pytest.mark.parametrize(("name", "body", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_json_is_a_parse_error(
    nursery: trio.Nursery, name: str, body: bytes, message: str
) -> None:
    """On a node with the default limits: inline and worker-thread parsing alike."""
    _, client = await start(nursery, rpc_limits=RPCLimits())
    status, answer = await client.raw(body)
    assert status == 200, (status, answer)
    assert answer["error"]["code"] == errors.PARSE_ERROR and answer["id"] is None
    assert message in answer["error"]["message"], answer


async def test_nesting_is_bounded_whatever_the_recursion_limit(
    limited: tuple[Node, Client], nursery: trio.Nursery
) -> None:
    """Deep params under the bound are invalid params (quoted short); over it, a parse error
    before the parser recurses, even with a raised recursion limit (a library may raise it)."""
    _, client = limited
    deep: Any = 1
    for _ in range(LIMITS.max_depth - 2):  # in the params array, in the request object
        deep = [deep]
    error = await client.error("por_getBlockByNumber", deep)
    assert error["code"] == errors.INVALID_PARAMS and len(error["message"]) < 200
    error = await client.error("por_getBlockByNumber", [deep])
    assert error["code"] == errors.PARSE_ERROR and "more than 64 levels" in error["message"]
    strings = json.dumps(call("por_getBlockByNumber", "[" * 500, "{" * 500)).encode()
    assert (await client.raw(strings))[1]["error"]["code"] == errors.INVALID_PARAMS
    _, default_client = await start(nursery, rpc_limits=RPCLimits())
    levels = 500_000  # a body just under 1 MiB
    nested = b'{"jsonrpc":"2.0","id":1,"method":"por_chainId","params":%s%s}' % (
        b"[" * levels,
        b"]" * levels,
    )
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(2 * levels)
    try:
        status, answer = await default_client.raw(nested)
    finally:
        sys.setrecursionlimit(limit)
    assert status == 200 and answer["error"]["code"] == errors.PARSE_ERROR


WEIRD = [None, True, -1, 0, 1, 2**70, 1.5, "", "0x", "x" * 300, [], [1], {}, {"a": [1]}]


async def test_no_parameter_makes_an_internal_error(nursery: trio.Nursery) -> None:
    """Every method, each parameter slot given each odd value: a clean error or a result."""
    node, client = await start(nursery, rpc_limits=RPCLimits())
    dispatcher = Dispatcher(node, rpc_apis(node), limits=RPCLimits())
    for name in sorted(dispatcher.routes):
        for position in range(3):
            for value in WEIRD:
                params: list[Any] = ["0x" + "00" * 20] * position + [value]
                answer = await client.request(name, *params)
                code = answer.get("error", {}).get("code")
                assert code != errors.INTERNAL_ERROR, (name, params, answer)


# -- CORS and methods ---------------------------------------------------------------------------


async def test_cors_preflight_and_allowed_origins(nursery: trio.Nursery) -> None:
    node, _ = await start(nursery, rpc_cors=(ORIGIN,))
    assert node.rpc_url is not None
    preflight = (
        f"OPTIONS / HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\n"
        "Access-Control-Request-Method: POST\r\n"
        "Access-Control-Request-Headers: content-type\r\n\r\n"
    ).encode()
    status, headers, _ = await http(node.rpc_url, preflight)
    assert status == 204 and headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"] == "content-type"
    status, headers, answer = await http(node.rpc_url, cors_post(ORIGIN))
    assert status == 200 and answer["result"] == node.chain.state().chain.chain_id
    assert headers["access-control-allow-origin"] == ORIGIN
    status, headers, answer = await http(node.rpc_url, cors_post("https://evil.example"))
    assert status == 403 and answer["error"]["code"] == errors.ORIGIN_NOT_ALLOWED
    assert "access-control-allow-origin" not in headers
    status, headers, _ = await http(node.rpc_url, b"PUT / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405 and headers["allow"] == "POST, OPTIONS"


async def test_cors_is_off_by_default_and_star_allows_any(nursery: trio.Nursery) -> None:
    node, _ = await start(nursery)
    assert node.rpc_url is not None
    status, headers, answer = await http(node.rpc_url, cors_post(ORIGIN))
    assert status == 403 and "--rpc-cors" in answer["error"]["message"]
    status, _, _ = await http(node.rpc_url, b"OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405
    open_node, _ = await start(nursery, rpc_cors=("*",))
    assert open_node.rpc_url is not None
    status, headers, _ = await http(open_node.rpc_url, cors_post(ORIGIN))
    assert status == 200 and headers["access-control-allow-origin"] == "*"


def cors_post(origin: str) -> bytes:
    body = json.dumps(call("por_chainId")).encode()
    return (
        f"POST / HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_parse_cors() -> None:
    assert parse_cors("https://A.example:8080/, http://b") == ("https://a.example:8080", "http://b")
    assert parse_cors("*") == ("*",)
    for bad in ["", " , ", "a.example", "https://a/path"]:
        with pytest.raises(ValueError):
            parse_cors(bad)


# -- off the event loop, on one snapshot --------------------------------------------------------


class SlowApi:
    """A method that holds its worker thread until the test lets it go."""

    release = threading.Event()

    def __init__(self, node: Any) -> None:
        self.chain = node.chain

    def por_slowHead(self) -> int:
        head = self.chain.head.number
        assert SlowApi.release.wait(30)
        return self.chain.state().chain.number * 1000 + head

    @on_loop
    def por_fastHead(self) -> int:
        return self.chain.head.number


async def test_a_slow_query_holds_neither_the_loop_nor_its_state(nursery: trio.Nursery) -> None:
    """While a query runs in its worker, the loop answers and a block is imported; the query
    still sees the one state it started on."""
    node, _ = await start(nursery)
    dispatcher = Dispatcher(node, [SlowApi], limits=LIMITS)
    slow = json.dumps(call("por_slowHead")).encode()
    fast = json.dumps(call("por_fastHead")).encode()
    answers: list[Any] = []

    async def slow_query() -> None:
        answers.append(json.loads(await dispatcher.handle(slow) or b"null"))

    SlowApi.release.clear()
    nursery.start_soon(slow_query)
    await trio.testing.wait_all_tasks_blocked()
    extend(node.chain)  # a block lands while the query is running
    assert json.loads(await dispatcher.handle(fast) or b"")["result"] == POOLS + 1
    assert not answers
    SlowApi.release.set()
    with trio.fail_after(30):
        while not answers:
            await trio.sleep(0.01)
    assert answers[0]["result"] == POOLS * 1000 + POOLS


@pytest.mark.parametrize("backend", ["memory", "leveldb"])
def test_snapshot_reads_one_moment(backend: str, tmp_path: Any) -> None:
    db = MemoryDB() if backend == "memory" else LevelDB(tmp_path / "db")
    db.put(b"k1", b"1")
    db.put(b"k2", b"2")
    snapshot = db.snapshot()
    with db.atomic_batch() as batch:
        batch.put(b"k3", b"3")
        batch.delete(b"k1")
    assert snapshot.get(b"k1") == b"1" and snapshot.get(b"k3") is None
    assert list(snapshot.iterate(b"k", reverse=True)) == [(b"k2", b"2"), (b"k1", b"1")]
    assert [k for k, _ in db.iterate(b"k")] == [b"k2", b"k3"]
    with pytest.raises(Exception, match="read-only"):
        snapshot.put(b"k4", b"4")
    snapshot.close()
    with pytest.raises(Exception, match="closed"):
        snapshot.get(b"k1")
    db.close()
