"""The devnet's status, collected over each node's RPC: what `devnet status` and the live
table show.

Nodes are asked in parallel with a short timeout, so one dead or paused node costs the whole
table one timeout, not one per node. What answers on a node's port is shown only once it
answered as that node (`identity.ask`: our genesis hash, the node's P2P id); another network
answering there is the node's `foreign` line, never its height, and never counted up. A down
node's port is asked too (a refused connection costs nothing), to say who holds it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from porchain.devnet.identity import ask
from porchain.devnet.layout import ACCOUNT_PASSWORD, Devnet, ServiceInfo
from porchain.devnet.processes import DOWN, PAUSED, RUNNING, ProcState
from porchain.rpc.client import RemoteError, RPCClient, RPCClientError

RPC_TIMEOUT_SECONDS = 2.0
SCHEDULE_SLOTS = 8
MAX_OPEN_POOLS = 500
RELAY_BLOCKS = 32  # a producer's last blocks counted for where they came from


@dataclass
class NodeStatus:
    name: str
    rpc: str
    p2p: str
    address: str
    node_id: str
    pid: int | None = None
    state: str = DOWN  # running | paused | down
    height: int | None = None
    head_hash: str | None = None
    finalized: int | None = None
    peers: int | None = None
    error: str | None = None
    foreign: str | None = None  # who answers on the node's RPC port instead of it
    behaviour: dict[str, Any] | None = None  # por_nodeInfo's {name, args}: what it runs now
    relays: list[dict[str, Any]] | None = None  # its record of each relay (por_getRelays)
    from_builders: int | None = None  # of its last blocks (RELAY_BLOCKS), how many were bought

    @property
    def alive(self) -> bool:
        return self.state != DOWN

    @property
    def up(self) -> bool:
        """Its process alive and its port not answering for someone else."""
        return self.alive and self.foreign is None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "alive": self.alive, "up": self.up}


@dataclass
class ServiceStatus:
    """A relay's or a builder's process."""

    name: str
    kind: str
    address: str
    url: str | None  # a relay's, as producers are given it
    pid: int | None = None
    state: str = DOWN


@dataclass
class AccountStatus:
    name: str
    address: str
    key_file: str
    password: str = ACCOUNT_PASSWORD
    balance: str | None = None  # `$`, as the first node that answers has it (base units)
    grep: str | None = None


@dataclass
class DevnetStatus:
    name: str
    dir: str
    chain_id: int
    preset: str
    nodes: list[NodeStatus]
    accounts: list[AccountStatus]
    accounts_datadir: str
    controller_pid: int | None = None
    next_producers: list[dict[str, Any]] = field(default_factory=list)
    open_pools: int | None = None
    services: list[ServiceStatus] = field(default_factory=list)

    program: str = "porchain"  # how the user runs porchain (porchain.cli.invocation)
    found_by_cli: bool = False  # the CLI finds the accounts with no --datadir (cli.main)

    def command(self, args: str) -> str:
        """A porchain command for the dev accounts, ready to paste."""
        datadir = "" if self.found_by_cli else f"--datadir {shlex.quote(self.accounts_datadir)} "
        return f"{self.program} {datadir}{args}"

    @property
    def hint(self) -> str | None:
        """A transfer between the first two dev accounts, ready to paste; None without any."""
        if not self.accounts:
            return None
        sender = self.accounts[0].name
        recipient = self.accounts[1].name if len(self.accounts) > 1 else sender
        return self.command(f"tx transfer {recipient} 1.5 --from {sender} --wait")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dir": self.dir,
            "chain_id": self.chain_id,
            "preset": self.preset,
            "controller_pid": self.controller_pid,
            "nodes": [node.to_json() for node in self.nodes],
            "next_producers": self.next_producers,
            "open_pools": self.open_pools,
            "services": [asdict(service) for service in self.services],
            "accounts": [asdict(account) for account in self.accounts],
            "accounts_datadir": self.accounts_datadir,
            "hint": self.hint,
        }


def collect_status(
    devnet: Devnet,
    states: Mapping[str, ProcState],
    *,
    controller_pid: int | None = None,
    timeout: float = RPC_TIMEOUT_SECONDS,
    balances: bool = False,
    program: str = "porchain",
    found_by_cli: bool = False,
) -> DevnetStatus:
    """Ask every live node for its head, finality and peers; the schedule and open pools (and,
    with `balances`, the dev accounts' `$` and gREP) from the first node that answers (they
    are the chain's, not the node's)."""
    nodes = [
        NodeStatus(n.name, n.rpc_url, n.p2p_address, n.address, n.node_id) for n in devnet.nodes
    ]
    for node in nodes:
        state = states.get(node.name, ProcState(None, DOWN))
        node.state = state.state
        node.pid = state.pid if state.alive else None
    devnet.genesis_hash  # noqa: B018 (read once here: a damaged genesis is one clear error)
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        list(pool.map(lambda node: _query_node(devnet, node, timeout), nodes))
    keystore = devnet.accounts_keystore
    status = DevnetStatus(
        name=devnet.manifest.name,
        dir=str(devnet.root),
        chain_id=devnet.manifest.chain_id,
        preset=devnet.manifest.preset,
        nodes=nodes,
        accounts=[
            AccountStatus(name, address, str(keystore.directory / f"{name}.json"))
            for name, address in devnet.accounts.items()
        ],
        accounts_datadir=str(devnet.accounts_dir),
        controller_pid=controller_pid,
        services=[_service_status(s, states) for s in devnet.services],
        program=program,
        found_by_cli=found_by_cli,
    )
    source = next((n for n in nodes if n.state == RUNNING and n.height is not None), None)
    if source is not None:
        _query_chain(status, source, devnet.node_by_address(), timeout)
        if balances:
            _query_balances(status.accounts, RPCClient(source.rpc, timeout=timeout))
    return status


def _query_node(devnet: Devnet, node: NodeStatus, timeout: float) -> None:
    if node.state == PAUSED:
        return  # it cannot answer: asking would only cost the timeout
    try:
        answer = ask(devnet, node.name, timeout=timeout)
        if answer.foreign is not None:
            node.foreign = answer.foreign
        elif node.state == RUNNING:
            info = answer.info
            node.height = info["head"]["number"]
            node.head_hash = info["head"]["hash"]
            node.finalized = info["finalized"]["number"]
            node.peers = answer.peers
            node.behaviour = _behaviour(info.get("behaviour"))
            if devnet.manifest.node(node.name).relays:
                _query_relays(devnet, node, timeout)
    except (RPCClientError, RemoteError, KeyError, TypeError) as exc:
        if node.state == RUNNING:  # a down node's free port refuses: nothing to say
            node.error = str(exc) or type(exc).__name__


def _service_status(service: ServiceInfo, states: Mapping[str, ProcState]) -> ServiceStatus:
    state = states.get(service.name, ProcState(None, DOWN))
    url = service.url if service.kind == "relay" else None
    return ServiceStatus(
        service.name,
        service.kind,
        service.address,
        url,
        state.pid if state.alive else None,
        state.state,
    )


def _query_relays(devnet: Devnet, node: NodeStatus, timeout: float) -> None:
    """The producer's record of its relays, each named as the devnet names it."""
    answer = RPCClient(node.rpc, timeout=timeout).call("por_getRelays", RELAY_BLOCKS)
    names = {s.address.lower(): s.name for s in devnet.services}
    node.relays = [
        {
            "name": names.get(str(r["address"]).lower(), r["address"]),
            "asked": r.get("asked", 0),
            "bids": r.get("bids", 0),
            "wins": r.get("wins", 0),
            "faults": {kind: n for kind, n in (r.get("faults") or {}).items() if n},
            "latency_ms_mean": r.get("latency_ms_mean"),
            "dropped_at_slot": r.get("dropped_at_slot"),
            "benched_until_slot": r.get("benched_until_slot"),
        }
        for r in answer["relays"]
    ]
    node.from_builders = sum(b["source"] == "relay" for b in answer["blocks"])


def _query_chain(
    status: DevnetStatus, source: NodeStatus, names: dict[str, str], timeout: float
) -> None:
    client = RPCClient(source.rpc, timeout=timeout)
    try:
        schedule = client.call("por_getSchedule", SCHEDULE_SLOTS)
        status.next_producers = [
            {
                "slot": entry["slot"],
                "producer": entry["producer"],
                "node": names.get(str(entry["producer"]).lower()),
            }
            for entry in schedule
        ]
        status.open_pools = len(client.call("por_listPools", "open", MAX_OPEN_POOLS))
    except (RPCClientError, RemoteError, KeyError, TypeError):
        pass  # the node went away between the two queries: the next refresh will tell


def _query_balances(accounts: list[AccountStatus], client: RPCClient) -> None:
    for account in accounts:
        try:
            answer = client.call("por_getAccount", account.address)
            account.balance, account.grep = str(answer["balance"]), str(answer["grep"])
        except (RPCClientError, RemoteError, KeyError, TypeError):
            return  # the node went away: the balances are unknown this time


def _behaviour(value: Any) -> dict[str, Any] | None:
    """{name, args} as por_nodeInfo gives it; None from a node too old to say."""
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    args = value.get("args")
    return {"name": value["name"], "args": args if isinstance(args, dict) else {}}
