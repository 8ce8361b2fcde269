"""The state after an earlier block, read through the undo journals: it must equal, entry for
entry, the state the chain committed at that block; what it cannot serve is refused clearly."""

from __future__ import annotations

import json
import random
import threading

import pytest
import trio
from click.testing import CliRunner, Result

from porchain.chain import Chain
from porchain.cli.main import cli
from porchain.clock import SlotClock
from porchain.db import schema
from porchain.node import Node, NodeConfig
from porchain.rpc import methods
from porchain.rpc.errors import STATE_UNAVAILABLE
from porchain.rpc.server import serve_rpc
from porchain.state import past
from porchain.state.objects import Account
from porchain.state.past import StateUnavailable, past_reader, state_at
from tests.factories import (
    GENESIS_TIME_MS,
    KEYS,
    default_alloc,
    extend,
    make_genesis,
    new_chain,
    state_entries,
    transfer,
)
from tests.test_rpc import Client

BLOCKS = 25


def random_chain() -> tuple[Chain, list[list[tuple[bytes, bytes]]]]:
    """A chain of random transfers, with the committed state entries after every block."""
    rng = random.Random(7)
    chain = new_chain(make_genesis(default_alloc()))
    nonces = dict.fromkeys(KEYS, 0)
    snapshots = [state_entries(chain.db)]
    for _ in range(BLOCKS):
        txs = []
        for sender in rng.sample(KEYS, 3):
            to = rng.choice(KEYS).address
            txs.append(transfer(sender, to, rng.randrange(1, 10**9), nonce=nonces[sender]))
            nonces[sender] += 1
        extend(chain, txs)
        snapshots.append(state_entries(chain.db))
    return chain, snapshots


def test_every_past_state_equals_what_was_committed_then() -> None:
    chain, snapshots = random_chain()
    at_head = dict(snapshots[-1])
    for number, snapshot in enumerate(snapshots):
        reader = past_reader(chain, number)
        then = dict(snapshot)
        for key in then.keys() | at_head.keys():
            assert reader.get(schema.state_db_key(key)) == then.get(key), (number, key)
        for sender in KEYS:
            account = state_at(chain, number).account(sender.address)
            assert account.balance == then_balance(then, sender.address)


def then_balance(entries: dict[bytes, bytes], address: bytes) -> int:
    raw = entries.get(schema.account_state_key(address))
    return 0 if raw is None else Account.decode(raw).balance


def test_too_old_or_future_blocks_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    chain, _ = random_chain()
    monkeypatch.setattr(past, "PAST_STATE_BLOCKS", 10)
    state_at(chain, BLOCKS - 10)
    with pytest.raises(StateUnavailable, match=r"is 11 blocks old; .* the last 10 blocks"):
        state_at(chain, BLOCKS - 11)
    with pytest.raises(StateUnavailable, match=rf"#{BLOCKS + 1} is not on the chain yet"):
        state_at(chain, BLOCKS + 1)


async def test_por_get_account_at_a_block(monkeypatch: pytest.MonkeyPatch) -> None:
    chain, snapshots = random_chain()
    monkeypatch.setattr(past, "PAST_STATE_BLOCKS", 10)
    clock = SlotClock(GENESIS_TIME_MS, chain.state().params.slot_ms)
    node = Node(chain, clock, config=NodeConfig(rpc_port=0, produce=False))
    address = KEYS[1].address
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_rpc, node, "127.0.0.1", 0)
        client = Client(url)
        for number in (BLOCKS - 3, BLOCKS - 10):
            got = await client.call("por_getAccount", "0x" + address.hex(), number)
            assert got["block"] == number
            assert int(got["balance"]) == then_balance(dict(snapshots[number]), address)
        latest = await client.call("por_getAccount", "0x" + address.hex())
        assert latest["block"] == BLOCKS
        error = await client.error("por_getAccount", "0x" + address.hex(), 0)
        assert error["code"] == STATE_UNAVAILABLE and "the last 10 blocks" in error["message"]
        error = await client.error("por_getAccount", "0x" + address.hex(), "yesterday")
        assert error["code"] == -32602

        def account(*args: str) -> Result:
            env = {"PORCHAIN_RPC": url}
            return CliRunner().invoke(
                cli, ["chain", "account", "0x" + address.hex(), *args], env=env
            )

        shown = await trio.to_thread.run_sync(account, "--block", str(BLOCKS - 3), "-o", "json")
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout)["block"] == BLOCKS - 3
        refused = await trio.to_thread.run_sync(account, "--block", "tomorrow")
        assert refused.exit_code == 2 and "not a block number" in refused.output
        too_old = await trio.to_thread.run_sync(account, "--block", "0")
        assert too_old.exit_code == 1 and "the last 10 blocks" in too_old.output
        nursery.cancel_scope.cancel()


OLD_READS = 100  # a full batch (RPCLimits.max_batch)


async def test_a_batch_of_old_state_reads_does_not_stall_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 10, finding 8: a 100-call batch of past-state reads froze a node for 2.8 s. The
    journal walks run in worker threads: while every one of them is held, the loop still answers
    another request. (Were they on the loop, that answer could never come.)"""
    chain = new_chain()
    for number in range(3):
        extend(chain, [transfer(KEYS[1], KEYS[2].address, 1, nonce=number)])
    node = Node(chain, SlotClock(GENESIS_TIME_MS, 1000), config=NodeConfig(produce=False))
    held, loop_thread = threading.Event(), threading.get_ident()
    reader_threads: set[int] = set()

    def held_state_at(chain: Chain, number: int) -> object:
        reader_threads.add(threading.get_ident())
        if threading.get_ident() != loop_thread:  # on the loop, waiting would freeze the test
            held.wait(timeout=60)
        return state_at(chain, number)

    monkeypatch.setattr(methods, "state_at", held_state_at)
    address = "0x" + KEYS[1].address.hex()
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": "por_getAccount", "params": [address, i % 3]}
        for i in range(OLD_READS)
    ]
    answers: list[object] = []
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_rpc, node, "127.0.0.1", 0)

        async def send_batch() -> None:
            answers.append((await Client(url).raw(json.dumps(batch).encode()))[1])

        nursery.start_soon(send_batch)
        with trio.fail_after(60):
            while not reader_threads:  # the batch has reached its first journal walk
                await trio.sleep(0.01)
            assert await Client(url).call("por_blockNumber") == 3
            held.set()
            while not answers:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    (answer,) = answers
    assert isinstance(answer, list) and [a["result"]["nonce"] for a in answer] == [
        i % 3 for i in range(OLD_READS)
    ]
    assert loop_thread not in reader_threads
