"""Automatic jurors (judicial.jurors): a node drawn onto a jury judges by its own first-seen
log, commits and reveals by itself, and reveals the same ballot after a restart.

The network tests run real nodes over the in-memory network on virtual time (tests/netsim.py):
five producers, so a jury of three (the minimal preset) is drawn without the two parties.
"""

from __future__ import annotations

import trio
import trio.testing

from judicial import cases as c
from judicial.court import Accusation
from judicial.jurors import AutomaticJuror
from judicial.slashes import slash_history
from porchain.chain import Chain
from porchain.clock import SlotClock
from porchain.genesis import Genesis
from porchain.node import Node, NodeConfig
from porchain.types.transactions import TxKind
from porchain.verdicts import read_verdict
from tests.factories import GENESIS_TIME_MS, key, make_genesis, sign_tx
from tests.netsim import PRODUCER_KEYS, Sim, simulation
from tests.test_behaviours import BYSTANDER, TARGET, censor_of, send_each_slot
from tests.test_court import PARAMS, Court, accused_block

ACCUSER = key(620)  # an honest account holding REP, not running a node
NODES = 5
DEADLINE_SECONDS = 60.0  # virtual time


def court_genesis() -> Genesis:
    alloc = {k: {"balance": "1000", "rep_encumbered": "1000"} for k in PRODUCER_KEYS[:NODES]}
    alloc.update({user: {"balance": "100000"} for user in (TARGET, BYSTANDER)})
    alloc[ACCUSER] = {"balance": "1000", "rep": "100"}
    return make_genesis(alloc, preset="minimal")


def accuse(sim: Sim, block_hash: bytes, txs: list[bytes]) -> None:
    payload = Accusation(block_hash, tuple(txs[: PARAMS.max_accused_txs]), PARAMS.flag_stake)
    tx = sign_tx(ACCUSER, TxKind.ACCUSE, payload.to_rlp(), nonce=0)
    sim.nodes[0].submit_transaction(tx.encoded)


async def closed_case(sim: Sim, case_id: int) -> c.Case:
    """Case `case_id` once it is closed on every node and all agree on the state."""
    with trio.fail_after(DEADLINE_SECONDS):
        while True:
            cases = [c.case(node.chain.state(), case_id) for node in sim.nodes]
            if all(x.phase == c.CLOSED for x in cases) and len(sim.heads()) == 1:
                roots = {node.chain.head.state_root for node in sim.nodes}
                assert len(roots) == 1
                return cases[0]
            await trio.sleep(0.05)


async def censored_block(sim: Sim, censor: bytes) -> tuple[bytes, list[bytes]]:
    """A block of `censor` that node 0 judged censoring, and the transactions it named."""
    node = sim.nodes[0]
    with trio.fail_after(DEADLINE_SECONDS):
        while True:
            for block in node.chain.iter_canonical(max(1, node.chain.head.number - 4)):
                if block.header.producer != censor or block.number == node.chain.head.number:
                    continue  # the head's hash is in the state once a block follows it
                verdict = read_verdict(node.chain.db, block.number, block.hash)
                if verdict is not None and verdict.censored:
                    return block.hash, [entry.tx_hash for entry in verdict.censored]
            await trio.sleep(0.05)


async def test_a_censor_accused_by_an_honest_account_is_found_guilty_by_automatic_jurors(
    autojump_clock: trio.testing.MockClock,
) -> None:
    censor = PRODUCER_KEYS[NODES - 1].address
    async with simulation(court_genesis()) as sim:
        for i in range(NODES - 1):
            await sim.start_node(i)
        await sim.start_node(NODES - 1, behaviour=censor_of(TARGET.address))
        sim.nursery.start_soon(send_each_slot, sim.nodes[0], 400)
        block_hash, txs = await censored_block(sim, censor)
        accuse(sim, block_hash, txs)
        closed = await closed_case(sim, 1)

    assert closed.accused == censor and closed.accuser == ACCUSER.address
    assert len(closed.jurors) == PARAMS.jury_size
    assert [j.vote for j in closed.jurors] == [c.GUILTY] * PARAMS.jury_size
    assert closed.verdict == c.GUILTY
    assert closed.closed_at < closed.reveal_ends  # every juror revealed: closed early
    assert [j.payout for j in closed.jurors] == [PARAMS.juror_reward] * PARAMS.jury_size
    assert closed.flagger_paid == PARAMS.flagger_reward and closed.returned == closed.stake
    state = sim.nodes[0].chain.state()
    history = slash_history(state, censor)
    assert history.count == 1 and history.total == closed.slashed > 0


async def test_an_honest_producer_falsely_accused_is_not_guilty_and_the_accuser_pays(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with simulation(court_genesis()) as sim:
        for i in range(NODES):
            await sim.start_node(i)
        sim.nursery.start_soon(send_each_slot, sim.nodes[0], 400)
        node = sim.nodes[0]
        with trio.fail_after(DEADLINE_SECONDS):
            while True:  # a block with transactions: name one it included
                block = node.chain.get_block_by_number(node.chain.head.number - 1)
                if block is not None and block.number > 1 and block.transactions:
                    break
                await trio.sleep(0.05)
        named = [block.transactions[0].hash, b"\x42" * 32]  # included, and never seen
        accuse(sim, block.hash, named)
        closed = await closed_case(sim, 1)
        state = sim.nodes[0].chain.state()

    assert closed.accused == block.header.producer
    assert [j.vote for j in closed.jurors] == [c.NOT_GUILTY] * PARAMS.jury_size
    assert closed.verdict == c.NOT_GUILTY and closed.slashed == 0
    paid = PARAMS.juror_reward * PARAMS.jury_size
    assert [j.payout for j in closed.jurors] == [PARAMS.juror_reward] * PARAMS.jury_size
    assert closed.returned == closed.stake - paid
    assert state.account(ACCUSER.address).rep_weight == 100 * 10**9 - paid
    assert c.protected_until(state, closed.accused) == closed.closed_at + PARAMS.protection_blocks


async def test_a_juror_reveals_the_ballot_it_committed_after_a_restart() -> None:
    court = Court()
    court.file(accused_block(court))
    court.to_phase(1, c.COMMIT)
    address = court.case(1).jurors[0].address
    juror_key = court.juror_key(address)

    def start(salt_byte: int) -> tuple[Node, AutomaticJuror]:
        clock = SlotClock(GENESIS_TIME_MS, PARAMS.slot_ms)
        node = Node(court.chain, clock, key=juror_key, config=NodeConfig(rpc_port=None), plugins=[])
        return node, AutomaticJuror(node, new_salt=lambda case_id: bytes([salt_byte]) * 32)

    node, juror = start(1)
    head = court.chain.get_block(court.chain.head.hash)
    juror.on_new_head(head)
    (commit,) = node.mempool.transactions()
    assert commit.kind == TxKind.JURY_COMMIT
    juror.on_new_head(head)  # already waiting in the mempool: not sent twice
    assert len(node.mempool.transactions()) == 1
    court.block(commit)

    court.chain = Chain(court.chain.db, court.chain.rules)  # the node restarts, salts differ
    court.to_phase(1, c.REVEAL)
    node, juror = start(2)
    juror.on_new_head(court.chain.get_block(court.chain.head.hash))
    (reveal,) = node.mempool.transactions()
    assert reveal.kind == TxKind.JURY_REVEAL
    court.block(reveal)  # valid: it matches the commitment made before the restart
    assert c.juror_of(court.case(1), address).vote == c.NOT_GUILTY  # nothing it saw censored
    court.to_phase(1, c.CLOSED)
    juror.on_new_head(court.chain.get_block(court.chain.head.hash))
    assert list(court.chain.db.iterate(b"p1/ballot/")) == []  # forgotten once closed
