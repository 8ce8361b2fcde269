"""`withhold_reveal` (PROTOCOL sections 6 and 13): the last revealer skips reveals, pays the
reveal penalty and is left out of the schedule its reveal would have decided; honest nodes
reveal every epoch and pay nothing. Real nodes over the in-memory network, virtual time."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import pytest
import trio
import trio.testing

from porchain.behaviours import make_behaviour
from porchain.constants import PPM
from porchain.crypto.keys import to_checksum_address
from porchain.genesis import Genesis
from porchain.node import Node
from porchain.state.objects import Penalty
from tests.factories import make_genesis
from tests.netsim import PRODUCER_KEYS, Sim, simulation

EPOCH_SLOTS = 8  # reveal window 4..7: honest reveals land before the withholder's decision at 6
SLOT_SECONDS = 0.1  # minimal preset
WITHHOLDER, PARTNER = PRODUCER_KEYS[3].address, PRODUCER_KEYS[2].address
HONEST = [k.address for k in PRODUCER_KEYS[:3]]
WITHHELD = re.compile(r"withheld reveal epoch=(\d+) slots_revealing=(\d+) slots_withholding=(\d+)")


def beacon_genesis() -> Genesis:
    alloc = {k: {"balance": "1000", "rep_encumbered": "1000"} for k in PRODUCER_KEYS[:4]}
    return make_genesis(
        alloc, preset="minimal", wsc={"epoch_slots": EPOCH_SLOTS, "review_blocks": 2 * EPOCH_SLOTS}
    )


@dataclass
class Run:
    """What the test saw: the withholder's ASC weight at the end of each epoch (last sample)."""

    weight_at_end: dict[int, int] = field(default_factory=dict)


async def run_epochs(sim: Sim, behaviour_args: list[str], epochs: int) -> Run:
    for i in range(3):
        await sim.start_node(i)
    await sim.start_node(3, behaviour=make_behaviour("withhold_reveal", behaviour_args))
    observer, run = sim.nodes[0], Run()
    await trio.sleep(SLOT_SECONDS / 2)  # sample mid-slot, when the slot's block is in
    for _ in range(epochs * EPOCH_SLOTS):
        state = observer.chain.state()
        epoch = observer.chain.head.slot // EPOCH_SLOTS
        run.weight_at_end[epoch] = state.account(WITHHOLDER).asc_weight
        await trio.sleep(SLOT_SECONDS)
    return run


def producers_in(node: Node, epoch: int) -> list[bytes]:
    slots = range(epoch * EPOCH_SLOTS, (epoch + 1) * EPOCH_SLOTS)
    return [b.header.producer for b in node.chain.iter_canonical(1) if b.slot in slots]


def check_penalties(node: Node, run: Run, epochs: range) -> list[int]:
    """The epochs the withholder withheld in: each charged it `reveal_penalty_ppm` of its
    weight, left it out of the schedule two epochs on, and charged nobody else."""
    state = node.chain.state()
    ppm = state.params.reveal_penalty_ppm
    withheld = []
    for epoch in epochs:
        record = state.epoch_record(epoch)
        assert [c.address for c in record.commits] == sorted([*HONEST, WITHHOLDER])
        revealed = {r.address for r in record.reveals}
        assert set(HONEST) <= revealed
        if WITHHOLDER in revealed:
            assert record.penalties == []
            continue
        withheld.append(epoch)
        penalty = run.weight_at_end[epoch] * ppm // PPM
        assert record.penalties == [Penalty(WITHHOLDER, penalty)]
        assert WITHHOLDER not in producers_in(node, epoch + 2)
    return withheld


async def test_always_withholding_pays_the_penalty_every_epoch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    epochs = 8
    async with simulation(beacon_genesis()) as sim:
        run = await run_epochs(sim, ["always=true"], epochs)
        observer = sim.nodes[0]
        assert check_penalties(observer, run, range(1, epochs - 1)) == list(range(1, epochs - 1))
        weights = [run.weight_at_end[e] for e in range(1, epochs - 1)]
        assert weights == sorted(weights, reverse=True) and weights[-1] < weights[0]
        for address in HONEST:  # they keep producing and their REP grows
            assert observer.chain.state().account(address).asc_weight > weights[0]


async def test_the_last_revealer_withholds_when_its_partner_gains_more(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    epochs = 24
    partner = to_checksum_address(PARTNER)
    with caplog.at_level(logging.INFO, logger="porchain.behaviours.withhold"):
        async with simulation(beacon_genesis()) as sim:
            run = await run_epochs(sim, [f"partners={partner}"], epochs)
            observer = sim.nodes[0]
            withheld = check_penalties(observer, run, range(1, epochs - 2))
    logged = {int(e): (int(r), int(w)) for e, r, w in WITHHELD.findall(caplog.text)}
    assert withheld and len(withheld) < epochs - 3  # it withheld, and it revealed too
    assert set(withheld) <= set(logged)
    for epoch in withheld:
        revealing, withholding = logged[epoch]
        assert withholding > revealing
        # its model of the epoch end was right: the partner got what it counted on
        assert producers_in(observer, epoch + 2).count(PARTNER) == withholding


async def test_alone_the_last_revealer_always_reveals(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Withholding leaves our key out of the only schedule the reveal decides: 0 slots, never
    more than revealing gives, so without partners the strategy reveals every time."""
    epochs = 8
    async with simulation(beacon_genesis()) as sim:
        run = await run_epochs(sim, [], epochs)
        assert check_penalties(sim.nodes[0], run, range(1, epochs - 1)) == []
