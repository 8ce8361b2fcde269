"""Scenarios: a devnet manifest (porchain.devnet.manifest) plus the simulator's models.

    [network]                       # optional; the memory transport's model
    latency_ms = 20                 # mean one-way delay of a link
    link_spread_ms = 10             # each link's delay drawn once, uniformly in mean +- spread
    loss = 0.0                      # fraction of frames dropped, drawn per frame
    [load]                          # optional; transfers between the dev accounts
    transfers_per_slot = 2          # sent each slot, early, to a node drawn per transfer
    senders = ["alice", "bob"]      # default: every dev account
    amount = "1"                    # `$` per transfer
    [[expect]]                      # optional, any number: an effect the run should show
    node = "node4"                  # a node, a list (their sum), or none: every node / the run
    metric = "rep_share"            # porchain.sim.expect.METRICS
    change = "falls"                # falls | rises | holds [within = N], or at_least/at_most = N
    why = "its censoring blocks are rejected and its bond burns"

Every draw comes from the run's seed. A devnet refuses `[network]` and `[load]`; the simulator
refuses what it cannot do (SIM_ACTIONS: the perturbations it applies). Perturbations trigger at
a height of the observer's chain or at a time in seconds after genesis.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from porchain.devnet.errors import ManifestError
from porchain.devnet.manifest import SIM_ONLY_FIELDS, Manifest, parse_manifest, read_toml
from porchain.sim.expect import METRICS, RUN
from porchain.units import parse_amount

SIM_ACTIONS = ("kill", "partition", "heal", "behave")
NETWORK_FIELDS = {"latency_ms", "link_spread_ms", "loss"}
LOAD_FIELDS = {"transfers_per_slot", "senders", "amount"}
EXPECT_FIELDS = {"node", "metric", "change", "at_least", "at_most", "within", "why"}
CHANGES = ("falls", "rises", "holds")
MAX_LATENCY_MS = 10_000
MAX_SLOTS = 1_000_000  # of one run
MAX_LOSS = 0.5  # beyond it peers could not keep a connection up anyway
MAX_TRANSFERS_PER_SLOT = 1_000
MAX_SIM_NODES = 1_000  # a devnet's limit (MAX_NODES) is for processes; nodes here are cheap


@dataclass(frozen=True)
class NetworkModel:
    latency_ms: float = 5.0
    link_spread_ms: float = 0.0
    loss: float = 0.0


@dataclass(frozen=True)
class LoadModel:
    transfers_per_slot: int = 0
    senders: tuple[str, ...] = ()  # dev account names; () with no load
    amount: int = 0  # base units


@dataclass(frozen=True)
class Expectation:
    """An effect the run should show (porchain.sim.expect checks it at the end)."""

    metric: str
    why: str
    nodes: tuple[str, ...] = ()  # summed; (): every producer, or the run for a run metric
    change: str | None = None  # falls | rises | holds; None: the bounds below
    at_least: float | None = None
    at_most: float | None = None
    within: float = 0.0  # of a `holds`


@dataclass(frozen=True)
class Scenario:
    """A run's inputs. `expect` says what to check, not what to run: it stays out of digest()."""

    manifest: Manifest
    network: NetworkModel = field(default_factory=NetworkModel)
    load: LoadModel = field(default_factory=LoadModel)
    expect: tuple[Expectation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.manifest.to_dict(),
            "network": vars(self.network),
            "load": {**vars(self.load), "senders": list(self.load.senders)},
        }

    def digest(self) -> str:
        """sha256 of the resolved scenario: two files that say the same run share it."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def load_scenario(path: Path) -> Scenario:
    return parse_scenario(read_toml(path, "scenario"), source=str(path))


def parse_scenario(data: Any, *, source: str) -> Scenario:
    def fail(message: str) -> ManifestError:
        return ManifestError(f"{source}: {message}")

    if not isinstance(data, dict):
        raise fail("a scenario is a table of fields")
    rest = {k: v for k, v in data.items() if k not in SIM_ONLY_FIELDS}
    manifest = parse_manifest(rest, source=source, max_nodes=MAX_SIM_NODES)
    if manifest.services:
        raise fail(
            "[[relay]] and [[builder]] are processes the simulator does not run: run this one "
            "on a devnet (porchain devnet up)"
        )
    for i, p in enumerate(manifest.perturbations, 1):
        if p.action not in SIM_ACTIONS:
            raise fail(
                f"perturbation {i}: the simulator cannot {p.action} a node (it can: "
                f"{', '.join(SIM_ACTIONS)}); run this one on a devnet (porchain devnet up)"
            )
    return Scenario(
        manifest,
        _network(_table(data, "network", NETWORK_FIELDS, fail), fail),
        _load(_table(data, "load", LOAD_FIELDS, fail), manifest, fail),
        _expectations(data.get("expect", []), manifest, fail),
    )


def _table(data: dict, name: str, known: set[str], fail: Any) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise fail(f"[{name}] must be a table")
    unknown = sorted(set(table) - known)
    if unknown:
        raise fail(
            f"[{name}]: unknown field(s) {', '.join(unknown)} "
            f"(expected: {', '.join(sorted(known))})"
        )
    return table


def _number(table: dict, name: str, default: float, low: float, high: float, fail: Any) -> float:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise fail(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _network(table: dict, fail: Any) -> NetworkModel:
    latency = _number(table, "latency_ms", NetworkModel.latency_ms, 0, MAX_LATENCY_MS, fail)
    spread = _number(table, "link_spread_ms", 0, 0, latency, fail)
    loss = _number(table, "loss", 0, 0, MAX_LOSS, fail)
    return NetworkModel(latency, spread, loss)


def _load(table: dict, manifest: Manifest, fail: Any) -> LoadModel:
    if not table:
        return LoadModel()
    count = table.get("transfers_per_slot", 1)
    if isinstance(count, bool) or not isinstance(count, int):
        raise fail(f"[load] transfers_per_slot must be an integer, got {count!r}")
    if not 0 <= count <= MAX_TRANSFERS_PER_SLOT:
        raise fail(f"[load] transfers_per_slot is 0 to {MAX_TRANSFERS_PER_SLOT}, got {count}")
    senders = table.get("senders", list(manifest.accounts))
    if not isinstance(senders, list) or not all(isinstance(s, str) for s in senders):
        raise fail("[load] senders is a list of dev account names")
    unknown = [s for s in senders if s not in manifest.accounts]
    if unknown:
        raise fail(
            f"[load] senders {', '.join(unknown)} are not dev accounts "
            f"([accounts]: {', '.join(manifest.accounts) or 'none'})"
        )
    if count and not senders:
        raise fail("[load] needs senders: add dev accounts in [accounts]")
    amount = table.get("amount", "1")
    if not isinstance(amount, str):
        raise fail(f'[load] amount is a string of `$` ("1.5"), got {amount!r}')
    try:
        value = parse_amount(amount)
    except ValueError as exc:
        raise fail(f"[load] amount: {exc}") from None
    return LoadModel(count, tuple(senders), value)


def _expectations(entries: Any, manifest: Manifest, fail: Any) -> tuple[Expectation, ...]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise fail("expect must be [[expect]] tables")
    return tuple(_expectation(entry, i, manifest, fail) for i, entry in enumerate(entries, 1))


def _expectation(entry: dict, index: int, manifest: Manifest, fail: Any) -> Expectation:
    where = f"expect {index}"
    unknown = sorted(set(entry) - EXPECT_FIELDS)
    if unknown:
        raise fail(
            f"{where}: unknown field(s) {', '.join(unknown)} "
            f"(expected: {', '.join(sorted(EXPECT_FIELDS))})"
        )
    name = entry.get("metric")
    if name not in METRICS:
        raise fail(f"{where}: metric must be one of {', '.join(METRICS)}, got {name!r}")
    where = f"{where} ({name})"
    why = entry.get("why")
    if not isinstance(why, str) or not why.strip():
        raise fail(f'{where}: say why the run should show it, e.g. why = "its blocks are rejected"')
    nodes = _expect_nodes(entry, where, name, manifest, fail)
    change = entry.get("change")
    bounds = {k: entry[k] for k in ("at_least", "at_most") if k in entry}
    if (change is None) == (not bounds):
        raise fail(f"{where}: give either change = falls | rises | holds, or at_least / at_most")
    if change is not None and change not in CHANGES:
        raise fail(f"{where}: change must be one of {', '.join(CHANGES)}, got {change!r}")
    for key, value in [*bounds.items(), ("within", entry.get("within", 0))]:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise fail(f"{where}: {key} must be a number >= 0, got {value!r}")
    if "within" in entry and change != "holds":
        raise fail(f'{where}: only change = "holds" takes within')
    if len(bounds) == 2 and bounds["at_least"] > bounds["at_most"]:
        raise fail(f"{where}: at_least {bounds['at_least']} is above at_most {bounds['at_most']}")
    return Expectation(
        name,
        why.strip(),
        nodes,
        change,
        *(None if k not in bounds else float(bounds[k]) for k in ("at_least", "at_most")),
        float(entry.get("within", 0)),
    )


def _expect_nodes(
    entry: dict, where: str, metric: str, manifest: Manifest, fail: Any
) -> tuple[str, ...]:
    raw = entry.get("node", [])
    nodes = [raw] if isinstance(raw, str) else raw
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        raise fail(f"{where}: node is a node's name or a list of them")
    if METRICS[metric].of == RUN and nodes:
        raise fail(f"{where}: {metric} is a metric of the whole run: leave node out")
    if METRICS[metric].shared and not nodes:
        raise fail(f"{where}: {metric} of every node together is always 100%: name the node(s)")
    specs = {spec.name: spec for spec in manifest.nodes}
    for node in nodes:
        if node not in specs:
            raise fail(f"{where}: unknown node {node!r} (nodes: {', '.join(specs)})")
        if specs[node].twin_of is not None:
            raise fail(f"{where}: {node} is a twin: its tallies are {specs[node].twin_of}'s")
    if len(set(nodes)) != len(nodes):
        raise fail(f"{where}: node lists a node twice")
    return tuple(nodes)
