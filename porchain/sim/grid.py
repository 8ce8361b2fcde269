"""A sweep's grid: `--param NAME=V1,V2,...` overrides of a scenario's TOML times `--seeds`.

NAME is a dotted path into the scenario file: `wsc.<parameter>`, `network.<field>`,
`load.<field>`, `node.<name>.<field>`, `node.<name>.behaviour_args.<argument>`,
`accounts.<name>` (its balance) or `accounts.<name>.<balance|grep>`,
`perturbation.<n>.<field>` (1-based), `preset`, `chain_id`. Values are TOML scalars (an integer,
a float, a boolean, or a quoted string; anything else is the text as a string); a value with a
comma in it is written in double quotes. An amount field (`rep`, `balance`, `grep`, `amount`)
takes the value's text, so `node.node4.rep=52.5` means 52.5 REP exactly, not a float.

The grid is checked completely before anything runs: every path must exist in the schema and
every point's scenario must parse, so a typo in the last value costs an error line, not a
half-finished sweep.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from porchain.devnet.errors import ManifestError
from porchain.devnet.manifest import ACCOUNT_FIELDS, NODE_FIELDS, PERTURBATION_FIELDS, read_toml
from porchain.errors import PorchainError
from porchain.params import WSCParams
from porchain.sim.scenario import LOAD_FIELDS, NETWORK_FIELDS, Scenario, parse_scenario

MAX_RUNS = 100_000
MAX_SEED = 2**63 - 1
MAX_POINT_NAME = 80  # characters of a run directory's name, before its hash suffix
BASE_POINT = "base"  # the point of a sweep with no --param
TOP_SCALARS = ("preset", "chain_id")
AMOUNT_FIELDS = frozenset({"rep", "balance", "grep", "amount"})
UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")
SEED_PART = re.compile(r"(\d+)(?:-(\d+))?")

Scalar = int | float | bool | str


class SweepError(PorchainError):
    """A sweep that cannot run as asked: a bad --param or --seeds, or a point that fails."""


@dataclass(frozen=True)
class Param:
    """One --param: the dotted path and its values, each with the text it was written as."""

    path: str
    values: tuple[Scalar, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Point:
    """One grid point: its overrides (path, text) in --param order and its scenario."""

    name: str
    overrides: tuple[tuple[str, str], ...]
    scenario: Scenario


def parse_param(text: str) -> Param:
    """`NAME=V1,V2,...` as a Param (the path is checked against a scenario by build_grid)."""
    path, sep, rest = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise SweepError(f"--param {text!r}: write NAME=V1,V2,... (e.g. network.loss=0,0.1)")
    if any(not part for part in path.split(".")):
        raise SweepError(f"--param {text!r}: {path!r} is not a dotted path (e.g. wsc.slot_ms)")
    texts = tuple(split_values(rest, text))
    if len(set(texts)) != len(texts):
        raise SweepError(f"--param {text!r}: a value is listed twice")
    return Param(path, tuple(scalar(t) for t in texts), texts)


def split_values(rest: str, whole: str) -> list[str]:
    """Split on commas outside double quotes; every value non-empty."""
    values, current, quoted = [], "", False
    for char in rest:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            values.append(current.strip())
            current = ""
        else:
            current += char
    if quoted:
        raise SweepError(f"--param {whole!r}: a double quote is not closed")
    values.append(current.strip())
    if any(not value for value in values):
        raise SweepError(f"--param {whole!r}: an empty value (write V1,V2,... with no gaps)")
    return values


def scalar(text: str) -> Scalar:
    """The TOML scalar `text` stands for: int, float, bool or quoted string, else the text."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return value if isinstance(value, int | float | bool | str) else text


def parse_seeds(text: str) -> tuple[int, ...]:
    """`1-50`, `1,2,7` or a mix (`1-10,20`), sorted; at most MAX_RUNS of them."""
    seeds: set[int] = set()
    for part in text.split(","):
        match = SEED_PART.fullmatch(part.strip())
        if match is None:
            raise SweepError(f"--seeds {text!r}: {part.strip()!r} is not N or N-M (e.g. 1-50,77)")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if high < low:
            raise SweepError(f"--seeds {text!r}: the range {part.strip()} runs backwards")
        if high > MAX_SEED:
            raise SweepError(f"--seeds {text!r}: a seed is at most {MAX_SEED}")
        if high - low + 1 + len(seeds) > MAX_RUNS:
            raise SweepError(f"--seeds {text!r}: more than {MAX_RUNS:,} seeds")
        new = set(range(low, high + 1))
        if seeds & new:
            raise SweepError(f"--seeds {text!r}: seed {min(seeds & new)} is listed twice")
        seeds |= new
    return tuple(sorted(seeds))


def build_grid(path: Path, params: Iterable[Param], seeds: tuple[int, ...]) -> list[Point]:
    """Every point of the grid (cartesian product, in --param order), each scenario parsed."""
    params = list(params)
    data = read_toml(path, "scenario")
    names = [p.path for p in params]
    if len(set(names)) != len(names):
        raise SweepError("a --param path is given twice: list all its values in one --param")
    for param in params:
        check_path(data, param.path)
    points_count = 1
    for param in params:
        points_count *= len(param.values)
    if points_count * len(seeds) > MAX_RUNS:
        raise SweepError(
            f"{points_count:,} points x {len(seeds):,} seeds is more than {MAX_RUNS:,} runs"
        )
    points = []
    combos = itertools.product(*(zip(p.values, p.texts, strict=True) for p in params))
    for combo in combos:
        overrides = tuple((p.path, text) for p, (_, text) in zip(params, combo, strict=True))
        patched = copy.deepcopy(data)
        for p, (value, text) in zip(params, combo, strict=True):
            apply_override(patched, p.path, value, text)
        label = point_label(overrides)
        try:
            scenario = parse_scenario(patched, source=f"{path} with {label}")
        except ManifestError as exc:
            raise SweepError(str(exc)) from None
        points.append(Point(point_name(overrides), overrides, scenario))
    return points


def check_metrics(metrics: Iterable[str], node_names: list[str]) -> None:
    """Refuse a --metric that cannot name a sweep.csv column (`run.<key>`, `events.<key>`,
    `nodes.<node>.<key>`, globs allowed) before anything runs; whether the key exists is known
    only from the runs."""
    for metric in metrics:
        head, _, rest = metric.partition(".")
        node = rest.partition(".")[0]
        known_node = node in node_names or any(c in node for c in "*?[")
        if (head in ("run", "events") and rest) or (head == "nodes" and known_node and "." in rest):
            continue
        if head == "nodes" and not known_node:
            raise SweepError(f"--metric {metric}: no node {node!r} ({_list(node_names)})")
        raise SweepError(
            f"--metric {metric}: a sweep.csv column is run.<key>, events.<key> or "
            "nodes.<node>.<key> (globs allowed: nodes.*.missed_slots)"
        )


def point_label(overrides: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{p}={t}" for p, t in overrides) or "no overrides"


def point_name(overrides: tuple[tuple[str, str], ...]) -> str:
    """A short, filesystem-safe directory name; a hash suffix when the plain one would be
    changed by the cleaning or too long, so two points never share a name."""
    if not overrides:
        return BASE_POINT
    plain = "+".join(f"{p}={t}" for p, t in overrides)
    safe = UNSAFE.sub("_", plain)
    if safe == plain and len(plain) <= MAX_POINT_NAME:
        return plain
    digest = hashlib.sha256(plain.encode()).hexdigest()[:8]
    return f"{safe[:MAX_POINT_NAME]}-{digest}"


def check_path(data: dict[str, Any], path: str) -> None:
    """Refuse a path that does not name a field of the scenario schema (or of its nodes)."""
    parts = path.split(".")
    head, rest = parts[0], parts[1:]
    wsc = [f.name for f in fields(WSCParams)]
    if head in TOP_SCALARS and not rest:
        return
    if head in ("wsc", "network", "load") and len(rest) == 1:
        known = {"wsc": wsc, "network": NETWORK_FIELDS, "load": LOAD_FIELDS}[head]
        if rest[0] in known:
            return
        raise SweepError(f"--param {path}: no field {rest[0]!r} in [{head}] ({_list(known)})")
    if head == "node" and rest:
        _node_entry(data, path, rest[0])
        settable = NODE_FIELDS - {"name", "behaviour_args"}
        if len(rest) == 2 and rest[1] in settable:
            return
        if len(rest) == 3 and rest[1] == "behaviour_args":
            return
        raise SweepError(
            f"--param {path}: a node's field is node.<name>.<{'|'.join(sorted(settable))}> or "
            "node.<name>.behaviour_args.<argument>"
        )
    if head == "accounts" and rest:
        _account_entry(data, path, rest[0])
        if len(rest) == 1 or (len(rest) == 2 and rest[1] in ACCOUNT_FIELDS):
            return
        raise SweepError(f"--param {path}: an account's field is {_list(ACCOUNT_FIELDS)}")
    if head == "perturbation" and len(rest) == 2:
        _perturbation_entry(data, path, rest[0])
        if rest[1] in PERTURBATION_FIELDS:
            return
        raise SweepError(
            f"--param {path}: no field {rest[1]!r} in a perturbation ({_list(PERTURBATION_FIELDS)})"
        )
    raise SweepError(
        f"--param {path}: not a scenario field; use wsc.<parameter>, network.<field>, "
        "load.<field>, node.<name>.<field>, node.<name>.behaviour_args.<argument>, "
        "accounts.<name>[.balance|.grep], perturbation.<n>.<field>, preset or chain_id"
    )


def apply_override(data: dict[str, Any], path: str, value: Scalar, text: str) -> None:
    """Set the field `path` (checked by check_path) of the scenario's TOML data."""
    parts = path.split(".")
    field = parts[-1]
    amount = field in AMOUNT_FIELDS or (parts[0] == "accounts" and len(parts) == 2)
    if amount and isinstance(value, int | float) and not isinstance(value, bool):
        value = text  # amounts are exact decimal strings in a scenario
    head = parts[0]
    if head == "node":
        table = _node_entry(data, path, parts[1])
        for part in parts[2:-1]:
            table = table.setdefault(part, {})
    elif head == "accounts":
        accounts = data["accounts"]
        entry = accounts[parts[1]]
        if len(parts) == 2 and not isinstance(entry, dict):
            accounts[parts[1]] = value
            return
        table = entry if isinstance(entry, dict) else {"balance": entry}
        accounts[parts[1]] = table
        field = parts[2] if len(parts) == 3 else "balance"  # accounts.<name> is its balance
    elif head == "perturbation":
        table = _perturbation_entry(data, path, parts[1])
    elif len(parts) == 1:
        table = data
    else:
        table = data.setdefault(head, {})
    table[field] = value


def _node_entry(data: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    entries = data.get("node")
    entries = entries if isinstance(entries, list) else []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    names = [str(e.get("name")) for e in entries if isinstance(e, dict)]
    raise SweepError(f"--param {path}: no node {name!r} in the scenario ({_list(names)})")


def _account_entry(data: dict[str, Any], path: str, name: str) -> None:
    accounts = data.get("accounts")
    if not isinstance(accounts, dict) or name not in accounts:
        known = list(accounts) if isinstance(accounts, dict) else []
        raise SweepError(
            f"--param {path}: no account {name!r} in the scenario's [accounts] ({_list(known)})"
        )


def _perturbation_entry(data: dict[str, Any], path: str, index: str) -> dict[str, Any]:
    entries = data.get("perturbation")
    entries = entries if isinstance(entries, list) else []
    if not index.isdigit() or not 1 <= int(index) <= len(entries):
        raise SweepError(
            f"--param {path}: perturbations are numbered 1 to {len(entries)} in file order"
        )
    entry = entries[int(index) - 1]
    if not isinstance(entry, dict):
        raise SweepError(f"--param {path}: perturbation {index} is not a table")
    return entry


def _list(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"
