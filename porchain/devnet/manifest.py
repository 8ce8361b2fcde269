"""Devnet manifests: a TOML description of a local network, in the spirit of CometBFT's e2e.

    name = "partition"
    preset = "minimal"              # WSC #0 starts from a preset (devnet | minimal) ...
    chain_id = 1337                 # optional
    [wsc]                           # ... with these overrides
    slot_ms = 250
    [[node]]                        # one per node process; rep = encumbered REP at genesis
    name = "node1"
    rep = "1000"
    balance = "1000"                # optional `$`, to pay for its votes and beacon duty
    behaviour = "censor"            # optional: an attack (porchain/behaviours), default honest
    [node.behaviour_args]           # its arguments; a dev account's or node's name stands for
    senders = "alice"               # its address in an address argument
    [[node]]
    name = "node1-twin"             # a second process with node1's producer key (Twins): its
    twin_of = "node1"               # own node key, data directory and ports, no REP of its own
    [[relay]]                       # a relay process (porchain.pbs, docs/relays.md)
    name = "relay1"
    node = "node1"                  # the node that checks its blocks (default: the first)
    behaviour = "withhold"          # optional: withhold, overstate, unchecked, censor
    behaviour_args = { after = 8 }
    [[builder]]                     # a builder process, bidding to relays
    name = "builder1"
    node = "node2"                  # the node it builds on (default: the first)
    relays = ["relay1"]             # default: every relay
    pay = "0.5"                     # `$` to the producer in each block (default 0.1)
    balance = "100000"              # its `$` at genesis (default 100000)
    [[node]]                        # a producer asks the relays it lists at its slots:
    relays = ["relay1"]             #   `node run --relay` (default: none)
    [accounts]                      # dev accounts (empty password): name = `$` balance,
    alice = "1000000"               # or a table with their gREP (governance votes)
    bob = { balance = "1000000", grep = "100" }
    [[perturbation]]                # applied in order, each once its trigger is reached
    at_height = 20                  # or at_time = seconds after `devnet up`
    action = "partition"
    groups = [["node1", "node2"], ["node3", "node4"]]
    [[perturbation]]
    at_height = 40
    action = "behave"               # switch running nodes' behaviour (dev_setBehaviour)
    nodes = ["node2"]
    behaviour = "lazy_voter"        # optional behaviour_args = { ... } as for a node

A manifest is checked completely before anything is created, so a typo costs an error line, not
a half-built devnet. The resolved manifest is stored in the devnet's `devnet.json`, in the same
shape (`Manifest.to_dict`), so a restart runs exactly the network that was created.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from porchain.behaviours import HONEST
from porchain.devnet.behave import parse_behaviour
from porchain.devnet.errors import ManifestError
from porchain.errors import InvalidParameters
from porchain.params import WSCParams, preset_names
from porchain.units import format_amount, parse_amount

DEFAULT_NODES = 4
MAX_NODES = 32
DEFAULT_CHAIN_ID = 1337
DEFAULT_NODE_REP = "1000"
DEFAULT_NODE_BALANCE = "1000"
DEFAULT_ACCOUNTS = ("alice", "bob", "carol", "dave")
DEFAULT_ACCOUNT_BALANCE = "1000000"
DEFAULT_ACCOUNT_GREP = "100"  # so the dev accounts can vote on posts and proposals
RESERVED_NAMES = frozenset({"accounts"})  # directories of the devnet that are not nodes
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")

NODE_ACTIONS = ("kill", "pause", "resume", "restart", "disconnect")
ACTIONS = (*NODE_ACTIONS, "partition", "heal", "behave")
TOP_FIELDS = {
    "name",
    "preset",
    "chain_id",
    "wsc",
    "node",
    "relay",
    "builder",
    "accounts",
    "perturbation",
}
SIM_ONLY_FIELDS = {"network", "load", "expect"}  # simulator models, checks (porchain.sim)
NODE_FIELDS = {
    "name",
    "rep",
    "balance",
    "max_peers",
    "behaviour",
    "behaviour_args",
    "twin_of",
    "relays",
}
RELAY_FIELDS = {"name", "node", "behaviour", "behaviour_args"}
BUILDER_FIELDS = {"name", "node", "relays", "pay", "balance", "behaviour", "behaviour_args"}
DEFAULT_BUILDER_PAY = "0.1"
DEFAULT_BUILDER_BALANCE = "100000"
MAX_SERVICES = 16  # relays and builders
PERTURBATION_FIELDS = {
    "at_height",
    "at_time",
    "action",
    "nodes",
    "groups",
    "behaviour",
    "behaviour_args",
}
ACCOUNT_FIELDS = {"balance", "grep"}


@dataclass(frozen=True)
class NodeSpec:
    name: str
    rep: int  # encumbered REP at genesis, base units
    balance: int  # `$` at genesis, base units
    max_peers: int | None = None
    behaviour: str = HONEST
    behaviour_args: tuple[str, ...] = ()  # `key=value`, names not yet resolved to addresses
    twin_of: str | None = None  # runs that node's producer key (Twins); no genesis allocation
    relays: tuple[str, ...] = ()  # relays it asks for builders' blocks

    def behaviour_to_dict(self) -> dict[str, Any]:
        return _behaviour_dict(self.behaviour, self.behaviour_args)


@dataclass(frozen=True)
class ServiceSpec:
    """A relay or a builder process (porchain.pbs): the node it uses, how it behaves."""

    kind: str  # "relay" | "builder"
    name: str
    node: str
    behaviour: str = HONEST
    behaviour_args: tuple[str, ...] = ()
    relays: tuple[str, ...] = ()  # a builder's
    pay: int = 0  # a builder's payment to the producer, base units
    balance: int = 0  # a builder's `$` at genesis

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "node": self.node}
        if self.kind == "builder":
            out.update(
                relays=list(self.relays),
                pay=format_amount(self.pay),
                balance=format_amount(self.balance),
            )
        if self.behaviour != HONEST:
            out.update(_behaviour_dict(self.behaviour, self.behaviour_args))
        return out


@dataclass(frozen=True)
class AccountSpec:
    """A dev account's genesis allocation: `$` to pay fees, gREP to vote in governance."""

    balance: int  # base units
    grep: int = 0  # base units

    def to_toml(self) -> str | dict[str, str]:
        """As a manifest writes it: the balance alone as a string, else a table."""
        if not self.grep:
            return format_amount(self.balance)
        return {"balance": format_amount(self.balance), "grep": format_amount(self.grep)}


@dataclass(frozen=True)
class Perturbation:
    """One action on the running network, due once its trigger is reached."""

    action: str
    at_height: int | None = None
    at_time: float | None = None
    nodes: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    behaviour: str = HONEST  # of a `behave`
    behaviour_args: tuple[str, ...] = ()

    def describe(self) -> str:
        trigger = (
            f"at height {self.at_height}"
            if self.at_height is not None
            else f"at {self.at_time:g} s"
        )
        if self.groups:
            target = " | ".join(",".join(group) for group in self.groups)
        else:
            target = ",".join(self.nodes) or "all"
        if self.action == "behave":
            target += f" as {' '.join((self.behaviour, *self.behaviour_args))}"
        return f"{self.action} {target} {trigger}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        if self.at_height is not None:
            out["at_height"] = self.at_height
        if self.at_time is not None:
            out["at_time"] = self.at_time
        if self.nodes:
            out["nodes"] = list(self.nodes)
        if self.groups:
            out["groups"] = [list(group) for group in self.groups]
        if self.action == "behave":
            out.update(_behaviour_dict(self.behaviour, self.behaviour_args))
        return out


@dataclass(frozen=True)
class Manifest:
    name: str
    preset: str
    chain_id: int
    wsc: dict[str, Any]
    nodes: tuple[NodeSpec, ...]
    accounts: dict[str, AccountSpec] = field(default_factory=dict)
    perturbations: tuple[Perturbation, ...] = ()
    services: tuple[ServiceSpec, ...] = ()  # relays first, then builders

    @property
    def params(self) -> WSCParams:
        return WSCParams.from_dict(self.wsc, base=WSCParams.preset(self.preset))

    @property
    def node_names(self) -> list[str]:
        return [node.name for node in self.nodes]

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        raise ManifestError(
            f"no node {name!r} in devnet {self.name!r} ({', '.join(self.node_names)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The manifest as TOML would give it (amounts as strings): what devnet.json stores."""
        nodes = []
        for node in self.nodes:
            entry: dict[str, Any] = {"name": node.name}
            if node.twin_of is not None:
                entry["twin_of"] = node.twin_of
            else:
                entry.update(rep=format_amount(node.rep), balance=format_amount(node.balance))
            if node.max_peers is not None:
                entry["max_peers"] = node.max_peers
            if node.behaviour != HONEST:
                entry.update(node.behaviour_to_dict())
            if node.relays:
                entry["relays"] = list(node.relays)
            nodes.append(entry)
        return {
            "name": self.name,
            "preset": self.preset,
            "chain_id": self.chain_id,
            "wsc": dict(self.wsc),
            "node": nodes,
            "relay": [s.to_dict() for s in self.services if s.kind == "relay"],
            "builder": [s.to_dict() for s in self.services if s.kind == "builder"],
            "accounts": {name: spec.to_toml() for name, spec in self.accounts.items()},
            "perturbation": [p.to_dict() for p in self.perturbations],
        }

    def service(self, name: str) -> ServiceSpec | None:
        return next((s for s in self.services if s.name == name), None)


def default_manifest(nodes: int = DEFAULT_NODES, preset: str = "devnet") -> Manifest:
    """What `devnet up` runs with no manifest: `nodes` equal producers and the dev accounts."""
    if not 1 <= nodes <= MAX_NODES:
        raise ManifestError(f"a devnet has 1 to {MAX_NODES} nodes, not {nodes}")
    return parse_manifest(
        {
            "name": f"local{nodes}",
            "preset": preset,
            "node": [{"name": f"node{i}", "rep": DEFAULT_NODE_REP} for i in range(1, nodes + 1)],
        },
        source="default manifest",
    )


def load_manifest(path: Path) -> Manifest:
    return parse_manifest(read_toml(path, "manifest"), source=str(path))


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A manifest's (or scenario's) TOML, its name defaulting to the file's stem."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"no {what} file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read {what} {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from None
    data.setdefault("name", Path(path).stem)
    return data


def parse_manifest(data: Any, *, source: str, max_nodes: int = MAX_NODES) -> Manifest:
    """Check every field of a manifest; ManifestError names the first problem found.
    `max_nodes`: a devnet runs a process per node; the simulator allows more."""

    def fail(message: str) -> ManifestError:
        return ManifestError(f"{source}: {message}")

    if not isinstance(data, dict):
        raise fail("a manifest is a table of fields")
    sim_only = sorted(SIM_ONLY_FIELDS & set(data))
    if sim_only:
        raise fail(
            f"[{'], ['.join(sim_only)}] only the simulator can run (porchain sim run): a "
            "devnet's nodes talk over real loopback sockets, it sends no load of its own and "
            "checks no expected effect"
        )
    _refuse_unknown(data, TOP_FIELDS, "", fail)
    name = data.get("name", "devnet")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise fail(f"name must be 1 to 32 of A-Z a-z 0-9 _ -, got {name!r}")
    preset = data.get("preset", "devnet")
    if preset not in preset_names():
        raise fail(f"unknown preset {preset!r} (known: {', '.join(preset_names())})")
    chain_id = data.get("chain_id", DEFAULT_CHAIN_ID)
    if not _is_int(chain_id) or not 0 < chain_id < 2**63:
        raise fail(f"chain_id must be a positive integer, got {chain_id!r}")
    wsc = data.get("wsc", {})
    if not isinstance(wsc, dict):
        raise fail("[wsc] must be a table of parameter overrides")
    try:
        WSCParams.from_dict(wsc, base=WSCParams.preset(preset))
    except InvalidParameters as exc:
        raise fail(f"[wsc]: {exc}") from None
    accounts = _parse_accounts(data.get("accounts"), fail)
    nodes = _parse_nodes(data.get("node"), list(accounts), max_nodes, fail)
    names = [node.name for node in nodes]
    referable = [*names, *accounts]  # what an address argument of a behaviour may name
    perturbations = data.get("perturbation", [])
    if not isinstance(perturbations, list):
        raise fail("perturbations are [[perturbation]] tables")
    services = _parse_services(data, names, list(accounts), fail)
    relays = [s.name for s in services if s.kind == "relay"]
    for node in nodes:
        unknown = [r for r in node.relays if r not in relays]
        if unknown:
            raise fail(f"node {node.name}: relays: no [[relay]] named {', '.join(unknown)}")
    return Manifest(
        name=name,
        preset=preset,
        chain_id=chain_id,
        wsc=dict(wsc),
        nodes=nodes,
        accounts=accounts,
        perturbations=tuple(
            _parse_perturbation(entry, i, names, referable, fail)
            for i, entry in enumerate(perturbations, 1)
        ),
        services=services,
    )


def _parse_services(
    data: dict[str, Any], nodes: list[str], accounts: list[str], fail: Any
) -> tuple[ServiceSpec, ...]:
    """The [[relay]] and [[builder]] tables, relays first (builders name them)."""
    from porchain.pbs.attacks import BUILDERS, RELAYS  # what a behaviour of theirs may be

    services: list[ServiceSpec] = []
    taken = set(nodes) | RESERVED_NAMES
    for kind, fields, kinds in (
        ("relay", RELAY_FIELDS, RELAYS),
        ("builder", BUILDER_FIELDS, BUILDERS),
    ):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise fail(f"{kind}s are [[{kind}]] tables")
        for i, entry in enumerate(entries, 1):
            where = f"{kind} {i}"
            name = _table_name(entry, kind, fields, where, fail)
            if name in taken:
                raise fail(f"{where}: the name {name!r} is taken by a node or another service")
            taken.add(name)
            where = f"{kind} {name}"
            node = entry.get("node", nodes[0])
            if node not in nodes:
                raise fail(f"{where}: node {node!r} is not a node of this devnet")
            behaviour, args = parse_behaviour(entry, where, [*nodes, *accounts], fail, kinds)
            relays: tuple[str, ...] = ()
            pay = balance = 0
            if kind == "builder":
                known = [s.name for s in services if s.kind == "relay"]
                relays = tuple(_names(entry.get("relays", known), known, f"{where}: relays", fail))
                if not relays:
                    raise fail(f"{where}: a builder needs a [[relay]] to bid to")
                pay = _amount(entry.get("pay", DEFAULT_BUILDER_PAY), f"{where}: pay", fail)
                balance = _amount(
                    entry.get("balance", DEFAULT_BUILDER_BALANCE), f"{where}: balance", fail
                )
            services.append(ServiceSpec(kind, name, node, behaviour, args, relays, pay, balance))
    if len(services) > MAX_SERVICES:
        raise fail(f"at most {MAX_SERVICES} relays and builders, got {len(services)}")
    return tuple(services)


def _names(value: Any, known: list[str], what: str, fail: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise fail(f"{what} must be a list of names")
    unknown = [n for n in value if n not in known]
    if unknown:
        raise fail(f"{what}: unknown {', '.join(unknown)} (known: {', '.join(known) or 'none'})")
    return list(dict.fromkeys(value))


def _parse_nodes(
    entries: Any, accounts: list[str], max_nodes: int, fail: Any
) -> tuple[NodeSpec, ...]:
    if not isinstance(entries, list) or not entries:
        raise fail("a manifest needs at least one [[node]]")
    if len(entries) > max_nodes:
        raise fail(f"at most {max_nodes} nodes, got {len(entries)}")
    nodes: list[NodeSpec] = []
    for i, entry in enumerate(entries, 1):
        where = f"node {i}"
        name = _table_name(entry, "node", NODE_FIELDS, where, fail)
        if name in RESERVED_NAMES:
            raise fail(f"{where}: {name!r} is reserved for the devnet's own directories")
        if any(node.name == name for node in nodes):
            raise fail(f"{where}: node name {name!r} is used twice")
        max_peers = entry.get("max_peers")
        if max_peers is not None and (not _is_int(max_peers) or max_peers < 1):
            raise fail(f"node {name}: max_peers must be a positive integer, got {max_peers!r}")
        referable = [*(str(e.get("name")) for e in entries if isinstance(e, dict)), *accounts]
        behaviour, args = parse_behaviour(entry, f"node {name}", referable, fail)
        twin_of = _twin_of(entry, name, nodes, fail)
        nodes.append(
            NodeSpec(
                name=name,
                rep=0
                if twin_of
                else _amount(entry.get("rep", DEFAULT_NODE_REP), f"node {name}: rep", fail),
                balance=0
                if twin_of
                else _amount(
                    entry.get("balance", DEFAULT_NODE_BALANCE), f"node {name}: balance", fail
                ),
                max_peers=max_peers,
                behaviour=behaviour,
                behaviour_args=args,
                twin_of=twin_of,
                relays=_relay_names(entry, name, fail),
            )
        )
    if not any(node.rep for node in nodes):
        raise fail("no node has REP: nobody could produce blocks (give a node rep > 0)")
    return tuple(nodes)


def _table_name(entry: Any, kind: str, fields: set[str], where: str, fail: Any) -> str:
    """The name of a [[node]], [[relay]] or [[builder]] table with only known fields."""
    if not isinstance(entry, dict):
        raise fail(f"{where}: expected a [[{kind}]] table")
    _refuse_unknown(entry, fields, f"{where}: ", fail)
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise fail(f"{where}: name must be 1 to 32 of A-Z a-z 0-9 _ -, got {name!r}")
    return name


def _relay_names(entry: dict[str, Any], name: str, fail: Any) -> tuple[str, ...]:
    """A node's `relays`, checked against the [[relay]] tables once those are read."""
    value = entry.get("relays", [])
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise fail(f"node {name}: relays must be a list of [[relay]] names")
    return tuple(dict.fromkeys(value))


def _twin_of(entry: dict[str, Any], name: str, before: list[NodeSpec], fail: Any) -> str | None:
    """The node whose producer key this one runs too: listed before it and not a twin itself.
    A twin has no REP or `$` of its own (it is the same account), so it takes neither."""
    twin_of = entry.get("twin_of")
    if twin_of is None:
        return None
    where = f"node {name}: twin_of"
    original = next((node for node in before if node.name == twin_of), None)
    if original is None:
        raise fail(f"{where} {twin_of!r} must name a node listed before it")
    if original.twin_of is not None:
        raise fail(f"{where} {twin_of!r} is a twin itself: name {original.twin_of!r}")
    taken = sorted({"rep", "balance"} & set(entry))
    if taken:
        raise fail(f"{where}: a twin shares {twin_of}'s account, so it takes no {', '.join(taken)}")
    return twin_of


def _parse_accounts(entries: Any, fail: Any) -> dict[str, AccountSpec]:
    """`name = "balance"`, or `name = { balance = "...", grep = "..." }` (each default 0)."""
    if entries is None:
        return {
            name: AccountSpec(
                parse_amount(DEFAULT_ACCOUNT_BALANCE), parse_amount(DEFAULT_ACCOUNT_GREP)
            )
            for name in DEFAULT_ACCOUNTS
        }
    if not isinstance(entries, dict):
        raise fail('[accounts] must be a table of name = "balance" or name = { balance, grep }')
    accounts = {}
    for name, entry in entries.items():
        if not NAME_PATTERN.fullmatch(name):
            raise fail(f"[accounts]: name must be 1 to 32 of A-Z a-z 0-9 _ -, got {name!r}")
        where = f"[accounts] {name}"
        if isinstance(entry, dict):
            _refuse_unknown(entry, ACCOUNT_FIELDS, f"{where}: ", fail)
            accounts[name] = AccountSpec(
                balance=_amount(entry.get("balance", "0"), f"{where}: balance", fail),
                grep=_amount(entry.get("grep", "0"), f"{where}: grep", fail),
            )
        else:
            accounts[name] = AccountSpec(_amount(entry, where, fail))
    return accounts


def _parse_perturbation(
    entry: Any, index: int, names: list[str], referable: list[str], fail: Any
) -> Perturbation:
    where = f"perturbation {index}"
    if not isinstance(entry, dict):
        raise fail(f"{where}: expected a [[perturbation]] table")
    _refuse_unknown(entry, PERTURBATION_FIELDS, f"{where}: ", fail)
    action = entry.get("action")
    if action not in ACTIONS:
        raise fail(f"{where}: action must be one of {', '.join(ACTIONS)}, got {action!r}")
    where = f"{where} ({action})"
    at_height, at_time = entry.get("at_height"), entry.get("at_time")
    if (at_height is None) == (at_time is None):
        raise fail(f"{where}: give exactly one of at_height and at_time")
    if at_height is not None and (not _is_int(at_height) or at_height < 1):
        raise fail(f"{where}: at_height must be a block number >= 1, got {at_height!r}")
    if at_time is not None and (
        not isinstance(at_time, int | float) or isinstance(at_time, bool) or not at_time >= 0
    ):
        raise fail(f"{where}: at_time must be seconds >= 0, got {at_time!r}")

    def node_list(value: Any, what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise fail(f"{where}: {what} must be a list of node names")
        for node in value:
            if node not in names:
                raise fail(f"{where}: unknown node {node!r} (nodes: {', '.join(names)})")
        if len(set(value)) != len(value):
            raise fail(f"{where}: {what} lists a node twice")
        return tuple(value)

    nodes: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    if action == "partition":
        if "nodes" in entry:
            raise fail(f"{where}: a partition takes groups, not nodes")
        raw = entry.get("groups")
        if not isinstance(raw, list) or len(raw) < 2:
            raise fail(f'{where}: groups must list at least two groups, e.g. [["a"], ["b"]]')
        groups = tuple(node_list(group, "each group") for group in raw)
        if any(not group for group in groups):
            raise fail(f"{where}: a group is empty")
        listed = [node for group in groups for node in group]
        if len(set(listed)) != len(listed):
            raise fail(f"{where}: a node is in two groups")
        missing = [node for node in names if node not in listed]
        if missing:
            raise fail(f"{where}: every node must be in a group (missing: {', '.join(missing)})")
    else:
        if "groups" in entry:
            raise fail(f"{where}: only a partition takes groups")
        nodes = node_list(entry.get("nodes", []), "nodes")
        if action in (*NODE_ACTIONS, "behave") and not nodes:
            raise fail(f"{where}: nodes must name at least one node")
    behaviour, args = HONEST, ()
    if action == "behave":
        if "behaviour" not in entry:
            raise fail(f'{where}: say which behaviour, e.g. behaviour = "honest"')
        behaviour, args = parse_behaviour(entry, where, referable, fail)
    elif "behaviour" in entry or "behaviour_args" in entry:
        raise fail(f"{where}: only a behave perturbation takes a behaviour")
    return Perturbation(
        action=action,
        at_height=at_height,
        at_time=None if at_time is None else float(at_time),
        nodes=nodes,
        groups=groups,
        behaviour=behaviour,
        behaviour_args=args,
    )


def _behaviour_dict(name: str, args: tuple[str, ...]) -> dict[str, Any]:
    """As a manifest writes it: `behaviour` and a `behaviour_args` table of strings."""
    out: dict[str, Any] = {"behaviour": name}
    if args:
        out["behaviour_args"] = dict(pair.split("=", 1) for pair in args)
    return out


def _refuse_unknown(table: dict[str, Any], known: set[str], where: str, fail: Any) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise fail(
            f"{where}unknown field(s) {', '.join(unknown)} (expected: {', '.join(sorted(known))})"
        )


def _amount(value: Any, what: str, fail: Any) -> int:
    if isinstance(value, float):
        raise fail(f'{what}: write amounts as strings ("1.5"), not floats')
    if not isinstance(value, str) and not _is_int(value):
        raise fail(f'{what}: expected an amount such as "1000", got {value!r}')
    try:
        return parse_amount(str(value))
    except ValueError as exc:
        raise fail(f"{what}: {exc}") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
