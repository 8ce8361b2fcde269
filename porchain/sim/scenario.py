"""Scenarios: a devnet manifest (porchain.devnet.manifest) plus the simulator's models.

    [network]                       # optional; the memory transport's model
    latency_ms = 20                 # mean one-way delay of a link
    link_spread_ms = 10             # each link's delay drawn once, uniformly in mean +- spread
    loss = 0.0                      # fraction of frames dropped, drawn per frame
    [load]                          # optional; transfers between the dev accounts
    transfers_per_slot = 2          # sent each slot, early, to a node drawn per transfer
    senders = ["alice", "bob"]      # default: every dev account
    amount = "1"                    # `$` per transfer

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
from porchain.units import parse_amount

SIM_ACTIONS = ("kill", "partition", "heal", "behave")
NETWORK_FIELDS = {"latency_ms", "link_spread_ms", "loss"}
LOAD_FIELDS = {"transfers_per_slot", "senders", "amount"}
MAX_LATENCY_MS = 10_000
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
class Scenario:
    manifest: Manifest
    network: NetworkModel = field(default_factory=NetworkModel)
    load: LoadModel = field(default_factory=LoadModel)

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
