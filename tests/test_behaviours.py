"""Byzantine behaviours (PROTOCOL section 13): their arguments, and what each does to honest
nodes, on real nodes over the in-memory network and virtual time (tests/netsim.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio.testing
from click.testing import CliRunner

from porchain.behaviours import BehaviourError, make_behaviour
from porchain.cli.main import cli
from porchain.consensus.pool_codes import AGAINST, FOR, OPEN, REJECTED
from porchain.crypto.keys import to_checksum_address
from porchain.errors import InvalidTransaction
from porchain.genesis import Genesis
from porchain.node import Node
from porchain.types.blocks import Block
from porchain.types.transactions import TxKind
from tests.factories import dollars, key, make_genesis, transfer
from tests.netsim import PRODUCER_KEYS, simulation

TARGET = key(600)  # the user the censor leaves out
BYSTANDER = key(601)  # another user, whom nobody censors
INITIAL_REP = dollars(1000)  # each producer's, encumbered at genesis (REP has 9 decimals too)
SLOT_SECONDS = 0.1  # minimal preset


def users_genesis(producers: int = 4) -> Genesis:
    alloc = {k: {"balance": "1000", "rep_encumbered": "1000"} for k in PRODUCER_KEYS[:producers]}
    alloc.update({user: {"balance": "100000"} for user in (TARGET, BYSTANDER)})
    return make_genesis(alloc, preset="minimal")


def censor_of(user: bytes):
    return make_behaviour("censor", [f"senders={to_checksum_address(user)}"])


async def send_each_slot(node: Node, slots: int) -> None:
    """One transfer a slot from each user, mid-slot, to `node`'s RPC entry point."""
    nonces = dict.fromkeys((TARGET, BYSTANDER), 0)
    await trio.sleep(SLOT_SECONDS * 0.3)
    for _ in range(slots):
        for user in nonces:
            tx = transfer(user, PRODUCER_KEYS[0].address, dollars(1), nonce=nonces[user])
            try:
                node.submit_transaction(tx.encoded)
            except InvalidTransaction:
                continue  # its queue is full for now
            nonces[user] += 1
        await trio.sleep(SLOT_SECONDS)


def resolved_blocks(node: Node, producer: bytes) -> list[Block]:
    """`producer`'s blocks on `node`'s chain whose pools have resolved."""
    state = node.chain.state()
    return [
        b
        for b in node.chain.iter_canonical(1)
        if b.header.producer == producer
        and state.pool(state.block_pool_id(b.number)).status != OPEN
    ]


def sides(node: Node, block: Block) -> dict[bytes, int]:
    """Each voter's side on `block`'s pool (bonds left out)."""
    state = node.chain.state()
    pool = state.pool(state.block_pool_id(block.number))
    return {s.voter: s.side for s in pool.stakes if not s.bond}


def rep(node: Node, address: bytes) -> int:
    account = node.chain.state().account(address)
    return account.rep + account.rep_encumbered + account.rep_staked


# -- arguments -----------------------------------------------------------------------------------


def test_arguments_are_parsed_typed_and_shown() -> None:
    target = to_checksum_address(TARGET.address)
    censor = make_behaviour("censor", [f"senders={target}", "kinds=vote,Transfer", "fraction=0.5"])
    assert censor.info() == {
        "name": "censor",
        "args": {
            "senders": [target],
            "kinds": ["TRANSFER", "VOTE"],
            "rival_votes": False,
            "beacon": False,
            "fraction": 0.5,
            "seed": 0,
        },
    }
    assert make_behaviour("honest").info() == {"name": "honest", "args": {}}
    offline = make_behaviour("offline", ["from_slot=5"]).info()
    assert offline["args"] == {"from_slot": 5, "until_slot": None}


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("bribe", [], "unknown behaviour 'bribe': choose one of honest, censor, lazy_voter"),
        ("censor", [], "censor needs a target: one of senders, kinds, rival_votes, beacon"),
        ("censor", ["who=me"], "censor takes no argument 'who' (it takes: senders, kinds,"),
        ("lazy_voter", ["x=1"], "lazy_voter takes no argument 'x' (it takes: none)"),
        ("censor", ["beacon"], "behaviour argument 'beacon' is not key=value"),
        ("censor", ["beacon=maybe"], "censor beacon (bool): expected true or false, got 'maybe'"),
        ("censor", ["kinds=BRIBE"], "censor kinds (kinds): unknown kind 'BRIBE': one of TRANSFER"),
        ("censor", ["senders=0x12"], "censor senders (addresses): an address is 20 bytes"),
        ("censor", ["fraction=1.5"], "censor fraction (number 0..1): expected a number from 0"),
        ("offline", ["from_slot=soon"], "offline from_slot (slot): expected an integer, got"),
        ("equivocate", ["fraction=2"], "equivocate fraction (number 0..1): expected a number"),
        ("equivocate", ["from_slot=later"], "equivocate from_slot (int): expected an integer, got"),
        ("equivocate", ["rule=state_root"], "equivocate takes no argument 'rule' (it takes: from_"),
        ("invalid_block", ["rule=gas"], "invalid_block rule (rule): unknown rule 'gas': one of"),
        ("invalid_block", ["from_slot=x"], "invalid_block from_slot (int): expected an integer"),
        ("invalid_block", ["seed=1"], "invalid_block takes no argument 'seed' (it takes: rule,"),
    ],
)
def test_bad_arguments_are_refused_with_what_is_wrong(
    name: str, args: list[str], message: str
) -> None:
    with pytest.raises(BehaviourError) as info:
        make_behaviour(name, args)
    assert str(info.value).startswith(message)


def test_a_fractional_censor_draws_the_same_blocks_for_a_seed() -> None:
    def drawn(seed: int) -> list[int]:
        censor = make_behaviour("censor", ["beacon=true", "fraction=0.25", f"seed={seed}"])
        return [slot for slot in range(400) if censor.censors_at(slot)]

    assert drawn(7) == drawn(7) != drawn(8)
    assert 60 <= len(drawn(7)) <= 140  # about a quarter of 400


def test_node_run_refuses_an_attack_on_a_chain_that_is_not_a_devnet(tmp_path: Path) -> None:
    datadir = tmp_path / "node"
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(make_genesis(chain_id=77).to_json()))
    runner = CliRunner()
    init = ["--datadir", str(datadir), "init", "--genesis", str(genesis)]
    assert runner.invoke(cli, init).exit_code == 0
    run = ["--datadir", str(datadir), "node", "run", "--no-p2p", "--no-rpc"]
    result = runner.invoke(cli, [*run, "--behaviour", "lazy_voter"])
    assert result.exit_code == 2
    assert "not a devnet (chain id 1337): add --dev-rpc on a devnet, or --i-know" in result.output
    bad = runner.invoke(cli, ["node", "run", "--behaviour", "censor", "--behaviour-arg", "x=1"])
    assert bad.exit_code == 2 and "censor takes no argument 'x'" in bad.output
    orphan = runner.invoke(cli, ["node", "run", "--behaviour-arg", "x=1"])
    assert orphan.exit_code == 2 and "needs --behaviour" in orphan.output


# -- on a network --------------------------------------------------------------------------------


async def test_a_censor_is_voted_against_and_loses_rep(
    autojump_clock: trio.testing.MockClock,
) -> None:
    censor_key = PRODUCER_KEYS[3]
    honest = [k.address for k in PRODUCER_KEYS[:3]]
    async with simulation(users_genesis()) as sim:
        for i in range(3):
            await sim.start_node(i)
        await sim.start_node(3, behaviour=censor_of(TARGET.address))
        await send_each_slot(sim.nodes[0], 200)
        observer = sim.nodes[0]
        censored = resolved_blocks(observer, censor_key.address)
        assert len(censored) >= 20
        for block in censored:
            assert not any(tx.sender == TARGET.address for tx in block.transactions)
            assert [sides(observer, block).get(a) for a in honest] == [AGAINST] * 3
        state = observer.chain.state()
        outcomes = {state.pool(state.block_pool_id(b.number)).status for b in censored}
        assert outcomes == {REJECTED}
        for address in honest:
            assert rep(observer, address) > INITIAL_REP > rep(observer, censor_key.address)
            for block in resolved_blocks(observer, address):
                assert AGAINST not in sides(observer, block).values()


async def test_a_lazy_voter_votes_for_a_censoring_block(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lazy, censor = PRODUCER_KEYS[2].address, PRODUCER_KEYS[3].address
    async with simulation(users_genesis()) as sim:
        for i in range(2):
            await sim.start_node(i)
        await sim.start_node(2, behaviour=make_behaviour("lazy_voter"))
        await sim.start_node(3, behaviour=censor_of(TARGET.address))
        await send_each_slot(sim.nodes[0], 100)
        observer = sim.nodes[0]
        censored = resolved_blocks(observer, censor)
        assert len(censored) >= 10
        for block in censored:
            votes = sides(observer, block)
            assert votes[PRODUCER_KEYS[0].address] == votes[PRODUCER_KEYS[1].address] == AGAINST
            assert votes[lazy] == FOR


async def test_a_lazy_voter_among_honest_nodes_earns_without_checking(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nobody censoring, FOR is always the winning side: the lazy voter earns as the honest
    nodes do, and never ran the censorship check."""
    async with simulation(users_genesis()) as sim:
        for i in range(3):
            await sim.start_node(i)
        lazy = await sim.start_node(3, behaviour=make_behaviour("lazy_voter"))
        checked: list[Block] = []
        monkeypatch.setattr(lazy, "censored_in", checked.append)  # an instance attribute
        await send_each_slot(sim.nodes[0], 100)
        observer = sim.nodes[0]
        gains = [rep(observer, k.address) - INITIAL_REP for k in PRODUCER_KEYS[:4]]
        voted = [b for b in observer.chain.iter_canonical(1) if lazy.address in sides(observer, b)]
        assert len(voted) >= 50
        assert {sides(observer, b)[lazy.address] for b in voted} == {FOR}
        assert checked == []
        assert min(gains[:3]) > 0
        assert gains[3] >= min(gains[:3]) * 3 // 4  # what it earns is an honest node's


async def test_an_offline_node_does_nothing_in_its_window_and_resumes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    away, back = 20, 60
    quiet = PRODUCER_KEYS[3].address
    async with simulation(users_genesis()) as sim:
        for i in range(3):
            await sim.start_node(i)
        offline = make_behaviour("offline", [f"from_slot={away}", f"until_slot={back}"])
        await sim.start_node(3, behaviour=offline)
        observer = sim.nodes[0]
        with trio.fail_after(400 * SLOT_SECONDS):
            while not any(
                b.header.producer == quiet and b.slot >= back
                for b in observer.chain.iter_canonical(1)
            ):
                await trio.sleep(SLOT_SECONDS)
        blocks = list(observer.chain.iter_canonical(1))
        assert not [b for b in blocks if b.header.producer == quiet and away <= b.slot < back]
        voted_on = [b for b in blocks if away <= b.slot < back and quiet in sides(observer, b)]
        assert voted_on == []
        state = observer.chain.state()
        epoch_slots = state.params.epoch_slots
        later = [b for b in blocks if away + epoch_slots <= b.slot < back]  # what it sent before
        assert not [tx for b in later for tx in b.transactions if tx.sender == quiet]  # is in
        for epoch in range(away // epoch_slots, back // epoch_slots):
            record = state.epoch_record(epoch)
            assert quiet not in [c.address for c in record.commits]
        beacon = [tx for b in blocks for tx in b.transactions if tx.sender == quiet]
        assert any(tx.kind == TxKind.COMMIT for tx in beacon)  # it did its duties outside
