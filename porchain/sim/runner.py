"""One simulation run: a scenario and a seed in, metrics.csv, events.jsonl and summary.json out.

The run is a pure function of (scenario, seed, slots): keys, salts, link delays, frame loss,
the load and the behaviours' draws all derive from the seed (porchain.sim.seeds); time is
trio's virtual clock (MockClock, autojump), genesis at time 0; and trio's scheduler runs tasks
made ready together in an order drawn from the seed (the deterministic mode trio keeps for
Hypothesis) instead of its default coin flip. Output files hold no wall time.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import trio.testing
from trio._core import _run as trio_core_run

from porchain import __version__
from porchain.behaviours import BEHAVIOURS, HONEST, Behaviour, make_behaviour
from porchain.crypto.keys import to_checksum_address
from porchain.devnet.behave import resolve_args
from porchain.devnet.layout import build_genesis
from porchain.devnet.manifest import NodeSpec, Perturbation
from porchain.net.memory import MemoryNetwork
from porchain.node import Node
from porchain.sim import seeds
from porchain.sim.expect import check_expectations
from porchain.sim.load import LoadCounts, send_load
from porchain.sim.network import SimNetwork, open_network
from porchain.sim.record import (
    ROW_DELAY_EXTRA,
    EventLog,
    Metrics,
    ProducerTally,
    Recorder,
    tallies_json,
)
from porchain.sim.report import write_report
from porchain.sim.scenario import MAX_SLOTS, Scenario

GENESIS_TIME_MS = 1_767_225_600_000  # a fixed genesis: no wall time in a run
SAMPLE_AT = 0.9  # of a slot: when the observer's view of it is read
P2P_PORT = 30400
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Named:
    """A node or account as build_genesis wants it."""

    name: str
    address: str


@dataclass
class Run:
    scenario: Scenario
    seed: int
    slots: int
    out: Path
    progress: Progress | None = None
    max_events: int = 100_000
    killed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        manifest = self.scenario.manifest
        self.keys = {
            spec.name: seeds.key(self.seed, spec.twin_of or spec.name) for spec in manifest.nodes
        }
        self.accounts = {
            name: seeds.key(self.seed, f"account {name}") for name in manifest.accounts
        }
        named = [
            Named(s.name, to_checksum_address(self.keys[s.name].address)) for s in manifest.nodes
        ]
        addresses = {n.name: n.address for n in named}
        addresses.update({a: to_checksum_address(k.address) for a, k in self.accounts.items()})
        self.addresses = addresses
        self.genesis = build_genesis(
            manifest,
            named,
            {a: to_checksum_address(k.address) for a, k in self.accounts.items()},
            GENESIS_TIME_MS,
        )
        self.observer = observer_name(manifest.nodes, manifest.perturbations)

    def behaviour(self, name: str, args: tuple[str, ...], node: str) -> Behaviour:
        """The behaviour with names resolved and, if it draws and no seed is given, a seed."""
        resolved = resolve_args(name, args, self.addresses)
        takes_seed = any(p.name == "seed" for p in BEHAVIOURS[name].params)
        if takes_seed and not any(a.partition("=")[0].strip() == "seed" for a in resolved):
            resolved.append(f"seed={seeds.derived_int(self.seed, 'behaviour', node) % 2**31}")
        return make_behaviour(name, resolved)


def observer_name(nodes: tuple[NodeSpec, ...], perturbations: tuple[Perturbation, ...]) -> str:
    """The first honest node (no twin) that no perturbation stops or turns; else the first."""
    touched = set()
    for p in perturbations:
        if p.action in ("kill", "behave"):
            touched.update(p.nodes or (n.name for n in nodes))
    for spec in nodes:
        if spec.behaviour == HONEST and spec.twin_of is None and spec.name not in touched:
            return spec.name
    return nodes[0].name


def run_scenario(
    scenario: Scenario,
    *,
    seed: int,
    slots: int,
    out: Path,
    progress: Progress | None = None,
    max_events: int = 100_000,
    report: bool = True,
) -> dict[str, Any]:
    """Run `slots` slots of `scenario` under `seed`; write the files in `out` (and, unless
    `report` is false, report.md with its plots, from those files); the summary."""
    if not 1 <= slots <= MAX_SLOTS:
        raise ValueError(f"slots must be 1 to {MAX_SLOTS}, got {slots}")
    out.mkdir(parents=True, exist_ok=True)
    run = Run(scenario, seed, slots, out, progress, max_events)
    with deterministic_scheduling(seed):
        summary = trio.run(functools.partial(_main, run), clock=virtual_clock())
    if report:
        write_report(out)
    return summary


def virtual_clock() -> trio.testing.MockClock:
    """trio's MockClock at rate 0, jumping whenever every task waits: its time is the sum of its
    jumps, so it is read without the real clock it would scale by 0 (the same value; a
    simulation reads the time a few times per frame). MockClock cannot be subclassed."""
    clock = trio.testing.MockClock(autojump_threshold=0)
    clock.current_time = lambda: clock._virtual_base  # type: ignore[method-assign]
    return clock


@contextlib.contextmanager
def deterministic_scheduling(seed: int) -> Iterator[None]:
    saved = trio_core_run._ALLOW_DETERMINISTIC_SCHEDULING, trio_core_run._r.getstate()
    trio_core_run._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
    trio_core_run._r.seed(seeds.derived_int(seed, "scheduler"))
    try:
        yield
    finally:
        trio_core_run._ALLOW_DETERMINISTIC_SCHEDULING = saved[0]  # type: ignore[misc]
        trio_core_run._r.setstate(saved[1])


def p2p_address(name: str) -> str:
    return f"{name}:{P2P_PORT}"


def link_latency(seed: int, mean_ms: float, spread_ms: float) -> Callable[[str, str], float]:
    """Each link's one-way delay in seconds, drawn once per (from, to) from the seed."""
    cache: dict[tuple[str, str], float] = {}

    def delay(a: str, b: str) -> float:
        if (a, b) not in cache:
            draw = seeds.rng(seed, "link", a, b).uniform(-spread_ms, spread_ms)
            cache[a, b] = (mean_ms + draw) / 1000
        return cache[a, b]

    return delay


async def _main(run: Run) -> dict[str, Any]:
    manifest, model = run.scenario.manifest, run.scenario.network
    network = MemoryNetwork(
        latency=model.latency_ms / 1000,
        loss=model.loss,
        seed=seeds.derived_int(run.seed, "loss"),
        link_latency=link_latency(run.seed, model.latency_ms, model.link_spread_ms)
        if model.link_spread_ms
        else None,
    )
    params = run.genesis.params
    slot_s = params.slot_ms / 1000
    names = manifest.node_names
    with (
        (run.out / "metrics.csv").open("w", encoding="utf-8", newline="") as metrics_file,
        (run.out / "events.jsonl").open("w", encoding="utf-8") as events_file,
    ):
        log = EventLog(events_file, run.max_events)
        async with open_network(run.genesis, network) as sim:
            nodes: dict[str, Node] = {}
            recorders: dict[str, Recorder] = {}
            for spec in manifest.nodes:
                node = await sim.add_node(
                    p2p_address(spec.name),
                    run.keys[spec.name],
                    node_key=seeds.key(run.seed, f"node key {spec.name}"),
                    bootnodes=tuple(p2p_address(n) for n in names if n != spec.name),
                    salts=lambda purpose, n=spec.name: seeds.salts(run.seed, n, purpose),
                    behaviour=run.behaviour(spec.behaviour, spec.behaviour_args, spec.name),
                    max_peers=spec.max_peers,
                )
                recorders[spec.name] = Recorder(
                    node, spec.name, log, GENESIS_TIME_MS, observer=spec.name == run.observer
                )
                node.plugins.append(recorders[spec.name])
                nodes[spec.name] = node
            observer = nodes[run.observer]
            state = observer.chain.state()
            tallies = [
                ProducerTally(
                    s.name,
                    run.keys[s.name].address,
                    state.account(run.keys[s.name].address).rep_weight,
                )
                for s in manifest.nodes
                if s.twin_of is None
            ]
            metrics = Metrics(
                metrics_file, tallies, log, params.block_pool_duration + ROW_DELAY_EXTRA
            )
            load = LoadCounts()
            running = lambda: [nodes[n] for n in names if n not in run.killed]  # noqa: E731
            sim.nursery.start_soon(
                send_load, run.scenario.load, run.accounts, running, run.seed, load
            )
            sim.nursery.start_soon(_perturb, run, sim, nodes, observer, log)
            for slot in range(1, run.slots + 1):
                await trio.sleep_until((slot + SAMPLE_AT) * slot_s)
                metrics.sample(observer, slot, int(trio.current_time() * 1000))
                if run.progress is not None:
                    run.progress(slot)
            metrics.finish(observer)
            summary = {
                "run": {
                    "scenario": manifest.name,
                    "scenario_sha256": run.scenario.digest(),
                    "seed": run.seed,
                    "slots": run.slots,
                    "slot_ms": params.slot_ms,
                    "epoch_slots": params.epoch_slots,
                    "nodes": len(names),
                    "observer": run.observer,
                    "head": observer.chain.head.number,
                    "finalized": observer.chain.finalized.number,
                    "transfers_sent": load.sent,
                    "transfers_refused": load.refused,
                    "events_written": log.written,
                    "events_dropped": log.dropped,
                    "porchain": __version__,
                },
                "nodes": tallies_json(tallies, recorders),
                "twins": {s.name: s.twin_of for s in manifest.nodes if s.twin_of},
            }
            sim.nursery.cancel_scope.cancel()
    summary["expect"] = check_expectations(run.scenario.expect, summary, run.out)
    (run.out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


async def _perturb(
    run: Run, sim: SimNetwork, nodes: dict[str, Node], observer: Node, log: EventLog
) -> None:
    """Apply the scenario's perturbations in order, each once its trigger is reached."""
    slot_s = run.genesis.params.slot_ms / 1000
    for p in run.scenario.manifest.perturbations:
        if p.at_time is not None:
            await trio.sleep_until(p.at_time)
        while p.at_height is not None and observer.chain.head.number < p.at_height:
            await trio.sleep(slot_s / 4)
        targets = list(p.nodes or nodes)
        if p.action == "kill":
            for name in targets:
                if name not in run.killed:
                    sim.stop_node(nodes[name])
                    run.killed.add(name)
        elif p.action == "partition":
            sim.network.partition(*([p2p_address(n) for n in group] for group in p.groups))
        elif p.action == "heal":
            sim.network.heal()
        elif p.action == "behave":
            for name in targets:
                nodes[name].behaviour = run.behaviour(p.behaviour, p.behaviour_args, name)
        log.emit(
            int(trio.current_time() * 1000),
            "perturbation",
            what=p.describe(),
            height=observer.chain.head.number,
        )
