"""Mutated JSON-RPC against the real HTTP server: every request gets a JSON-RPC answer.

For every method of the dispatch table (core, governance, dev), hypothesis sends mutated
params (huge, negative and 5,000-digit numbers, floats, deep nesting, wrong types, wrong
counts, long strings, bad hex, unicode), mutated envelopes (ids, methods, versions, batches,
broken or non-UTF-8 JSON, `1e999999`) and mutated signed transactions. Each answer must be
HTTP 200 (204 for notifications, 405/413 as documented) with a JSON-RPC response whose error
code is one docs/rpc.md lists, and the node must log no error and no traceback: a client's
mistake is the client's, not the node's.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from porchain.clock import SlotClock
from porchain.node import Node, NodeConfig
from porchain.rpc.dispatch import Dispatcher
from porchain.rpc.limits import RPCLimits
from porchain.rpc.server import rpc_apis
from tests.factories import KEYS, dollars, extend, new_chain, transfer
from tests.test_rpc import http, post

DOCS = Path(__file__).parents[2] / "docs" / "rpc.md"
DOCUMENTED_CODES = {int(c) for c in re.findall(r"^\| (-32\d{3}) \|", DOCS.read_text(), re.M)}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MAX_BODY = RPCLimits().max_body_bytes
ADDRESS = "0x" + KEYS[1].address.hex()


class Served:
    """A node serving RPC on its own trio loop in a thread, for synchronous hypothesis tests."""

    def __init__(self) -> None:
        self.chain = new_chain()
        for nonce in range(3):
            extend(self.chain, [transfer(KEYS[1], KEYS[2].address, dollars(1), nonce=nonce)])
        self.valid_tx = transfer(KEYS[3], KEYS[4].address, dollars(1), nonce=0).encoded
        self._started = threading.Event()
        self._thread = threading.Thread(target=trio.run, args=(self._serve,), daemon=True)

    async def _serve(self) -> None:
        state = self.chain.state()
        clock = SlotClock(state.chain.genesis_time_ms, state.params.slot_ms)
        config = NodeConfig(rpc_port=0, produce=False, dev_rpc=True)
        self.node = Node(self.chain, clock, config=config)
        async with trio.open_nursery() as nursery:
            await nursery.start(self.node.run)
            self._cancel, self._token = nursery.cancel_scope, trio.lowlevel.current_trio_token()
            self._started.set()

    def __enter__(self) -> Served:
        self._thread.start()
        assert self._started.wait(30), "the node did not start"
        routes = Dispatcher(self.node, rpc_apis(self.node), limits=RPCLimits()).routes
        self.methods = sorted(routes)
        self.param_names = {
            n: list(inspect.signature(r.live).parameters) for n, r in routes.items()
        }
        return self

    def __exit__(self, *_: object) -> None:
        trio.from_thread.run_sync(self._cancel.cancel, trio_token=self._token)
        self._thread.join(30)

    def post(self, body: bytes) -> tuple[int, Any]:
        assert self.node.rpc_url is not None
        return post(self.node.rpc_url, body)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with Served() as node:
        yield node


# -- what is sent: JSON texts, written by hand so they can hold what json.dumps refuses -------

HUGE_NUMBERS = [b"9" * 5000, b"-" + b"9" * 4301, b"1e999999", b"-1e999999", b"1" + b"0" * 99]
BAD_CONSTANTS = [b"NaN", b"Infinity", b"-Infinity"]
TAGS = ["latest", "finalized", "earliest", "pending", "open", "accepted", "proposal", "comment"]


def hexes() -> st.SearchStrategy[str]:
    sizes = st.sampled_from([0, 1, 4, 8, 19, 20, 21, 32, 33, 100])
    valid = sizes.flatmap(lambda n: st.binary(min_size=n, max_size=n)).map(lambda b: "0x" + b.hex())
    return valid | st.from_regex(r"\A0[xX][0-9a-zA-Z]{0,70}\Z") | st.just(ADDRESS)


def values() -> st.SearchStrategy[Any]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.sampled_from([-1, 0, 1, 2**63 - 1, 2**63, 2**64, 2**256, -(2**70)])
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30)
        | st.sampled_from(TAGS)
        | hexes()
        | st.integers(1, 20_000).map(lambda n: "x" * n)
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    )


def texts() -> st.SearchStrategy[bytes]:
    """One JSON value as text: any value, a number no parser should take, or deep nesting."""
    deep = st.integers(1, 120).map(lambda d: b"[" * d + b"1" + b"]" * d)
    deep_objects = st.integers(1, 120).map(lambda d: b'{"a":' * d + b"1" + b"}" * d)
    return (
        values().map(lambda v: json.dumps(v).encode())
        | st.sampled_from(HUGE_NUMBERS + BAD_CONSTANTS)
        | deep
        | deep_objects
    )


def params_text(names: list[str]) -> st.SearchStrategy[bytes]:
    positional = st.lists(texts(), max_size=6).map(lambda items: b"[" + b",".join(items) + b"]")
    keys = st.sampled_from(names) | st.text(max_size=8) if names else st.text(max_size=8)
    named = st.dictionaries(keys, texts(), max_size=4).map(
        lambda d: b"{" + b",".join(json.dumps(k).encode() + b":" + v for k, v in d.items()) + b"}"
    )
    return positional | named | texts()


def request_text(
    method: st.SearchStrategy[bytes], params: st.SearchStrategy[bytes]
) -> st.SearchStrategy[bytes]:
    """A request object, each member valid, mutated or left out."""
    ids = st.sampled_from([b"1", b'"a"', b"null"]) | texts()
    versions = st.sampled_from([b'"2.0"', b'"2.0"', b'"1.0"', b"2", b"null"])
    members = st.fixed_dictionaries(
        {},
        optional={"jsonrpc": versions, "id": ids, "method": method, "params": params},
    )
    return members.map(
        lambda m: b"{" + b",".join(b'"%s":%s' % (k.encode(), v) for k, v in m.items()) + b"}"
    )


def method_names(served: Served) -> st.SearchStrategy[bytes]:
    real = st.sampled_from(served.methods).map(lambda m: json.dumps(m).encode())
    return real | texts()


def mutated(bodies: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A body bit-flipped, cut short, extended with any bytes (non-UTF-8 too), or as it is."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        body = bytearray(draw(bodies))
        how = draw(st.sampled_from(["keep", "flip", "cut", "extend", "splice"]))
        if how == "flip" and body:
            for _ in range(draw(st.integers(1, 4))):
                at = draw(st.integers(0, len(body) - 1))
                body[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            body = body[: draw(st.integers(0, len(body)))]
        elif how == "extend":
            body += draw(st.binary(min_size=1, max_size=40))
        elif how == "splice" and body:
            at = draw(st.integers(0, len(body)))
            body[at:at] = draw(st.binary(min_size=1, max_size=8))
        return bytes(body)

    return mutate()


def batches(requests: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    sizes = st.sampled_from([0, 1, 3, 100, 101])
    flat = sizes.flatmap(
        lambda n: st.lists(requests, min_size=min(n, 3), max_size=min(n, 3)).map(
            lambda items: b"[" + b",".join((items * n)[:n]) + b"]"
        )
    )
    nested = st.lists(requests, min_size=1, max_size=3).map(lambda r: b"[[" + b",".join(r) + b"]]")
    return flat | nested


# -- what must come back ----------------------------------------------------------------------


def check_response(answer: Any) -> None:
    assert isinstance(answer, dict) and answer.get("jsonrpc") == "2.0", answer
    assert "id" in answer and ("result" in answer) != ("error" in answer), answer
    if "error" in answer:
        error = answer["error"]
        assert error["code"] in DOCUMENTED_CODES, error
        assert isinstance(error["message"], str) and len(error["message"]) < 2000, error


def check_answer(status: int, answer: Any, caplog: pytest.LogCaptureFixture) -> None:
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not problems, [r.getMessage() for r in problems]
    if status == 204:
        assert answer is None  # notifications only
        return
    assert status in (200, 413), (status, answer)
    for response in answer if isinstance(answer, list) and answer else [answer]:
        check_response(response)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@FUZZ
@given(data=st.data())
def test_every_method_answers_mutated_params(
    served: Served, logs: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    method = data.draw(st.sampled_from(served.methods))
    params = params_text(served.param_names[method])
    body = data.draw(request_text(st.just(json.dumps(method).encode()), params))
    logs.clear()
    status, answer = served.post(body)
    check_answer(status, answer, logs)


def test_every_method_is_fuzzed(served: Served) -> None:
    """The table is enumerated, not listed: governance and dev methods are in it."""
    assert {"gov_listPosts", "dev_partition", "por_getAccount", "net_peers"} <= set(served.methods)


@FUZZ
@given(data=st.data())
def test_mutated_envelopes_get_an_answer(
    served: Served, logs: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    one = request_text(method_names(served), params_text([]))
    body = data.draw(mutated(one | batches(one)))
    assume(len(body) <= MAX_BODY)  # a larger one is HTTP 413 unread (tests/test_rpc_limits.py)
    logs.clear()
    status, answer = served.post(body)
    check_answer(status, answer, logs)


@FUZZ
@given(data=st.data())
def test_mutated_transactions_are_rejected_cleanly(
    served: Served, logs: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    raw = data.draw(mutated(st.just(served.valid_tx)))
    method = data.draw(st.sampled_from(["por_sendRawTransaction", "gov_dryRun"]))
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": ["0x" + raw.hex()]}
    logs.clear()
    status, answer = served.post(json.dumps(body).encode())
    check_answer(status, answer, logs)
    assert status == 200


def test_a_websocket_handshake_is_refused_with_a_json_rpc_error(served: Served) -> None:
    """hypercorn answered an unhandled WebSocket handshake with an empty HTTP 500."""
    assert served.node.rpc_url is not None
    handshake = (
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    status, _, answer = trio.run(http, served.node.rpc_url, handshake)
    assert status == 405 and answer["error"]["code"] == -32600, (status, answer)
    assert "use POST" in answer["error"]["message"]
