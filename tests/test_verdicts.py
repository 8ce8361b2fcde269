"""Block verdicts (issue 11, point 5): what a node judged about each head block and why, logged,
kept in its database for a bounded horizon, and served over RPC and the CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import trio
from click.testing import CliRunner

from porchain.builder import build_block
from porchain.chain import Chain
from porchain.cli.main import cli
from porchain.clock import SlotClock
from porchain.consensus.pool_codes import AGAINST, FOR
from porchain.db import schema
from porchain.db.level import LevelDB
from porchain.db.memory import MemoryDB
from porchain.node import Node, NodeConfig
from porchain.rpc import errors
from porchain.verdicts import (
    JUDGED_FOR,
    NO_KEY,
    NOT_RECENT,
    VERDICT_BLOCKS,
    Verdict,
    VerdictLog,
    read_verdict,
)
from tests.factories import GENESIS_TIME_MS, core_rules, make_genesis, new_chain, transfer
from tests.test_duties import ME, RIVAL, SLOT_MS, USER, my_votes, rival_block_at, rival_slot
from tests.test_rpc import Client


def alloc() -> dict:
    out = {k: {"balance": "1000", "rep_encumbered": "100"} for k in (ME, RIVAL)}
    out[USER] = {"balance": "1000"}
    return out


@pytest.fixture
def chain() -> Chain:
    return new_chain(make_genesis(alloc()))


def node_at_slot(chain: Chain, slot: int, *, keyed: bool = True, rpc: bool = False) -> Node:
    """A node whose clock reads the start of `slot` at trio time 0."""
    clock = SlotClock(GENESIS_TIME_MS, SLOT_MS, offset_ms=GENESIS_TIME_MS + slot * SLOT_MS)
    config = NodeConfig(rpc_port=0 if rpc else None, produce=False)
    return Node(chain, clock, key=ME if keyed else None, config=config)


def verdict_of(node: Node, number: int) -> Verdict | None:
    block_hash = node.chain.get_canonical_hash(number)
    assert block_hash is not None
    return read_verdict(node.chain.db, number, block_hash)


async def censoring_block(node: Node):  # type: ignore[no-untyped-def]
    """A rival's block that leaves out a transfer `node` saw in time; (block, transfer)."""
    censored = transfer(USER, RIVAL.address, 1, nonce=0)
    node.submit_transaction(censored.encoded)
    block = await rival_block_at(node, rival_slot(node.chain, 4), [])
    return block, censored


async def test_a_block_that_left_out_a_transaction_seen_in_time_is_judged_against(
    chain: Chain, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    node = node_at_slot(chain, 3)
    block, censored = await censoring_block(node)
    with caplog.at_level(logging.INFO, logger="porchain.verdicts"):
        node.import_block(block)
    verdict = verdict_of(node, block.number)
    assert verdict is not None and verdict.against and verdict.censored_count == 1
    (listed,) = verdict.censored
    assert (listed.tx_hash, listed.sender) == (censored.hash, USER.address)
    assert (
        listed.first_seen_ms == GENESIS_TIME_MS + 3 * SLOT_MS == node.first_seen.get(censored.hash)
    )
    assert verdict.slot_start_ms == GENESIS_TIME_MS + block.slot * SLOT_MS
    assert (verdict.vote_side, verdict.reason) == (AGAINST, b"")
    assert verdict.vote_stake > 0 and my_votes(node) == [AGAINST]
    before = (block.slot - 3) * SLOT_MS
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert line.startswith(f"verdict against block #{block.number} ")
    assert f"0x{censored.hash.hex()[:16]} (TRANSFER, seen {before}ms before the slot)" in line


async def test_an_honest_block_is_judged_for_with_nothing_censored(
    chain: Chain, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    node = node_at_slot(chain, 3)
    tx = transfer(USER, RIVAL.address, 1, nonce=0)
    node.submit_transaction(tx.encoded)
    block = await rival_block_at(node, rival_slot(chain, 4), [tx])
    with caplog.at_level(logging.DEBUG, logger="porchain.verdicts"):
        node.import_block(block)
    verdict = verdict_of(node, block.number)
    assert verdict is not None and verdict.verdict == JUDGED_FOR
    assert (verdict.censored_count, verdict.censored, verdict.vote_side) == (0, [], FOR)
    assert [r.levelno for r in caplog.records if r.name == "porchain.verdicts"] == [logging.DEBUG]


async def test_a_node_without_a_key_judges_too(
    chain: Chain, autojump_clock: trio.testing.MockClock
) -> None:
    node = node_at_slot(chain, 3, keyed=False)
    block, censored = await censoring_block(node)
    node.import_block(block, source=RIVAL.address)
    verdict = verdict_of(node, block.number)
    assert verdict is not None and verdict.against
    assert [c.tx_hash for c in verdict.censored] == [censored.hash]
    assert (verdict.vote_stake, verdict.reason) == (0, NO_KEY.encode())


async def test_a_block_imported_while_catching_up_is_not_judged(
    chain: Chain, autojump_clock: trio.testing.MockClock
) -> None:
    late = 2 * chain.state().params.block_pool_duration
    slot = rival_slot(chain, 4)
    node = node_at_slot(chain, slot + late)
    node.submit_transaction(transfer(USER, RIVAL.address, 1, nonce=0).encoded)
    block = await rival_block_at(node, slot, [])
    node.import_block(block, source=RIVAL.address)
    verdict = verdict_of(node, block.number)
    assert verdict is not None and verdict.verdict == 0 and verdict.censored == []
    assert verdict.reason == NOT_RECENT.encode() and my_votes(node) == []


async def test_verdicts_survive_a_restart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    chain = new_chain(make_genesis(alloc()), LevelDB(tmp_path / "db"))
    node = node_at_slot(chain, 3)
    block, _ = await censoring_block(node)
    node.import_block(block)
    before = verdict_of(node, block.number)
    chain.db.close()

    chain = Chain(LevelDB(tmp_path / "db"), core_rules())
    try:
        assert before is not None and verdict_of(node_at_slot(chain, 3), block.number) == before
    finally:
        chain.db.close()


def test_verdicts_beyond_the_horizon_are_pruned() -> None:
    db = MemoryDB()
    log = VerdictLog(db)
    newest = VERDICT_BLOCKS + 300
    for number in range(newest + 1):
        log.record(Verdict(number.to_bytes(32, "big"), number, number, 0, 0, JUDGED_FOR))
    numbers = [schema.split_verdict_key(k)[0] for k, _ in db.iterate(schema.VERDICT_PREFIX)]
    assert numbers == list(range(newest - VERDICT_BLOCKS, newest + 1))
    assert read_verdict(db, newest, newest.to_bytes(32, "big")) is not None
    assert read_verdict(db, 0, bytes(32)) is None


async def test_the_verdict_is_served_over_rpc_and_the_cli(
    chain: Chain, nursery: trio.Nursery
) -> None:
    """On real time (the HTTP client runs in threads): the node's clock reads the block's slot,
    and it saw the transfer 300 ms before."""
    slot = rival_slot(chain, 4)
    node = node_at_slot(chain, slot, rpc=True)
    await nursery.start(node.run)
    censored = transfer(USER, RIVAL.address, 1, nonce=0)
    node.first_seen.record(censored.hash, node.clock.slot_start_ms(slot) - 300)
    node.submit_transaction(censored.encoded)
    block = build_block(chain.state(), chain.head, slot, RIVAL, [], chain.rules).block
    node.import_block(block)
    client = Client(node.rpc_url)
    latest = await client.call("por_getBlockVerdict", "latest")
    assert latest == await client.call("por_getBlockVerdict", block.number)
    assert latest == await client.call("por_getBlockVerdict", "0x" + block.hash.hex())
    assert (latest["verdict"], latest["reason"], latest["vote"]["side"]) == (
        "against",
        None,
        "against",
    )
    (listed,) = latest["censored"]
    assert listed["hash"] == "0x" + censored.hash.hex() and listed["kind"] == "TRANSFER"
    assert listed["seen_before_slot_ms"] == 300
    assert await client.call("por_getBlockVerdict", 0) is None  # genesis: never judged
    assert await client.call("por_getBlockVerdict", 10**30) is None
    assert await client.call("por_getBlockVerdict", "0x" + "00" * 32) is None
    for bad in ("0x12", -1, True, "pending", [1]):
        error = await client.error("por_getBlockVerdict", bad)
        assert error["code"] == errors.INVALID_PARAMS and "block" in error["message"]

    def cli_verdict(*args: str) -> str:
        env = {"PORCHAIN_RPC": node.rpc_url}
        result = CliRunner().invoke(cli, ["chain", "verdict", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    assert json.loads(await trio.to_thread.run_sync(cli_verdict, "latest", "-o", "json")) == latest
    text = await trio.to_thread.run_sync(cli_verdict, str(block.number))
    assert "against" in text and "0x" + censored.hash.hex()[:12] in text  # narrow: cut
